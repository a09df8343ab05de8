import { InvalidArgumentError, TransportError } from '../../core/errors.js';
import type { Frame } from '../../core/frame.js';
import type { VideoPacket } from '../../core/packet.js';
import { FrameReorderCheck } from '../../codec/frame-reordering.js';
import { VideoEncoder } from '../../codec/video-encoder.js';
import type { VideoEncoderOptions } from '../../codec/video-encoder-options.js';
import { KEYFRAME_REQUEST_REASONS, keyframeRequestMessageType, type KeyframeRequestMessage } from '../../wire/messages.js';
import { GopCache, type GopCacheOptions } from './gop-cache.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { type LogSink } from '../../core/log.js';
import type { Subscription, Topic, TopicProvider } from '../topic.js';
import { REQUESTER_ID, type VideoChannels } from './video-channels.js';
import { videoPacketType } from './video-packet-type.js';

/** How a video topic publishes. */
export interface VideoPublisherOptions {
  /** Encoder settings for `publishFrame`; width and height default to the first frame's. */
  encoder?: Partial<VideoEncoderOptions>;
  /** Least milliseconds between two key frames forced by subscribers' requests. Default 500. */
  keyframeIntervalMs?: number;
  /** Bounds of the cache of the current GOP kept for late joiners. */
  gopCache?: GopCacheOptions;
  /** Receives rate-limited lines about bad requests and failed replies. Default: the bus's log. */
  log?: LogSink;
}

/** What a video publisher did, cumulative. */
export interface VideoPublisherStats {
  /** Packets published live. */
  packets: number;
  /** Of those, key packets. */
  keyPackets: number;
  /** Bytes of packet data published live. */
  bytes: number;
  /** Keyframe requests received for this topic. */
  keyframeRequests: number;
  /** Key frames forced because of requests (at most one per `keyframeIntervalMs`). */
  forcedKeyframes: number;
  /** Cached GOPs sent to late joiners. */
  gopReplies: number;
  /**
   * Packets not sent because the bus's link was down, and the deltas after it up to the next
   * key packet (which is forced at once when this publisher encodes).
   */
  dropped: number;
}

/**
 * The publishing side of a video topic: encodes frames once (or takes ready packets),
 * publishes the packets, keeps the current GOP for late joiners, and answers keyframe
 * requests: a late joiner gets the cached GOP on its own reply channel; a subscriber that
 * lost packets or met a corrupt one gets a forced IDR, rate limited. Without an encoder
 * (ready packets only) such a subscriber waits for the next key packet of the stream.
 */
