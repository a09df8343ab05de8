import { TransportError } from '../core/errors.js';
import { FRAMEBUS_MESSAGE_TYPES } from '../wire/messages.js';
import { peekFingerprint, type MessageType } from '../wire/message-type.js';
import type { Bus } from './bus.js';
import { exactPattern } from './channel-pattern.js';
import { RateLimitedLog, type LogSink } from './rate-limited-log.js';
import { checkTopic, type BusStats, type MessageHandler, type RawHandler, type Subscription, type Topic } from './topic.js';
import type { ByteTransport, ReceivedInfo } from './transport.js';
import { VideoTopic, type VideoTopicOptions } from './video-topic.js';

interface TypedSub {
  readonly type: MessageType<unknown>;
  readonly handler: MessageHandler<unknown>;
}

/** One transport subscription per channel, fanned out to subscribers by type fingerprint. */
interface Channel {
  readonly stop: () => void;
  readonly byType: Map<bigint, Set<TypedSub>>;
}

function hex(fingerprint: bigint): string {
  return `0x${fingerprint.toString(16).padStart(16, '0')}`;
}

/**
 * A `Bus` over a `ByteTransport` (LCM, NATS, or any other). Each message is its type's
 * encoding: an 8-byte fingerprint, then the fields. A received message is decoded once per
 * type and handed to that type's subscribers; garbage and messages of a type nobody here
 * asked for are dropped, counted and reported in a rate-limited log line.
 */
export class TransportBus implements Bus {
  readonly stats: BusStats = { published: 0, delivered: 0, malformed: 0, otherType: 0, handlerErrors: 0 };
  private readonly log: RateLimitedLog;
  private readonly channels = new Map<string, Channel>();
  private readonly rawStops = new Set<() => void>();
  private readonly videos = new Set<VideoTopic>();
  private readonly known = new Map<bigint, string>(FRAMEBUS_MESSAGE_TYPES.map((t) => [t.fingerprint, t.name]));
  private closed = false;

  /**
   * @param transport carries the bytes; this bus closes it on `close()`.
   * @param log receives rate-limited lines about dropped messages and failing handlers.
   */
  constructor(
    /** The transport underneath, e.g. for its counters. */
    readonly transport: ByteTransport,
    private readonly sink?: LogSink,
  ) {
    this.log = new RateLimitedLog(sink);
  }

  get url(): string {
    return this.transport.url;
  }

  topic<T>(name: string, type: MessageType<T>): Topic<T> {
    checkTopic(name, type);
    this.known.set(type.fingerprint, type.name);
    return {
      name,
      type,
      publish: (value) => this.publish(name, type, value),
      subscribe: (handler) => this.subscribe(name, type as MessageType<unknown>, handler as MessageHandler<unknown>),
    };
  }

  subscribeRaw(pattern: string, handler: RawHandler): Subscription {
    this.ensureOpen();
    const stop = this.transport.subscribe(pattern, (payload, info) => {
      const fingerprint = peekFingerprint(payload);
      try {
        handler({
          topic: info.channel,
          fingerprint,
          typeName: fingerprint === undefined ? undefined : this.known.get(fingerprint),
          receivedAt: info.receivedAt,
          payload: () => payload,
        });
      } catch (error) {
        this.handlerFailed(info.channel, error as Error);
      }
    });
    this.rawStops.add(stop);
    return {
      unsubscribe: () => {
        if (this.rawStops.delete(stop)) stop();
      },
    };
  }

  video(name: string, options?: VideoTopicOptions): VideoTopic {
    this.ensureOpen();
    const topic = new VideoTopic(this, name, { log: this.sink, ...options }, () => this.videos.delete(topic));
    this.videos.add(topic);
    return topic;
  }

  async flush(): Promise<void> {
    this.ensureOpen();
    await this.transport.flush?.();
  }

  typeName(fingerprint: bigint): string | undefined {
    return this.known.get(fingerprint);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.videos].map((v) => v.close()));
    this.closed = true;
    for (const c of this.channels.values()) c.stop();
    this.channels.clear();
    for (const stop of this.rawStops) stop();
    this.rawStops.clear();
    await this.transport.close();
  }

  private ensureOpen(): void {
    if (this.closed) throw new TransportError(`The bus ${this.url} is closed.`);
  }

  private async publish<T>(name: string, type: MessageType<T>, value: T): Promise<void> {
    this.ensureOpen();
    const bytes = type.encode(value);
    this.stats.published++;
    await this.transport.publish(name, bytes);
  }

  private subscribe(name: string, type: MessageType<unknown>, handler: MessageHandler<unknown>): Subscription {
    this.ensureOpen();
    let channel = this.channels.get(name);
    if (!channel) {
      const byType = new Map<bigint, Set<TypedSub>>();
      const stop = this.transport.subscribe(exactPattern(name), (payload, info) => this.receive(byType, payload, info));
      channel = { stop, byType };
      this.channels.set(name, channel);
    }
    let subs = channel.byType.get(type.fingerprint);
    if (!subs) {
      subs = new Set();
      channel.byType.set(type.fingerprint, subs);
    }
    const sub: TypedSub = { type, handler };
    subs.add(sub);
    return {
      unsubscribe: () => {
        const c = this.channels.get(name);
        const set = c?.byType.get(type.fingerprint);
        if (!c || !set?.delete(sub)) return;
        if (set.size === 0) c.byType.delete(type.fingerprint);
        if (c.byType.size === 0) {
          c.stop();
          this.channels.delete(name);
        }
      },
    };
  }

  private receive(byType: Map<bigint, Set<TypedSub>>, payload: Uint8Array, info: ReceivedInfo): void {
    const fingerprint = peekFingerprint(payload);
    if (fingerprint === undefined) {
      this.stats.malformed++;
      this.log.log(`malformed:${info.channel}`, `Dropped a ${payload.byteLength}-byte message on ${info.channel}: too short to carry a type fingerprint.`);
      return;
    }
    const subs = byType.get(fingerprint);
    if (!subs) {
      this.stats.otherType++;
      const name = this.known.get(fingerprint);
      this.log.log(
        `other:${info.channel}`,
        `Ignored a message on ${info.channel} of type ${name ?? 'unknown'} (fingerprint ${hex(fingerprint)}): no subscriber here takes that type.`,
      );
      return;
    }
    const decoded = new Map<MessageType<unknown>, unknown>();
    for (const sub of [...subs]) {
      if (!decoded.has(sub.type)) {
        try {
          decoded.set(sub.type, sub.type.decode(payload));
        } catch (error) {
          this.stats.malformed++;
          this.log.log(`malformed:${info.channel}`, `Dropped a message on ${info.channel} that does not decode as ${sub.type.name}: ${(error as Error).message}`);
          return;
        }
      }
      this.stats.delivered++;
      try {
        sub.handler(decoded.get(sub.type), { topic: info.channel, receivedAt: info.receivedAt });
      } catch (error) {
        this.handlerFailed(info.channel, error as Error);
      }
    }
  }

  private handlerFailed(topic: string, error: Error): void {
    this.stats.handlerErrors++;
    this.log.log(`handler:${topic}`, `A subscriber of ${topic} on ${this.url} threw: ${error.message}`);
  }
}
