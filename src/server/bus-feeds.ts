import type { Bus } from '../bus/bus.js';
import { GopCache } from '../bus/video/gop-cache.js';
import type { RawMessage, Subscription, Topic } from '../bus/topic.js';
import type { VideoSubscription } from '../bus/video/video-subscriber.js';
import type { VideoTopic } from '../bus/video/video-topic.js';
import { isGopReplyChannel } from '../bus/video/video-channels.js';
import { videoPacketType } from '../bus/video/video-packet-type.js';
import type { CompressedImage } from '../core/compressed-image.js';
import type { VideoPacket } from '../core/packet.js';
import { InvalidArgumentError } from '../core/errors.js';
import { logToStderr, type LogSink } from '../core/log.js';
import { nowNs } from '../core/time.js';
import { RateLimitedLog } from '../bus/rate-limited-log.js';
import { toCompressedImage } from '../wire/core-conversion.js';
import type { LcmMessageType } from '../wire/lcm-struct-codec.js';
import { compressedImageMessageType, FRAMEBUS_MESSAGE_TYPES, keyframeRequestMessageType, rawImageMessageType, type CompressedImageMessage, type KeyframeRequestMessage } from '../wire/messages.js';
import { lcmJsonSchema, lcmValueToJson } from '../wire/lcm-json.js';
import type { LiveFeed, LiveFeeds, LiveImageFeed, LiveMessageFeed, LiveVideoFeed, Unsubscribe } from './live-feeds.js';

/** Options of {@link BusFeeds}. */
export interface BusFeedsOptions {
  /** Serve only these topics (exact names); default every topic that appears. */
  topics?: readonly string[];
  /**
   * Message types (e.g. `loadLcmTypes(…).types`) whose topics are served as JSON with a JSON
   * Schema (the viewer's telemetry table and plot), besides framebus's own.
   */
  types?: readonly LcmMessageType<unknown>[];
  /**
   * At most this many topics are served (each holds a subscription, and a video topic its GOP
   * cache); topics appearing beyond it are not, with a warning. Default 256: anyone who can
   * publish on the bus (an LCM LAN) could otherwise make the server hold a feed per name.
   */
  maxFeeds?: number;
  /** Where the warning goes. Default stderr. */
  log?: LogSink;
}

/** Not served: raw pixels are too big for viewers, keyframe requests are the bus's own business. */
const NOT_SERVED = new Set([rawImageMessageType.name, keyframeRequestMessageType.name]);

/** Calls every listener, so one failing viewer cannot stop delivery to the others. */
class Fanout<A extends unknown[]> {
  private readonly listeners = new Set<(...args: A) => void>();

  add(listener: (...args: A) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(...args: A): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(...args);
      } catch {
        // A viewer's send failing (socket gone) is that viewer's problem; it is cleaned up on close.
      }
    }
  }
}

class BusVideoFeed implements LiveVideoFeed {
  readonly kind = 'video';
  private readonly cache = new GopCache();
  private readonly fanout = new Fanout<[VideoPacket, bigint]>();
  private readonly video: VideoTopic;
  private readonly subscription: VideoSubscription;
  private readonly requests: Topic<KeyframeRequestMessage>;

  constructor(
    bus: Bus,
    readonly topic: string,
  ) {
    this.video = bus.video(topic);
    this.requests = bus.topic(this.video.channels.control, keyframeRequestMessageType);
    // A video subscription asks the publisher for its GOP on join and for a key packet after a gap.
    this.subscription = this.video.subscribePackets((packet) => {
      this.cache.push(packet);
      this.fanout.emit(packet, nowNs());
    });
  }

  subscribe(onPacket: (packet: VideoPacket, receivedAt: bigint) => void): Unsubscribe {
    return this.fanout.add(onPacket);
  }

  cachedGop(): readonly VideoPacket[] {
    return [...this.cache.packets()];
  }

  requestKeyframe(): void {
    this.requests
      .publish({ timestamp_ns: nowNs(), topic: this.topic, requester: this.subscription.requester, reason: 'gap', last_sequence: -1n })
      .catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.subscription.unsubscribe();
    await this.video.close();
  }
}

class BusImageFeed implements LiveImageFeed {
  readonly kind = 'image';
  private newest: CompressedImage | undefined;
  private readonly fanout = new Fanout<[CompressedImage, bigint]>();
  private readonly subscription: Subscription;

  constructor(
    bus: Bus,
    readonly topic: string,
  ) {
    this.subscription = bus.topic(topic, compressedImageMessageType).subscribe((message, info) => this.accept(message, info.receivedAt));
  }

  /** Takes one received image message; a malformed one is dropped. */
  accept(message: CompressedImageMessage, receivedAt: bigint): void {
    let image: CompressedImage;
    try {
      image = toCompressedImage(message);
    } catch {
      return;
    }
    this.newest = image;
    this.fanout.emit(image, receivedAt);
  }

