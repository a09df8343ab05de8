import type { DataChannel, PeerConnection } from 'node-datachannel';
import { MalformedDataError, MissingDependencyError, TransportError } from '../../core/errors.js';
import { DATA_CHANNELS, messageBytes, type DataChannelPair, type DataChannelPort } from './datachannel-port.js';

/** Options of a node-datachannel peer connection. */
export interface PeerOptions {
  /** Local address to gather ICE candidates on, e.g. `127.0.0.1`; default: every interface. */
  bindAddress?: string;
  /** STUN/TURN servers as libdatachannel URLs (`stun:host:port`); default none (host candidates only). */
  iceServers?: string[];
  /** Milliseconds to wait for ICE gathering and for the DataChannels to open. Default 10,000. */
  timeoutMs?: number;
}

/**
 * A DataChannel of node-datachannel as a `DataChannelPort`. The wrapper object must stay
 * referenced while the channel is in use: node-datachannel closes a channel whose JavaScript
 * object was garbage-collected (a channel only referenced from its own callbacks stops
 * delivering after a few thousand messages, then closes).
 */
function port(dc: DataChannel): DataChannelPort {
  return {
    label: dc.getLabel(),
    get maxMessageSize() {
      return dc.maxMessageSize();
    },
    bufferedAmount: () => dc.bufferedAmount(),
    // A false return means "queued behind other messages", not "dropped" (libdatachannel).
    send: (message) => void dc.sendMessageBinary(message),
    onBufferedAmountLow: (threshold, onLow) => {
      dc.setBufferedAmountLowThreshold(threshold);
      dc.onBufferedAmountLow(onLow);
    },
    onMessage: (handler) => dc.onMessage((m) => handler(messageBytes(m))),
    onClosed: (handler) => dc.onClosed(handler),
    close: () => dc.close(),
  };
}

function withTimeout<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransportError(`WebRTC: ${what} took longer than ${ms} ms.`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

let peerCount = 0;

type NodeDataChannel = typeof import('node-datachannel');
let library: NodeDataChannel | undefined;

/**
 * node-datachannel, loaded on first use: its native library then loads only in processes that
 * use WebRTC, and a platform without its prebuilt binary fails here with a clear message
 * rather than at `import 'framebus'`.
 * @throws MissingDependencyError when the module or its binary cannot be loaded.
 */
async function loadLibrary(): Promise<NodeDataChannel> {
  try {
    library ??= await import('node-datachannel');
    return library;
  } catch (cause) {
    throw new MissingDependencyError(
      `WebRTC needs the npm package node-datachannel and its prebuilt binary for ${process.platform}-${process.arch}: ${(cause as Error).message}. Run npm install in framebus's folder.`,
      { cause },
    );
  }
}
/** Peer connections not yet closed; libdatachannel's threads keep Node alive until the last one is. */
let livePeers = 0;

/**
 * libdatachannel 0.33 sometimes rejects a well-formed answer with "Got a remote candidate
 * without ICE transport" when both peers handshake at once on a busy machine (about one
 * connection in six here, after others closed); a new offer then succeeds.
 */
export const RETRY_RACE = /without ICE transport/;

/** Whether `error` is the libdatachannel race a new offer gets past. */
export function isRetryable(error: unknown): boolean {
  return (error as { retry?: boolean } | undefined)?.retry === true;
}

/** An SDP without its `a=candidate` lines, and those candidates (values without `a=`) with the media section's mid. */
function splitCandidates(sdp: string): { bare: string; candidates: string[]; mid: string } {
  const lines = sdp.split(/\r?\n/);
  return {
    bare: lines.filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates').join('\r\n'),
    candidates: lines.filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2)),
    mid: lines.find((l) => l.startsWith('a=mid:'))?.slice(6) ?? '0',
  };
}

/**
 * One WebRTC peer connection (node-datachannel) carrying framebus's two DataChannels.
 * Signaling is not trickled: SDP is exchanged once ICE gathering is complete, so one HTTP
 * round trip (offer → answer) is all a connection needs.
 */
export class NdcPeer {
  private readonly channels = new Map<string, DataChannel>();
  private readonly opened: Promise<DataChannelPair>;
  private readonly gathered: Promise<void>;
  private closeHandlers: (() => void)[] = [];
  private closed = false;

  private constructor(
    private readonly pc: PeerConnection,
    private readonly timeoutMs: number,
  ) {
    this.gathered = new Promise((resolve) => {
      pc.onGatheringStateChange((state) => {
        if (state === 'complete') resolve();
      });
    });
    this.opened = new Promise<DataChannelPair>((resolve, reject) => {
      const ready = (): void => {
        const r = this.channels.get(DATA_CHANNELS.reliable.label);
        const u = this.channels.get(DATA_CHANNELS.unreliable.label);
        if (r?.isOpen() && u?.isOpen()) resolve({ reliable: port(r), unreliable: port(u) });
      };
      pc.onStateChange((state) => {
        if (state === 'failed' || state === 'closed' || state === 'disconnected') {
          reject(new TransportError(`WebRTC peer connection ${state} before its DataChannels opened.`));
          this.close();
        }
      });
      this.track = (dc) => {
        this.channels.set(dc.getLabel(), dc);
        dc.onClosed(() => this.close());
        if (dc.isOpen()) ready();
        else dc.onOpen(ready);
      };
      pc.onDataChannel((dc) => this.track(dc));
    });
    this.opened.catch(() => undefined);
  }

  private track: (dc: DataChannel) => void = () => undefined;

