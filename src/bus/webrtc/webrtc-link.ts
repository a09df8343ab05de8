import { InvalidArgumentError, TransportError } from '../../core/errors.js';
import { nowNs } from '../../core/time.js';
import { FragmentReassembler, type ReassemblerOptions } from '../nats/fragment-reassembler.js';
import type { ReceivedInfo } from '../transport.js';
import { channelBytes, decodeFrame, encodeControl, encodeFragment, encodeMessage, FRAGMENT_OVERHEAD, MAX_FRAME_CHANNEL_BYTES, type InnerFrame } from './dc-frame.js';
import { DataChannelSender, type SenderLimits } from './dc-sender.js';
import type { DataChannelPair, DataChannelPort } from './datachannel-port.js';

/** Options of one framebus DataChannel link. */
export interface LinkOptions {
  /** Which channels travel on the unreliable DataChannel. Default: names ending in `_unreliable`. */
  unreliable?: (channel: string) => boolean;
  /** Limits on messages being reassembled from fragments. Defaults: 64 MiB per message, 128 MiB held, 2 s. */
  reassembly?: ReassemblerOptions;
  /** Send-side limits of each DataChannel. */
  send?: SenderLimits;
}

/** Counters of one link, cumulative. */
export interface LinkStats {
  /** Payloads sent (one per message, however many fragments). */
  sent: number;
  /** Whole payloads received. */
  received: number;
  /** Frames dropped because they did not parse or did not fit their message (a malformed batch counts once). */
  malformed: number;
  /** Fragmented messages abandoned before completion (timed out, evicted, or the peer left). */
  incomplete: number;
  /** Payloads not sent: unreliable channel congested, or the send queue full. */
  dropped: number;
}

/** What a link reports to its owner. */
export interface LinkHandlers {
  /** A whole payload arrived on `info.channel`. */
  message(payload: Uint8Array, info: ReceivedInfo): void;
  /** The peer asks for channels matching `pattern` (subscription `id`). */
  subscribe?(id: number, pattern: string): void;
  /** The peer drops subscription `id`. */
  unsubscribe?(id: number): void;
  /** The peer asks for a round trip; the pong goes out once this resolves. */
  ping?(): Promise<void>;
}

/** The default rule for the unreliable DataChannel: a channel whose name ends in `_unreliable`. */
export const UNRELIABLE_SUFFIX = '_unreliable';

/**
 * framebus's protocol on the two DataChannels of one peer connection (frames: see
 * `dc-frame.ts`). Sends payloads whole or as fragments cut to the peer's `max-message-size`,
 * reassembles what arrives with bounded memory and time (the NATS transport's
 * `FragmentReassembler`), carries subscriptions and round trips. Never throws on input:
 * garbage is counted as malformed.
 */
export class WebRtcLink {
  private readonly reassembler: FragmentReassembler;
  private readonly unreliable: (channel: string) => boolean;
  private readonly senders: { reliable: DataChannelSender; unreliable: DataChannelSender };
  private readonly expiry: NodeJS.Timeout;
  private readonly counters = { sent: 0, received: 0, malformed: 0, dropped: 0 };
  private readonly pings = new Map<number, () => void>();
  /** UTF-8 channel names recently sent, so a hot channel is encoded once. */
  private readonly names = new Map<string, Uint8Array>();
  private nextMessageId = 0;
  private nextPing = 0;
  private closed = false;

  constructor(
    private readonly pair: DataChannelPair,
    private readonly handlers: LinkHandlers,
    options: LinkOptions = {},
  ) {
    this.reassembler = new FragmentReassembler(options.reassembly);
    this.unreliable = options.unreliable ?? ((c) => c.endsWith(UNRELIABLE_SUFFIX));
    this.senders = {
      reliable: new DataChannelSender(pair.reliable, options.send),
      unreliable: new DataChannelSender(pair.unreliable, options.send),
    };
    for (const p of [pair.reliable, pair.unreliable]) {
      p.onMessage((m) => this.receive(p, m));
      p.onClosed(() => this.close());
    }
    this.expiry = setInterval(() => this.reassembler.expire(), 500);
    this.expiry.unref();
  }

  get stats(): LinkStats {
    return { ...this.counters, malformed: this.counters.malformed + this.reassembler.stats.malformed, incomplete: this.reassembler.stats.incomplete };
  }

