import { nowNs } from '../core/time.js';
import type { MessageType } from '../wire/message-type.js';
import { BusBase } from './bus-base.js';
import { compilePattern } from './channel-pattern.js';
import type { LogSink } from '../core/log.js';
import type { MessageHandler, MessageInfo, RawHandler, RawMessage, Subscription } from './topic.js';

interface TypedSub {
  readonly type: MessageType<unknown>;
  readonly handler: MessageHandler<unknown>;
  readonly bus: MemoryBus;
}

interface RawSub {
  readonly matches: (topic: string) => boolean;
  readonly handler: RawHandler;
  readonly bus: MemoryBus;
}

/** The shared state of every `MemoryBus` of one name in this process. */
class MemoryHub {
  readonly topics = new Map<string, Set<TypedSub>>();
  readonly raw = new Set<RawSub>();
  users = 0;
}

const hubs = new Map<string, MemoryHub>();

/**
 * The in-process bus (`memory:`). Publishing calls subscribers synchronously with the
 * published object itself: no encoding and no copy. A subscriber whose `MessageType` object
 * differs from the publisher's but has the same fingerprint gets the value re-decoded into
 * its own type. Every `MemoryBus` with the same name shares one set of topics.
 */
export class MemoryBus extends BusBase {
  readonly url: string;
  private readonly hub: MemoryHub;
  private readonly mine = new Set<{ remove(): void }>();

  /**
   * @param name buses of the same name share topics; `''` is the default bus.
   * @param log receives rate-limited lines about failing handlers.
   * @param types message types whose names `typeName` reports before they are used on a topic here.
   */
  constructor(
    private readonly name: string,
    log?: LogSink,
    types: readonly MessageType<unknown>[] = [],
  ) {
    super(log, types);
    this.url = `memory:${name}`;
    let hub = hubs.get(name);
    if (!hub) {
      hub = new MemoryHub();
      hubs.set(name, hub);
    }
    hub.users++;
    this.hub = hub;
  }

  subscribeRaw(pattern: string, handler: RawHandler): Subscription {
    this.ensureOpen();
    const sub: RawSub = { matches: compilePattern(pattern), handler, bus: this };
    this.hub.raw.add(sub);
    return this.track(() => this.hub.raw.delete(sub));
  }

  async flush(): Promise<void> {
    this.ensureOpen();
  }

  protected closeTransport(): void {
    for (const s of [...this.mine]) s.remove();
    if (--this.hub.users === 0 && hubs.get(this.name) === this.hub) hubs.delete(this.name);
  }

  private track(remove: () => void): Subscription {
    const entry = {
      remove: () => {
        this.mine.delete(entry);
        remove();
      },
    };
    this.mine.add(entry);
    return { unsubscribe: () => entry.remove() };
  }

  protected subscribe(topic: string, type: MessageType<unknown>, handler: MessageHandler<unknown>): Subscription {
    this.ensureOpen();
    const sub: TypedSub = { type, handler, bus: this };
    let subs = this.hub.topics.get(topic);
    if (!subs) {
      subs = new Set();
      this.hub.topics.set(topic, subs);
    }
    subs.add(sub);
    return this.track(() => {
      const set = this.hub.topics.get(topic);
      if (!set) return;
      set.delete(sub);
      if (set.size === 0) this.hub.topics.delete(topic);
    });
  }

  protected publish(topic: string, type: MessageType<unknown>, value: unknown): void {
    this.ensureOpen();
    this.stats.published++;
    const info: MessageInfo = { topic, receivedAt: nowNs() };
    const subs = [...(this.hub.topics.get(topic) ?? [])];
    const matched = new Set<MemoryBus>();
    let encoded: Uint8Array | undefined;
    const payload = () => (encoded ??= type.encode(value));
    for (const sub of subs) {
      if (sub.type.fingerprint !== type.fingerprint) continue;
      matched.add(sub.bus);
      let delivered = value;
      if (sub.type !== type) {
        try {
          delivered = sub.type.decode(payload());
        } catch (error) {
          sub.bus.dropMalformed(topic, error as Error);
          continue;
        }
      }
      sub.bus.deliver(sub.handler, delivered, info);
    }
    for (const sub of subs) {
      if (!matched.has(sub.bus)) {
        matched.add(sub.bus);
        sub.bus.stats.otherType++;
      }
    }
    if (this.hub.raw.size === 0) return;
    const raw: RawMessage = { topic, fingerprint: type.fingerprint, typeName: type.name, receivedAt: info.receivedAt, payload };
    for (const sub of [...this.hub.raw]) {
      if (sub.matches(topic)) sub.bus.deliverRaw(sub.handler, raw);
    }
  }

  private deliver(handler: MessageHandler<unknown>, value: unknown, info: MessageInfo): void {
    this.stats.delivered++;
    try {
      handler(value, info);
    } catch (error) {
      this.handlerFailed(info.topic, error as Error);
    }
  }

  private deliverRaw(handler: RawHandler, message: RawMessage): void {
    try {
      handler(message);
    } catch (error) {
      this.handlerFailed(message.topic, error as Error);
    }
  }

  private dropMalformed(topic: string, error: Error): void {
    this.stats.malformed++;
    this.log.log(`malformed:${topic}`, `Dropped a message on ${topic} that does not convert to this subscriber's type: ${error.message}`);
  }
}
