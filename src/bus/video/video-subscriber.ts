import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../../core/errors.js';
import type { Frame, PixelFormat } from '../../core/frame.js';
import type { VideoPacket } from '../../core/packet.js';
import { nowNs } from '../../core/time.js';
import { VideoDecoder } from '../../codec/video-decoder.js';
import { keyframeRequestMessageType, type KeyframeRequestReason } from '../../wire/messages.js';
import { GopQueue, type GopQueueOptions } from './gop-queue.js';
import { PacketGuard, type PacketGuardOptions } from './packet-guard.js';
import { PacketSequencer, type PacketOrigin } from './packet-sequencer.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { type LogSink } from '../../core/log.js';
import type { Subscription, TopicProvider } from '../topic.js';
import { FRAMEBUS_REQUESTER_LENGTH, type VideoChannels } from './video-channels.js';
import { videoPacketType } from './video-packet-type.js';

/** How a video subscription receives. */
export interface VideoSubscribeOptions {
  /** Bounds of the queue between the bus and the handler; beyond them the rest of a GOP is dropped. */
  queue?: GopQueueOptions;
  /**
   * Milliseconds after which an unanswered keyframe request is sent again, while packets
   * keep arriving and no key packet came. Default 500.
   */
  requestRetryMs?: number;
  /** Receives rate-limited lines about failing handlers. Default: stderr. */
  log?: LogSink;
  /** Limits of the guard that drops packets inconsistent with the stream (forged, garbage). */
  guard?: PacketGuardOptions;
}

/** How a frame subscription decodes. */
export interface FrameSubscribeOptions extends VideoSubscribeOptions {
  /** Pixel format of the frames handed over. Default `'rgb24'`. */
  format?: PixelFormat;
  /** Decoder threads. Default 1 (see `VideoDecoderOptions.threads`). */
  threads?: number;
}

/** What a video subscription did, cumulative. */
export interface VideoSubscriptionStats {
  /** Packets that arrived, live or from the publisher's cache, duplicates included. */
  received: number;
  /** Packets handed to the handler (packet subscriptions) or the decoder (frame subscriptions). */
  delivered: number;
  /** Frames decoded and handed to the handler (frame subscriptions). */
  frames: number;
  /** Packets that arrived twice (live and from the cache) and were passed on once. */
  duplicates: number;
  /** Sequence numbers that never arrived. */
  lost: number;
  /** Times the stream broke (a gap while decodable); each is answered by one keyframe request. */
  gaps: number;
  /** Packets held back while waiting for a key packet: before the first, and after a gap. */
  skipped: number;
  /** The part of `skipped` held back after a gap: they depend on a packet that never arrived. */
  undecodable: number;
  /**
   * Packets dropped as inconsistent with the stream: a timestamp far ahead of the stream's
   * clock, a sequence or time that contradicts it, another codec or picture size, bytes that
   * contradict the packet's codec or key flag (see `PacketGuard`).
   */
  outliers: number;
  /** Times the stream started a new segment: its publisher restarted with a new clock, sequence, size or codec. */
  restarts: number;
  /** Packets dropped because the handler fell behind and the queue was full. */
  dropped: number;
  /** Packets the decoder found corrupt. */
  corrupt: number;
  /** Keyframe requests sent: late join, gap, corruption, and their retries. */
  keyframeRequests: number;
  /** Times the stream resumed at a key packet after a gap or a drop (e.g. a server failover). */
  resumed: number;
  /** Packets whose handler (or decoder) threw; caught and logged. */
  handlerErrors: number;
}

/** A subscription to a video topic. */
export interface VideoSubscription extends Subscription {
  /** This subscriber's id in keyframe requests; its cached GOP comes on `<name>/gop/<id>`. */
  readonly requester: string;
  readonly stats: VideoSubscriptionStats;
  /** Stops receiving, waits for the handler to return and frees the decoder. Idempotent. */
  unsubscribe(): Promise<void>;
}

/**
 * Receives one packet and the segment of the stream it belongs to: 0, then one more each time
 * the stream restarted (`stats.restarts`). Within a segment, sequences and timestamps rise. The
 * next packet is not handed over until a returned promise settles.
 */
export type PacketHandler = (packet: VideoPacket, segment: number) => void | Promise<void>;
/** Receives one decoded frame; the next is not handed over until a returned promise settles. */
export type FrameHandler = (frame: Frame) => void | Promise<void>;

/** What a subscriber feeds: packets to a handler, or frames decoded with these options. */
export type SubscriberSink = { kind: 'packets'; handler: PacketHandler } | { kind: 'frames'; handler: FrameHandler; options: FrameSubscribeOptions };