  /** Bytes held for messages whose fragments have not all arrived. */
  get pendingReassemblyBytes(): number {
    return this.reassembler.pendingBytes;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends one payload. On the reliable channel it waits while the DataChannel's buffer is over
   * its high-water mark; on the unreliable channel a payload that would have to wait is dropped
   * and counted (fresh beats complete).
   * @throws TransportError when the link is closed.
   */
  async publish(channel: string, payload: Uint8Array): Promise<void> {
    const { sender, frames } = this.prepare(channel, payload);
    if (sender === this.senders.unreliable && sender.congested) {
      this.counters.dropped++;
      return;
    }
    await sender.send(frames);
    this.counters.sent++;
  }

  /**
   * Sends one payload without waiting: queued (bounded) while the DataChannel is congested,
   * dropped and counted beyond that. For relaying a local bus to a peer.
   */
  forward(channel: string, payload: Uint8Array): void {
    if (this.closed) return;
    const { sender, frames } = this.prepare(channel, payload);
    const ok = sender === this.senders.unreliable ? !sender.congested && sender.offer(frames) : sender.offer(frames);
    if (ok) this.counters.sent++;
    else this.counters.dropped++;
  }

  /** Sends a control frame on the reliable channel (in order with the messages). */
  async control(kind: 'subscribe' | 'unsubscribe', id: number, pattern = ''): Promise<void> {
    this.ensureOpen();
    await this.senders.reliable.send([encodeControl(kind, id, pattern)]);
  }

  /**
   * Resolves once the peer has handled everything sent on the reliable channel before.
   * @throws TransportError when the link closes first or the peer does not answer in `timeoutMs`.
   */
  async roundTrip(timeoutMs = 5_000): Promise<void> {
    this.ensureOpen();
    const token = this.nextPing++ >>> 0;
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve, reject) => {
      this.pings.set(token, resolve);
      timer = setTimeout(() => {
        this.pings.delete(token);
        reject(new TransportError(`The WebRTC peer did not answer a ping within ${timeoutMs} ms.`));
      }, timeoutMs);
    });
    try {
      await this.senders.reliable.send([encodeControl('ping', token)]);
      await answered;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes both DataChannels and abandons partial messages. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.expiry);
    this.reassembler.clear();
    const error = new TransportError('The WebRTC link is closed.');
    this.pings.clear();
    // What publish() already accepted still goes, as it did before small frames were batched.
    this.senders.reliable.flush();
    this.senders.unreliable.flush();
    this.senders.reliable.fail(error);
    this.senders.unreliable.fail(error);
    for (const p of [this.pair.reliable, this.pair.unreliable]) {
      try {
        p.close();
      } catch {
        // Already closed by the peer.
      }
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new TransportError('The WebRTC link is closed.');
  }

  private prepare(channel: string, payload: Uint8Array): { sender: DataChannelSender; frames: Uint8Array[] } {
    this.ensureOpen();
    if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError('publish() takes the payload as a Uint8Array.');
    let name = this.names.get(channel);
    if (!name) {
      name = channelBytes(channel);
      if (this.names.size >= 256) this.names.clear();
      this.names.set(channel, name);
    }
    if (name.byteLength > MAX_FRAME_CHANNEL_BYTES) throw new InvalidArgumentError(`Channel names on WebRTC are at most ${MAX_FRAME_CHANNEL_BYTES} bytes; ${channel.slice(0, 40)}… has ${name.byteLength}.`);
    const unreliable = this.unreliable(channel);
    const sender = unreliable ? this.senders.unreliable : this.senders.reliable;
    const max = sender.maxMessageSize;
    if (3 + name.byteLength + payload.byteLength <= max) return { sender, frames: [encodeMessage(name, payload)] };
    const chunkBytes = max - FRAGMENT_OVERHEAD - name.byteLength;
    if (chunkBytes < 1024) throw new TransportError(`The peer's max-message-size of ${max} bytes leaves no room for fragments of channel ${channel}.`);
    if (payload.byteLength > 0xffffffff) throw new InvalidArgumentError(`A WebRTC message is at most 4 GiB; got ${payload.byteLength} bytes.`);
    const count = Math.ceil(payload.byteLength / chunkBytes);
    const messageId = this.nextMessageId++ >>> 0;
    const frames: Uint8Array[] = [];
    for (let index = 0; index < count; index++) {
      const offset = index * chunkBytes;
      const chunk = payload.subarray(offset, Math.min(payload.byteLength, offset + chunkBytes));
      frames.push(encodeFragment(name, { messageId, index, count, offset, total: payload.byteLength }, chunk));
    }
    return { sender, frames };
  }

  private receive(from: DataChannelPort, data: Uint8Array): void {
    if (this.closed) return;
    const frame = decodeFrame(data);
    if (!frame) {
      this.counters.malformed++;
      return;
    }
    if (frame.kind !== 'batch') return this.handle(from, frame);
    for (const f of frame.frames) if (!this.closed) this.handle(from, f);
  }

  private handle(from: DataChannelPort, frame: InnerFrame): void {
    switch (frame.kind) {
      case 'message':
        return this.deliver(frame.payload, frame.channel);
      case 'fragment': {
        // The reassembler keeps a view of each chunk only until it copies it in.
        const whole = this.reassembler.accept(from.label, frame.header, frame.chunk);
        if (whole) this.deliver(whole, frame.channel);
        return;
      }
      case 'subscribe':
        return this.handlers.subscribe?.(frame.id, frame.pattern);
      case 'unsubscribe':
        return this.handlers.unsubscribe?.(frame.id);
      case 'ping':
        void (this.handlers.ping?.() ?? Promise.resolve())
          .catch(() => undefined)
          .then(() => (this.closed ? undefined : this.senders.reliable.send([encodeControl('pong', frame.token)])))
          .catch(() => undefined);
        return;
      case 'pong':
        this.pings.get(frame.token)?.();
        this.pings.delete(frame.token);
        return;
    }
  }

  private deliver(payload: Uint8Array, channel: string): void {
    this.counters.received++;
    this.handlers.message(payload, { channel, receivedAt: nowNs() });
  }
}
