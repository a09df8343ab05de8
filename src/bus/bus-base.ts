import { TransportError } from '../core/errors.js';
import type { MessageType } from '../wire/message-type.js';
import { RateLimitedLog } from './rate-limited-log.js';
import { type LogSink } from '../core/log.js';
import { checkTopic, type BusStats, type MessageHandler, type RawHandler, type Subscription, type Topic, type TopicProvider } from './topic.js';
import { VideoTopic, type VideoTopicOptions } from './video/video-topic.js';

/**
 * What every `Bus` shares whatever carries its messages: typed topic handles, video topics,
 * the type names it knows, counters, the rate-limited log and closing. A subclass moves the
 * messages (`publish`, `subscribe`, `subscribeRaw`, `flush`) and closes its transport.
 * A subclass is a `Bus` by its shape: `Bus.open` returns it as one.
 */
export abstract class BusBase implements TopicProvider {
  abstract readonly url: string;

  get maxChannelBytes(): number | undefined {
    return undefined;
  }

  get linkUp(): boolean {
    return true;
  }

  readonly stats: BusStats = { published: 0, delivered: 0, malformed: 0, otherType: 0, handlerErrors: 0, reconnects: 0, droppedFrames: 0, resumed: 0 };
  protected readonly log: RateLimitedLog;
  /** Type names by fingerprint: the types this bus was given or has used. */
  protected readonly known: Map<bigint, string>;
  private readonly videos = new Set<VideoTopic>();
  private closed = false;

  /**
   * @param sink receives rate-limited lines about dropped messages and failing handlers.
   * @param types message types known from the start, for naming what arrives.
   */
  constructor(
    private readonly sink: LogSink | undefined,
    types: readonly MessageType<unknown>[] = [],
  ) {
    this.log = new RateLimitedLog(sink);
    this.known = new Map(types.map((t) => [t.fingerprint, t.name]));
  }

  topic<T>(name: string, type: MessageType<T>): Topic<T> {
    checkTopic(name, type);
    this.known.set(type.fingerprint, type.name);
    return {
      name,
      type,
      publish: async (value) => this.publish(name, type as MessageType<unknown>, value),
      subscribe: (handler) => this.subscribe(name, type as MessageType<unknown>, handler as MessageHandler<unknown>),
    };
  }

  abstract subscribeRaw(pattern: string, handler: RawHandler): Subscription;

  video(name: string, options?: VideoTopicOptions): VideoTopic {
    this.ensureOpen();
    const topic = new VideoTopic(this, name, { log: this.sink, ...options }, () => this.videos.delete(topic));
    this.videos.add(topic);
    return topic;
  }

  abstract flush(): Promise<void>;

  typeName(fingerprint: bigint): string | undefined {
    return this.known.get(fingerprint);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.videos].map((v) => v.close()));
    this.closed = true;
    await this.closeTransport();
  }

  /** Sends one message of `type` on `topic`. */
  protected abstract publish(topic: string, type: MessageType<unknown>, value: unknown): void | Promise<void>;

  /** Starts delivering the messages of `type` on `topic` to `handler`. */
  protected abstract subscribe(topic: string, type: MessageType<unknown>, handler: MessageHandler<unknown>): Subscription;

  /** Stops every subscription and releases the transport; called once, after the video topics closed. */
  protected abstract closeTransport(): void | Promise<void>;

  /** @throws TransportError once the bus is closed. */
  protected ensureOpen(): void {
    if (this.closed) throw new TransportError(`The bus ${this.url} is closed.`);
  }

  /** Counts and logs (rate-limited) a subscriber that threw. */
  protected handlerFailed(topic: string, error: Error): void {
    this.stats.handlerErrors++;
    this.log.log(`handler:${topic}`, `A subscriber of ${topic} on ${this.url} threw: ${error.message}`);
  }
}
