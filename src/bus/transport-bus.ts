import { FRAMEBUS_MESSAGE_TYPES } from '../wire/messages.js';
import { peekFingerprint, type MessageType } from '../wire/message-type.js';
import { BusBase } from './bus-base.js';
import { exactPattern } from './channel-pattern.js';
import type { LogSink } from '../core/log.js';
import type { MessageHandler, RawHandler, Subscription } from './topic.js';
import type { ByteTransport, ReceivedInfo } from './transport.js';

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
export class TransportBus extends BusBase {
  private readonly channels = new Map<string, Channel>();
  private readonly rawStops = new Set<() => void>();
  private readonly stopLinkWatch: (() => void) | undefined;

  /**
   * @param transport carries the bytes; this bus closes it on `close()`.
   * @param log receives rate-limited lines about dropped messages and failing handlers.
   * @param types message types to name in raw messages and logs, besides framebus's own.
   */
  constructor(
    /** The transport underneath, e.g. for its counters. */
    readonly transport: ByteTransport,
    log?: LogSink,
    types: readonly MessageType<unknown>[] = [],
  ) {
    super(log, [...types, ...FRAMEBUS_MESSAGE_TYPES]);
    this.stopLinkWatch = transport.onLinkChange?.((up) => {
      if (up) this.stats.reconnects++;
    });
  }

  override get linkUp(): boolean {
    return this.transport.linkUp ?? true;
  }

  get url(): string {
    return this.transport.url;
  }

  override get maxChannelBytes(): number | undefined {
    return this.transport.maxChannelBytes;
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

  async flush(): Promise<void> {
    this.ensureOpen();
    await this.transport.flush?.();
  }

  protected async closeTransport(): Promise<void> {
    this.stopLinkWatch?.();
    for (const c of this.channels.values()) c.stop();
    this.channels.clear();
    for (const stop of this.rawStops) stop();
    this.rawStops.clear();
    await this.transport.close();
  }

  protected async publish(name: string, type: MessageType<unknown>, value: unknown): Promise<void> {
    this.ensureOpen();
    const bytes = type.encode(value);
    this.stats.published++;
    await this.transport.publish(name, bytes);
  }

  protected subscribe(name: string, type: MessageType<unknown>, handler: MessageHandler<unknown>): Subscription {
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
}