  private static async create(options: PeerOptions): Promise<NdcPeer> {
    const { PeerConnection } = await loadLibrary();
    const pc = new PeerConnection(`framebus-${++peerCount}`, {
      iceServers: options.iceServers ?? [],
      bindAddress: options.bindAddress,
      // 256 KiB, what browsers offer; larger payloads are fragmented by framebus.
      maxMessageSize: 262_144,
    });
    livePeers++;
    return new NdcPeer(pc, options.timeoutMs ?? 10_000);
  }

  /** A peer that opens both DataChannels and offers; finish with `accept(answerSdp)`. */
  static async offer(options: PeerOptions = {}): Promise<{ peer: NdcPeer; offerSdp: string }> {
    const peer = await NdcPeer.create(options);
    peer.track(peer.pc.createDataChannel(DATA_CHANNELS.reliable.label, { unordered: false }));
    peer.track(peer.pc.createDataChannel(DATA_CHANNELS.unreliable.label, { unordered: true, maxRetransmits: 0 }));
    await withTimeout('ICE gathering', peer.timeoutMs, peer.gathered);
    return { peer, offerSdp: peer.localSdp() };
  }

  /**
   * A peer answering `offerSdp`; its DataChannels are the ones the offerer opens. The offer's
   * candidates are applied `candidateDelayMs` after the answer is ready (default 0: at once;
   * `loopbackPeers` applies them itself once the offerer has the answer).
   * @throws MalformedDataError when the offer does not parse.
   */
  static async answer(offerSdp: string, options: PeerOptions & { candidateDelayMs?: number } = {}): Promise<{ peer: NdcPeer; answerSdp: string }> {
    const peer = await NdcPeer.create(options);
    const { bare, candidates, mid } = splitCandidates(offerSdp);
    try {
      peer.pc.setRemoteDescription(bare, 'offer');
    } catch (cause) {
      peer.close();
      throw new MalformedDataError(`The SDP offer does not parse: ${(cause as Error).message}.`, { cause });
    }
    try {
      await withTimeout('ICE gathering', peer.timeoutMs, peer.gathered);
    } catch (error) {
      peer.close();
      throw error;
    }
    const apply = (): void => {
      for (const c of candidates) {
        if (peer.closed) return;
        try {
          peer.pc.addRemoteCandidate(c, mid);
        } catch {
          // A candidate libdatachannel cannot use (another address family, a bad line): ICE tries the others.
        }
      }
    };
    if (options.candidateDelayMs) setTimeout(apply, options.candidateDelayMs).unref();
    else apply();
    return { peer, answerSdp: peer.localSdp() };
  }

  /**
   * Applies the answer to this peer's offer.
   * @throws MalformedDataError when the answer does not parse; TransportError with `retry`
   *   set when libdatachannel lost the race described at `RETRY_RACE` (offer again).
   */
  accept(answerSdp: string): void {
    try {
      this.pc.setRemoteDescription(answerSdp, 'answer');
    } catch (cause) {
      this.close();
      const message = (cause as Error).message;
      if (RETRY_RACE.test(message)) throw Object.assign(new TransportError(`WebRTC: ${message}; offer again.`, { cause }), { retry: true });
      throw new MalformedDataError(`The SDP answer does not parse: ${message}.`, { cause });
    }
  }

  /**
   * Both DataChannels, once open.
   * @throws TransportError when the connection fails or does not open in time.
   */
  async ready(): Promise<DataChannelPair> {
    try {
      return await withTimeout('opening the DataChannels', this.timeoutMs, this.opened);
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Adds one remote ICE candidate (an `a=candidate:` line's value) for media section `mid`. */
  addRemoteCandidate(candidate: string, mid: string): void {
    this.pc.addRemoteCandidate(candidate, mid);
  }

  /** Calls `handler` once when this connection closes, from either side. */
  onClosed(handler: () => void): void {
    if (this.closed) handler();
    else this.closeHandlers.push(handler);
  }

  /** Closes both DataChannels and the connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const dc of this.channels.values()) {
      try {
        dc.close();
      } catch {
        // Already closed by the peer.
      }
    }
    this.channels.clear();
    this.pc.close();
    // Without this, the process would not exit after its last connection closed.
    if (--livePeers === 0) setImmediate(() => livePeers === 0 && library?.cleanup());
    const handlers = this.closeHandlers;
    this.closeHandlers = [];
    for (const h of handlers) h();
  }

  private localSdp(): string {
    const sdp = this.pc.localDescription()?.sdp;
    if (!sdp) throw new TransportError('WebRTC: the peer connection produced no local description.');
    return sdp;
  }
}

/**
 * Two connected peers in this process (`webrtc:loopback`), each with both DataChannels open.
 * The offer reaches the answerer without its candidates, which follow once the offerer has the
 * answer: otherwise the answerer's first connectivity checks arrive before the offerer can
 * verify them and connecting waits for their retransmission (about 0.7 s instead of a few ms).
 */
export async function loopbackPeers(options: PeerOptions = {}, attempts = 3): Promise<{ offerer: NdcPeer; answerer: NdcPeer; a: DataChannelPair; b: DataChannelPair }> {
  const local = { bindAddress: '127.0.0.1', ...options };
  const { peer: offerer, offerSdp } = await NdcPeer.offer(local);
  try {
    const { bare, candidates, mid } = splitCandidates(offerSdp);
    const { peer: answerer, answerSdp } = await NdcPeer.answer(bare, local);
    try {
      offerer.accept(answerSdp);
      for (const c of candidates) answerer.addRemoteCandidate(c, mid);
      const [a, b] = await Promise.all([offerer.ready(), answerer.ready()]);
      return { offerer, answerer, a, b };
    } catch (error) {
      answerer.close();
      throw error;
    }
  } catch (error) {
    offerer.close();
    if (attempts > 1 && isRetryable(error)) return loopbackPeers(options, attempts - 1);
    throw error;
  }
}