  subscribe(onImage: (image: CompressedImage, receivedAt: bigint) => void): Unsubscribe {
    return this.fanout.add(onImage);
  }

  latest(): CompressedImage | undefined {
    return this.newest;
  }

  async close(): Promise<void> {
    this.subscription.unsubscribe();
  }
}

class BusMessageFeed implements LiveMessageFeed {
  readonly kind = 'message';
  readonly schemaName: string;
  readonly schema: object;
  private readonly fanout = new Fanout<[unknown, bigint]>();
  private readonly subscription: Subscription;

  constructor(
    bus: Bus,
    readonly topic: string,
    type: LcmMessageType<unknown>,
  ) {
    this.schemaName = type.name;
    this.schema = lcmJsonSchema(type.struct);
    this.subscription = bus.topic(topic, type).subscribe((value, info) => this.fanout.emit(lcmValueToJson(value), info.receivedAt));
  }

  subscribe(onMessage: (message: unknown, receivedAt: bigint) => void): Unsubscribe {
    return this.fanout.add(onMessage);
  }

  async close(): Promise<void> {
    this.subscription.unsubscribe();
  }
}

type BusFeed = BusVideoFeed | BusImageFeed | BusMessageFeed;

/**
 * The live feeds of a bus: every topic carrying video packets, compressed images or another
 * framebus message type, found as messages arrive (a pattern subscription on `.*`). Keeps a
 * GOP cache per video topic for viewers that join late.
 */
export class BusFeeds implements LiveFeeds {
  private readonly feeds = new Map<string, BusFeed>();
  private readonly fanout = new Fanout<[LiveFeed]>();
  private readonly raw: Subscription;
  private readonly only: ReadonlySet<string> | undefined;
  private readonly types: readonly LcmMessageType<unknown>[];
  private readonly maxFeeds: number;
  private readonly log: RateLimitedLog;
  /** Servable topics not served because `maxFeeds` were served already (each counted once per message that revealed it). */
  refused = 0;

  constructor(
    private readonly bus: Bus,
    options: BusFeedsOptions = {},
  ) {
    this.only = options.topics ? new Set(options.topics) : undefined;
    this.types = [...(options.types ?? []), ...FRAMEBUS_MESSAGE_TYPES];
    this.maxFeeds = options.maxFeeds ?? 256;
    if (!Number.isInteger(this.maxFeeds) || this.maxFeeds < 1) throw new InvalidArgumentError(`maxFeeds must be a whole number of topics ≥ 1, got ${String(options.maxFeeds)}.`);
    this.log = new RateLimitedLog(options.log ?? logToStderr);
    this.raw = bus.subscribeRaw('.*', (message) => this.discover(message));
  }

  list(): readonly LiveFeed[] {
    return [...this.feeds.values()];
  }

  onFeed(onFeed: (feed: LiveFeed) => void): Unsubscribe {
    return this.fanout.add(onFeed);
  }

  async close(): Promise<void> {
    this.raw.unsubscribe();
    const feeds = [...this.feeds.values()];
    this.feeds.clear();
    await Promise.all(feeds.map((feed) => feed.close()));
  }

  private discover(message: RawMessage): void {
    const { topic } = message;
    const typeName = message.typeName ?? this.types.find((t) => t.fingerprint === message.fingerprint)?.name;
    // Topics not served are checked again on every message (a few lookups) rather than
    // remembered: a bus with ever new topic names would otherwise grow a set without bound.
    if (this.feeds.has(topic) || typeName === undefined) return;
    if ((this.only && !this.only.has(topic)) || NOT_SERVED.has(typeName) || isGopReplyChannel(topic)) return;
    if (this.feeds.size >= this.maxFeeds) {
      this.refused++;
      this.log.log('max-feeds', `framebus serve: ${this.maxFeeds} topics are served already; not serving ${JSON.stringify(topic.slice(0, 80))} (choose the topics to serve with --topics).`);
      return;
    }
    let feed: BusFeed;
    if (typeName === videoPacketType.name) {
      feed = new BusVideoFeed(this.bus, topic);
    } else if (typeName === compressedImageMessageType.name) {
      const images = new BusImageFeed(this.bus, topic);
      // The image that revealed the topic went by before the subscription: it is the newest one.
      try {
        images.accept(compressedImageMessageType.decode(message.payload()), message.receivedAt);
      } catch {
        // Malformed: the feed waits for the next image.
      }
      feed = images;
    } else {
      const type = this.types.find((t) => t.fingerprint === message.fingerprint);
      if (!type) return;
      feed = new BusMessageFeed(this.bus, topic, type);
    }
    this.feeds.set(topic, feed);
    this.fanout.emit(feed);
  }
}