/**
 * The receiving side of a video topic. Packets from the live channel and from this
 * subscriber's reply channel go through a guard (drop forged and garbage packets, detect a
 * restarted publisher), a sequencer (start at a key packet, drop
 * duplicates, hold back after a gap) and a bounded queue (drop the rest of a GOP when the
 * handler falls behind) to the handler, or through a decoder behind a keyframe gate to a
 * frame handler. It asks the publisher for the cached GOP when it starts, and for a key
 * frame after a gap, a drop or a corrupt packet.
 */
export class VideoSubscriber implements VideoSubscription {
  readonly requester = randomBytes((FRAMEBUS_REQUESTER_LENGTH * 3) / 4).toString('base64url');
  readonly stats: VideoSubscriptionStats = {
    received: 0,
    delivered: 0,
    frames: 0,
    duplicates: 0,
    lost: 0,
    gaps: 0,
    skipped: 0,
    undecodable: 0,
    outliers: 0,
    restarts: 0,
    dropped: 0,
    corrupt: 0,
    keyframeRequests: 0,
    resumed: 0,
    handlerErrors: 0,
  };
  private readonly guard: PacketGuard;
  private sequencer = new PacketSequencer();
  /** Sequencer counts of the segments before the current one. */
  private earlierLost = 0;
  private earlierGaps = 0;
  /** Segment of packets accepted after the first restart; absent means 0. */
  private readonly segmentOf = new WeakMap<VideoPacket, number>();
  private decoderSegment = 0;
  private readonly queue: GopQueue;
  private readonly subscriptions: Subscription[] = [];
  private readonly retry: NodeJS.Timeout;
  private readonly retryMs: number;
  private readonly log: RateLimitedLog;
  private decoder: VideoDecoder | undefined;
  /** Why this subscriber waits for a key packet, until one reaches the handler or decoder. */
  private wanted: KeyframeRequestReason | undefined;
  /** The sequence that made us ask; a key packet after it answers. */
  private wantedAfter = -1;
  private lastConsumed = -1;
  private lastRequestAt = 0;
  private liveSinceRequest = false;
  private liveEver = false;
  private dropping = false;
  /** A started stream broke (a gap or a drop) and has not reached a key packet since. */
  private resyncing = false;
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly bus: TopicProvider,
    private readonly channels: VideoChannels,
    private readonly sink: SubscriberSink,
    options: VideoSubscribeOptions = {},
    private readonly onClose: () => void = () => {},
  ) {
    this.retryMs = options.requestRetryMs ?? 500;
    if (!(Number.isFinite(this.retryMs) && this.retryMs > 0)) {
      throw new InvalidArgumentError(`requestRetryMs must be a positive number of milliseconds, got ${String(this.retryMs)}.`);
    }
    this.queue = new GopQueue(options.queue);
    this.guard = new PacketGuard(options.guard);
    this.log = new RateLimitedLog(options.log);
    const live = bus.topic(channels.packets, videoPacketType);
    const reply = bus.topic(channels.reply(this.requester), videoPacketType);
    this.subscriptions.push(
      live.subscribe((p, info) => this.receive(p, 'live', info.receivedAt)),
      reply.subscribe((p, info) => this.receive(p, 'cache', info.receivedAt)),
    );
    this.retry = setInterval(() => this.retryRequest(), Math.max(10, this.retryMs / 5));
    this.retry.unref();
    this.wanted = 'late-join';
    // Ask for the cached GOP once the reply channel listens, unless a live packet already made us ask.
    bus.flush().then(
      () => {
        if (this.stats.keyframeRequests === 0) this.request('late-join', -1);
      },
      (error: Error) => this.log.log('flush', `Cannot subscribe to video topic ${channels.packets}: ${error.message}`),
    );
  }

  private receive(packet: VideoPacket, origin: PacketOrigin, receivedAt: bigint): void {
    if (this.closed) return;
    this.stats.received++;
    // The first live packet of a stream we asked about before seeing any: the publisher may
    // not have existed then.
    const askedBlind = origin === 'live' && !this.liveEver && this.wanted === 'late-join';
    if (origin === 'live') this.liveSinceRequest = this.liveEver = true;
    const verdict = this.guard.offer(packet, origin, receivedAt);
    this.stats.outliers = this.guard.outliers;
    if (verdict === 'pass') {
      this.sequence(packet, origin, askedBlind);
    } else if (verdict === 'switch') {
      if (this.guard.segment !== this.stats.restarts) this.startSegment();
      const released = this.guard.released;
      for (const p of released) this.sequence(p, 'live', false);
      // A clock confirmed mid-GOP (its key packet was lost or came before the confirmation): the cached GOP starts it.
      if (!released[0].key) this.request('late-join', -1);
    }
  }

  /** A new clock replaced the stream's: its sequence numbers start afresh. */
  private startSegment(): void {
    this.stats.restarts = this.guard.segment;
    this.earlierLost += this.sequencer.lost;
    this.earlierGaps += this.sequencer.gaps;
    this.sequencer = new PacketSequencer();
  }

  private sequence(packet: VideoPacket, origin: PacketOrigin, askedBlind: boolean): void {
    const started = this.sequencer.lastSequence !== -1;
    const gaps = this.sequencer.gaps;
    const holes = this.sequencer.holesWhileWaiting;
    const verdict = this.sequencer.offer(packet, origin);
    this.stats.lost = this.earlierLost + this.sequencer.lost;
    this.stats.gaps = this.earlierGaps + this.sequencer.gaps;
    if (verdict === 'duplicate') {
      this.stats.duplicates++;
      return;
    }
    if (this.sequencer.gaps > gaps) this.resyncing = true;
    if (verdict === 'skip') {
      this.stats.skipped++;
      if (started) {
        this.stats.undecodable++;
        this.resyncing = true;
      }
      // A new gap, or a hole while waiting (the key frame asked for may be what was lost), or
      // a first live packet after asking blind: ask (again) now.
      if (this.sequencer.gaps > gaps || this.sequencer.holesWhileWaiting > holes) this.request('gap', packet.sequence);
      else if (askedBlind) this.request('late-join', -1);
      return;
    }
    const queued = this.queue.push(packet);
    this.stats.dropped = this.queue.dropped;
    if (!queued) {
      if (!this.dropping) this.request('gap', packet.sequence);
      this.dropping = this.resyncing = true;
      return;
    }
    if (packet.key) {
      this.dropping = false;
      if (this.resyncing) {
        this.resyncing = false;
        this.stats.resumed++;
        this.bus.stats.resumed++;
      }
    }
    if (this.stats.restarts > 0) this.segmentOf.set(packet, this.stats.restarts);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    for (let packet = this.queue.shift(); packet && !this.closed; packet = this.queue.shift()) {
      this.stats.delivered++;
      const segment = this.segmentOf.get(packet) ?? 0;
      try {
        if (this.sink.kind === 'packets') {
          await this.sink.handler(packet, segment);
          this.consumed(packet);
        } else {
          await this.decode(packet, segment, this.sink.handler, this.sink.options);
        }
      } catch (error) {
        this.stats.handlerErrors++;
        this.log.log('handler', `Handling packet ${packet.sequence} of video topic ${this.channels.packets} failed: ${(error as Error).message}`);
      }
    }
  }

  private async decode(packet: VideoPacket, segment: number, handler: FrameHandler, options: FrameSubscribeOptions): Promise<void> {
    // A restarted stream's sequences start afresh; the decoder must not take that for a gap.
    if (segment !== this.decoderSegment) {
      this.decoderSegment = segment;
      this.decoder?.reset();
    }
    if (this.decoder?.codec !== packet.codec) {
      this.decoder?.close();
      this.decoder = await VideoDecoder.create({ codec: packet.codec, format: options.format, threads: options.threads });
      // Gaps never reach the decoder (the sequencer and queue resume only at key packets), so only corruption matters here.
      this.decoder.onWaiting((event) => {
        if (event.reason !== 'corrupt') return;
        this.stats.corrupt++;
        this.request('corrupt', event.sequence);
      });
    }
    const frames = await this.decoder.decode(packet);
    if (this.closed) return;
    if (!this.decoder.waiting) this.consumed(packet);
    for (const frame of frames) {
      this.stats.frames++;
      await handler(frame);
      if (this.closed) return;
    }
  }

  /** A key packet after the one that made us ask (or of a restarted stream) answers the request. */
  private consumed(packet: VideoPacket): void {
    if (packet.key && (packet.sequence > this.wantedAfter || packet.sequence <= this.lastConsumed)) this.wanted = undefined;
    this.lastConsumed = packet.sequence;
  }

  private request(reason: KeyframeRequestReason, after: number): void {
    if (this.closed) return;
    this.wanted = reason;
    this.wantedAfter = after;
    this.lastRequestAt = performance.now();
    this.liveSinceRequest = false;
    this.stats.keyframeRequests++;
    this.bus
      .topic(this.channels.control, keyframeRequestMessageType)
      .publish({
        timestamp_ns: nowNs(),
        topic: this.channels.packets,
        requester: this.requester,
        reason,
        last_sequence: BigInt(this.sequencer.lastSequence),
      })
      .catch((error: Error) => this.log.log('request', `Cannot send a keyframe request for ${this.channels.packets}: ${error.message}`));
  }

  private retryRequest(): void {
    if (this.wanted === undefined || !this.liveSinceRequest || performance.now() - this.lastRequestAt < this.retryMs) return;
    this.request(this.wanted, this.wantedAfter);
  }

  async unsubscribe(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    clearInterval(this.retry);
    for (const s of this.subscriptions) s.unsubscribe();
    this.guard.discardHeld();
    this.stats.outliers = this.guard.outliers;
    this.queue.clear();
    await this.draining;
    this.decoder?.close();
    this.decoder = undefined;
  }
}
