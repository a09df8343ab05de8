import { TransportError } from '../../core/errors.js';
import { type LogSink } from '../../core/log.js';
import { compilePattern } from '../channel-pattern.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { ByteTransport, ReceivedInfo, TransportStats } from '../transport.js';
import { MAX_FRAME_CHANNEL_BYTES } from './dc-frame.js';
import { dialAnswerer, type DialOptions } from './webrtc-dial.js';
import { WebRtcLink, type LinkOptions } from './webrtc-link.js';
import { loopbackPeers, type NdcPeer } from './ndc-peer.js';
import { parseWebRtcUrl } from './webrtc-url.js';

/** Options of a WebRTC transport. */
export interface WebRtcTransportOptions extends LinkOptions, DialOptions {
  /** Receives rate-limited lines about failing handlers and the connection closing. Default: stderr. */
  log?: LogSink;
}

/** A WebRTC transport's counters: those of every transport plus payloads dropped under congestion. */
export interface WebRtcTransportStats extends TransportStats {
  /** Payloads not sent: the unreliable channel was congested, or the send queue was full. */
  dropped: number;
}

interface LocalSub {
  readonly matches: (channel: string) => boolean;
  readonly handler: (payload: Uint8Array, info: ReceivedInfo) => void;
}

/**
 * A `ByteTransport` over WebRTC DataChannels (node-datachannel), two per peer connection:
 * reliable/ordered for most channels, unreliable/unordered (`maxRetransmits: 0`) for channels
 * the `unreliable` rule picks (default: names ending in `_unreliable`).
 * - `webrtc:loopback`: two peer connections in this process; what this transport publishes
 *   goes out on one and arrives on the other, where its subscribers get it.
 * - `webrtc://host:port`: dials the `framebus serve` there (SDP offer over HTTP POST to
 *   `/webrtc/bus`); subscriptions are sent to it, so it forwards only the channels asked for,
 *   and what this transport publishes goes onto its bus (and back here when subscribed, as on LCM).
 */
export class WebRtcTransport implements ByteTransport {
  /** Longest channel name a frame carries, bytes. */
  readonly maxChannelBytes = MAX_FRAME_CHANNEL_BYTES;
  private readonly subs = new Set<LocalSub>();
  private readonly remoteIds = new Map<LocalSub, number>();
  private nextRemoteId = 1;
  private closed = false;

  private constructor(
    readonly url: string,
    /** Where payloads go out. */
    private readonly out: WebRtcLink,
    /** Where payloads arrive (loopback: the other end of the pair; dialed: the same link as `out`). */
    private readonly inbound: WebRtcLink,
    /** The peer connections to close with this transport. */
    private readonly peers: NdcPeer[],
    /** Whether subscriptions must be sent to the other end (dialed) or are only local (loopback). */
    private readonly remote: boolean,
    private readonly log: RateLimitedLog,
  ) {}

  /**
   * Opens `webrtc:loopback` or dials `webrtc://host:port`.
   * @throws InvalidArgumentError for a bad URL; TransportError when the peer does not answer or connect.
   */
  static async open(url: string, options: WebRtcTransportOptions = {}): Promise<WebRtcTransport> {
    const target = parseWebRtcUrl(url);
    const log = new RateLimitedLog(options.log);
    let transport: WebRtcTransport | undefined;
    const deliver = (payload: Uint8Array, info: ReceivedInfo): void => transport?.deliver(payload, info);
    if (target.kind === 'loopback') {
      const { offerer, answerer, a, b } = await loopbackPeers({ timeoutMs: options.timeoutMs });
      const out = new WebRtcLink(a, { message: () => undefined }, options);
      const inbound = new WebRtcLink(b, { message: deliver }, options);
      transport = new WebRtcTransport(target.url, out, inbound, [offerer, answerer], false, log);
    } else {
      const { peer, pair } = await dialAnswerer(target, options);
      const link = new WebRtcLink(pair, { message: deliver }, options);
      transport = new WebRtcTransport(target.url, link, link, [peer], true, log);
    }
    const t = transport;
    for (const p of t.peers) p.onClosed(() => t.peerClosed());
    return t;
  }

  get stats(): WebRtcTransportStats {
    const o = this.out.stats;
    const i = this.inbound.stats;
    return { sent: o.sent, received: i.received, malformed: i.malformed, incomplete: i.incomplete, dropped: o.dropped };
  }

  /** Bytes held for messages whose fragments have not all arrived. */
  get pendingReassemblyBytes(): number {
    return this.inbound.pendingReassemblyBytes;
  }

  async publish(channel: string, payload: Uint8Array): Promise<void> {
    this.ensureOpen();
    await this.out.publish(channel, payload);
  }

  subscribe(pattern: string, handler: (payload: Uint8Array, info: ReceivedInfo) => void): () => void {
    this.ensureOpen();
    const sub: LocalSub = { matches: compilePattern(pattern), handler };
    this.subs.add(sub);
    if (this.remote) {
      const id = this.nextRemoteId++;
      this.remoteIds.set(sub, id);
      this.out.control('subscribe', id, pattern).catch((error: Error) => this.log.log('subscribe', `Cannot send a subscription to ${this.url}: ${error.message}`));
    }
    return () => {
      if (!this.subs.delete(sub)) return;
      const id = this.remoteIds.get(sub);
      this.remoteIds.delete(sub);
      if (id !== undefined && !this.closed) this.out.control('unsubscribe', id).catch(() => undefined);
    };
  }

  /** Resolves once the other end has handled everything sent before (subscriptions included). */
  async flush(): Promise<void> {
    this.ensureOpen();
    await this.out.roundTrip();
  }

  /** Closes the DataChannels and peer connections. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subs.clear();
    this.out.close();
    this.inbound.close();
    for (const p of this.peers) p.close();
  }

  private ensureOpen(): void {
    if (this.closed) throw new TransportError(`The WebRTC transport ${this.url} is closed.`);
  }

  private peerClosed(): void {
    if (this.closed) return;
    this.log.log('closed', `The WebRTC connection of ${this.url} closed; publishing on it now fails.`);
    this.out.close();
    this.inbound.close();
  }

  private deliver(payload: Uint8Array, info: ReceivedInfo): void {
    for (const sub of [...this.subs]) {
      if (!sub.matches(info.channel)) continue;
      try {
        sub.handler(payload, info);
      } catch (error) {
        this.log.log(`handler:${info.channel}`, `A subscriber of ${info.channel} threw: ${(error as Error).message}`);
      }
    }
  }
}