export class VideoPublisher {
  readonly stats: VideoPublisherStats = { packets: 0, keyPackets: 0, bytes: 0, keyframeRequests: 0, forcedKeyframes: 0, gopReplies: 0, dropped: 0 };
  private readonly cache: GopCache;
  private readonly live: Topic<VideoPacket>;
  private readonly intervalMs: number;
  private readonly log: RateLimitedLog;
  private encoder: Promise<VideoEncoder> | undefined;
  private control: Subscription | undefined;
  private lastForced = -Infinity;
  private keyWanted = false;
  /** The link went down: send nothing more until a key packet, once it is back. */
  private resync = false;
  private reorderCheck: FrameReorderCheck | undefined;
  /** The frame being encoded, so frames go through the encoder one at a time and close waits for it. */
  private work: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly bus: TopicProvider,
    private readonly channels: VideoChannels,
    private readonly options: VideoPublisherOptions = {},
  ) {
    this.intervalMs = options.keyframeIntervalMs ?? 500;
    if (!(Number.isFinite(this.intervalMs) && this.intervalMs >= 0)) {
      throw new InvalidArgumentError(`keyframeIntervalMs must be a number of milliseconds ≥ 0, got ${String(this.intervalMs)}.`);
    }
    this.cache = new GopCache(options.gopCache);
    this.live = bus.topic(channels.packets, videoPacketType);
    this.log = new RateLimitedLog(options.log);
  }

  /** The cached GOP a late joiner would get now, key packet first. */
  cachedGop(): readonly VideoPacket[] {
    return this.cache.packets();
  }

  /**
   * Encodes `frame` (opening the encoder on the first frame) and publishes its packets.
   * Frames are encoded in call order, one at a time.
   * @returns the packets published.
   */
  async publishFrame(frame: Frame): Promise<VideoPacket[]> {
    this.ensureOpen();
    if (frame?.kind !== 'frame') throw new InvalidArgumentError('publishFrame() takes a Frame.');
    const run = this.work.then(() => this.encodeAndPublish(frame));
    this.work = run.catch(() => undefined);
    return run;
  }

  private async encodeAndPublish(frame: Frame): Promise<VideoPacket[]> {
    this.ensureOpen();
    this.encoder ??= VideoEncoder.create({ width: frame.width, height: frame.height, ...this.options.encoder });
    const encoder = await this.encoder;
    this.forceIfDue(encoder);
    const packets = await encoder.encode(frame);
    // The encoder makes no B-frames: its packets skip the bitstream check on this hot path.
    for (const packet of packets) await this.send(packet);
    return packets;
  }

  /**
   * Publishes a ready packet, e.g. from a recording. Sequences must increase by one per packet.
   * @throws InvalidArgumentError for a packet that needs frame reordering (B-frames).
   */
  async publishPacket(packet: VideoPacket): Promise<void> {
    this.ensureOpen();
    if (packet?.kind !== 'video-packet') throw new InvalidArgumentError('publishPacket() takes a VideoPacket.');
    this.reorderCheck ??= new FrameReorderCheck(packet.codec);
    this.reorderCheck.requireInOrder(packet.data, `Topic ${this.channels.packets}: packet ${packet.sequence}`);
    await this.send(packet);
  }

  private async send(packet: VideoPacket): Promise<void> {
    this.control ??= this.bus.topic(this.channels.control, keyframeRequestMessageType).subscribe((request) => this.onRequest(request));
    // Cache and send in one synchronous step, so a GOP reply never slips between them.
    this.cache.push(packet);
    if (packet.key) this.keyWanted = false;
    if (!this.bus.linkUp || (this.resync && !packet.key)) {
      // An outage: drop instead of buffering, and restart the stream at a key packet that is
      // made (when encoding here) as soon as the link is back.
      this.resync = this.keyWanted = true;
      this.lastForced = -Infinity;
      this.stats.dropped++;
      this.bus.stats.droppedFrames++;
      return;
    }
    this.resync = false;
    this.stats.packets++;
    this.stats.bytes += packet.data.byteLength;
    if (packet.key) this.stats.keyPackets++;
    await this.live.publish(packet);
  }

  private onRequest(request: KeyframeRequestMessage): void {
    if (this.closed || request.topic !== this.channels.packets) return;
    if (!(KEYFRAME_REQUEST_REASONS as readonly string[]).includes(request.reason) || !REQUESTER_ID.test(request.requester)) {
      this.log.log('bad-request', `Ignored a keyframe request on ${this.channels.control} with reason ${JSON.stringify(request.reason)} from ${JSON.stringify(request.requester)}.`);
      return;
    }
    this.stats.keyframeRequests++;
    const gop = this.cache.packets();
    if (request.reason === 'late-join' && gop.length > 0) {
      this.stats.gopReplies++;
      const reply = this.bus.topic(this.channels.reply(request.requester), videoPacketType);
      // Sent back to back without awaiting, so the reply stays ahead of the next live packet.
      Promise.all(gop.map((p) => reply.publish(p))).catch((error: Error) => {
        this.log.log('reply', `Cannot send the cached GOP of ${this.channels.packets} to ${request.requester}: ${error.message}`);
      });
      return;
    }
    this.keyWanted = true;
    if (this.encoder) void this.encoder.then((e) => this.forceIfDue(e), () => undefined);
  }

  private forceIfDue(encoder: VideoEncoder): void {
    const now = performance.now();
    if (!this.keyWanted || !this.bus.linkUp || now - this.lastForced < this.intervalMs) return;
    this.keyWanted = false;
    this.lastForced = now;
    this.stats.forcedKeyframes++;
    encoder.requestKeyframe();
  }

  private ensureOpen(): void {
    if (this.closed) throw new TransportError(`The video topic ${this.channels.packets} is closed.`);
  }

  /** Stops answering requests, frees the encoder and forgets the cache. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.control?.unsubscribe();
    this.cache.clear();
    await this.work;
    const encoder = await this.encoder?.catch(() => undefined);
    encoder?.close();
  }
}
