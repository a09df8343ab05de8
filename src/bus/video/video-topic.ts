import { TransportError } from '../../core/errors.js';
import type { Frame } from '../../core/frame.js';
import type { VideoPacket } from '../../core/packet.js';
import type { TopicProvider } from '../topic.js';
import { checkVideoTopicFits, videoChannels, type VideoChannels } from './video-channels.js';
import { VideoPublisher, type VideoPublisherOptions, type VideoPublisherStats } from './video-publisher.js';
import {
  VideoSubscriber,
  type FrameHandler,
  type FrameSubscribeOptions,
  type PacketHandler,
  type SubscriberSink,
  type VideoSubscribeOptions,
  type VideoSubscription,
} from './video-subscriber.js';

/** Options of `bus.video(name, options)`; `log` also serves the topic's subscriptions. */
export type VideoTopicOptions = VideoPublisherOptions;

/**
 * One video stream on a bus: packets on channel `name`, keyframe requests on `<name>/ctl`,
 * cached GOPs for late joiners on `<name>/gop/<requester>`.
 *
 * Publish with `publishFrame` (encoded once, by a `VideoEncoder` opened on the first frame)
 * or `publishPacket` (ready packets, e.g. from a recording); use one of the two per topic.
 * Subscribe with `subscribePackets` (no decoding: each packet as published, e.g. for a
 * recorder) or `subscribeFrames` (decoded, never a damaged picture). Every subscription
 * starts with the publisher's current GOP, so it shows a picture at once instead of waiting
 * for the next key frame.
 */
export class VideoTopic {
  /** The topic's name, which is also the channel of its packets. */
  readonly name: string;
  /** The channels this topic uses. */
  readonly channels: VideoChannels;
  private publisher: VideoPublisher | undefined;
  private readonly subscriptions = new Set<VideoSubscription>();
  private closed = false;

  /**
   * Use `bus.video(name, options)` rather than this constructor.
   * @param onClose called once when the topic closes.
   */
  constructor(
    private readonly bus: TopicProvider,
    name: string,
    private readonly options: VideoTopicOptions = {},
    private readonly onClose: () => void = () => {},
  ) {
    this.channels = videoChannels(name);
    this.name = name;
  }

  /** Counters of the publishing side; all zero until something is published. */
  get publisherStats(): VideoPublisherStats {
    return this.publisher?.stats ?? { packets: 0, keyPackets: 0, bytes: 0, keyframeRequests: 0, forcedKeyframes: 0, gopReplies: 0, dropped: 0 };
  }

  /** The GOP a late joiner would get now (key packet first); empty before the first key packet. */
  cachedGop(): readonly VideoPacket[] {
    return this.publisher?.cachedGop() ?? [];
  }

  /**
   * Encodes `frame` and publishes its packet(s). Frames are encoded in call order.
   * @returns the packets published (normally one).
   * @throws InvalidArgumentError for something other than a Frame, or a topic name too long
   *   for the transport's late-join channel (LCM); CodecError when the encoder fails;
   *   TransportError when the topic or bus is closed.
   */
  async publishFrame(frame: Frame): Promise<VideoPacket[]> {
    return this.getPublisher().publishFrame(frame);
  }

  /**
   * Publishes a ready packet. Sequences must increase by one per packet of the stream.
   * @throws InvalidArgumentError for something other than a VideoPacket, or a topic name too
   *   long for the transport's late-join channel (LCM); TransportError when the topic or bus
   *   is closed.
   */
  async publishPacket(packet: VideoPacket): Promise<void> {
    return this.getPublisher().publishPacket(packet);
  }

  /**
   * Receives packets as published, starting at a key packet, each decodable from the ones
   * before it. The handler is called one packet at a time; when it falls behind the queue
   * drops the rest of a GOP and resumes at the next key packet (counted in `stats.dropped`).
   */
  subscribePackets(handler: PacketHandler, options: VideoSubscribeOptions = {}): VideoSubscription {
    return this.subscribe({ kind: 'packets', handler }, options);
  }

  /**
   * Receives decoded frames. The decoder opens on the first key packet; after a gap or a
   * corrupt packet nothing is shown until the next key packet, which is requested at once.
   */
  subscribeFrames(handler: FrameHandler, options: FrameSubscribeOptions = {}): VideoSubscription {
    return this.subscribe({ kind: 'frames', handler, options }, options);
  }

  /** Ends every subscription made here and the publishing side (freeing the encoder). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.unsubscribe()));
    await this.publisher?.close();
    this.onClose();
  }

  private getPublisher(): VideoPublisher {
    this.ensureOpen();
    // Only the publisher sends on `<name>/gop/<id>`; subscribers of a long name just lose late join.
    if (!this.publisher) {
      checkVideoTopicFits(this.name, this.bus.maxChannelBytes, this.bus.url);
      this.publisher = new VideoPublisher(this.bus, this.channels, this.options);
    }
    return this.publisher;
  }

  private subscribe(sink: SubscriberSink, options: VideoSubscribeOptions): VideoSubscription {
    this.ensureOpen();
    const subscription: VideoSubscription = new VideoSubscriber(this.bus, this.channels, sink, { log: this.options.log, ...options }, () =>
      this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  private ensureOpen(): void {
    if (this.closed) throw new TransportError(`The video topic ${this.name} is closed.`);
  }
}
