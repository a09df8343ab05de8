import { InvalidArgumentError } from '../core/errors.js';
import type { MessageType } from '../wire/message-type.js';
import { FRAMEBUS_MESSAGE_TYPES } from '../wire/messages.js';
import type { Bus } from './bus.js';
import type { RawMessage, Subscription } from './topic.js';

/** Traffic of one message type on one topic. */
export interface TopicRate {
  readonly topic: string;
  /** The type's name when known, else `undefined` (show the fingerprint). */
  readonly typeName: string | undefined;
  /** The type fingerprint leading the messages; `undefined` for payloads shorter than 8 bytes. */
  readonly fingerprint: bigint | undefined;
  /** Messages seen since watching began. */
  readonly messages: number;
  /** Encoded bytes seen since watching began. */
  readonly bytes: number;
  /** Messages per second over the last window. */
  readonly messagesPerSecond: number;
  /** Encoded bytes per second over the last window. */
  readonly bytesPerSecond: number;
  /** When the last message arrived, ns since the Unix epoch. */
  readonly lastSeen: bigint;
  /**
   * How far behind its own clock the last message arrived, ms: arrival minus the message's
   * `timestamp_ns` (capture time for video). For framebus's message types; `undefined` for others.
   */
  readonly lagMs: number | undefined;
}

/** framebus's message types, all of which carry a `timestamp_ns`, by fingerprint. */
const TIMESTAMPED = new Map(FRAMEBUS_MESSAGE_TYPES.map((t) => [t.fingerprint, t]));

/** The `timestamp_ns` of a framebus message, or undefined for other types and undecodable bytes. */
function timestampOf(fingerprint: bigint | undefined, payload: Uint8Array): bigint | undefined {
  const type = fingerprint === undefined ? undefined : TIMESTAMPED.get(fingerprint);
  if (!type) return undefined;
  try {
    const t = (type.decode(payload) as { timestamp_ns?: unknown }).timestamp_ns;
    return typeof t === 'bigint' ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Options of `watchTopics`. */
export interface WatchTopicsOptions {
  /** Channels to watch, a regular expression over whole names. Default `'.*'`. */
  pattern?: string;
  /** Seconds the rates average over. Default 2. */
  windowSeconds?: number;
  /** Extra message types to name by fingerprint, besides framebus's own and the bus's. */
  types?: readonly MessageType<unknown>[];
}

/** A running watch; read it with `snapshot()`, end it with `close()`. */
export interface TopicWatcher {
  /** Every topic and type seen so far (the first 4096), sorted by topic then type name. */
  snapshot(): TopicRate[];
  /** Stops watching. Idempotent. */
  close(): void;
}

const BUCKET_MS = 100;
/** Topic and type pairs tracked at most; channel names can come from anyone on the network. */
const MAX_ENTRIES = 4096;

interface Entry {
  topic: string;
  typeName: string | undefined;
  fingerprint: bigint | undefined;
  messages: number;
  bytes: number;
  lastSeen: bigint;
  lagMs: number | undefined;
  /** Per-bucket message and byte counts of the window, indexed by bucket number modulo length. */
  bucketMessages: Float64Array;
  bucketBytes: Float64Array;
  /** The bucket number each slot currently holds. */
  bucketIds: Float64Array;
}

/**
 * Watches every topic on a bus (a `'.*'` pattern subscription, no decoding) and keeps, per
 * topic and message type, totals, rates over a sliding window and lag — what `framebus topics`
 * prints. Types are named by fingerprint from framebus's messages, the types the bus has
 * used, and `options.types`.
 * @throws InvalidArgumentError for a bad pattern or window.
 */
export function watchTopics(bus: Bus, options: WatchTopicsOptions = {}): TopicWatcher {
  const windowSeconds = options.windowSeconds ?? 2;
  if (!(Number.isFinite(windowSeconds) && windowSeconds >= 0.1 && windowSeconds <= 3600)) {
    throw new InvalidArgumentError(`windowSeconds must be from 0.1 to 3600, got ${String(windowSeconds)}.`);
  }
  const slots = Math.round((windowSeconds * 1000) / BUCKET_MS);
  const names = new Map((options.types ?? []).map((t) => [t.fingerprint, t.name]));
  const entries = new Map<string, Entry>();
  const started = performance.now();

  const onMessage = (m: RawMessage) => {
    const key = `${m.topic}\n${m.fingerprint ?? ''}`;
    let e = entries.get(key);
    if (!e) {
      if (entries.size >= MAX_ENTRIES) return;
      const typeName = m.typeName ?? (m.fingerprint === undefined ? undefined : (names.get(m.fingerprint) ?? bus.typeName(m.fingerprint)));
      e = {
        topic: m.topic,
        typeName,
        fingerprint: m.fingerprint,
        messages: 0,
        bytes: 0,
        lastSeen: 0n,
        lagMs: undefined,
        bucketMessages: new Float64Array(slots),
        bucketBytes: new Float64Array(slots),
        bucketIds: new Float64Array(slots).fill(-1),
      };
      entries.set(key, e);
    }
    const payload = m.payload();
    const size = payload.byteLength;
    const timestamp = timestampOf(m.fingerprint, payload);
    if (timestamp !== undefined && timestamp > 0n) e.lagMs = Number(m.receivedAt - timestamp) / 1e6;
    const id = Math.floor(performance.now() / BUCKET_MS);
    const slot = id % slots;
    if (e.bucketIds[slot] !== id) {
      e.bucketIds[slot] = id;
      e.bucketMessages[slot] = 0;
      e.bucketBytes[slot] = 0;
    }
    e.bucketMessages[slot]++;
    e.bucketBytes[slot] += size;
    e.messages++;
    e.bytes += size;
    e.lastSeen = m.receivedAt;
  };
  const subscription: Subscription = bus.subscribeRaw(options.pattern ?? '.*', onMessage);

  return {
    snapshot() {
      const now = performance.now();
      const current = Math.floor(now / BUCKET_MS);
      // Before a whole window has passed, average over the time actually watched.
      const seconds = Math.max(BUCKET_MS / 1000, Math.min(windowSeconds, (now - started) / 1000));
      return [...entries.values()]
        .map((e): TopicRate => {
          let messages = 0;
          let bytes = 0;
          for (let i = 0; i < slots; i++) {
            if (current - e.bucketIds[i] < slots) {
              messages += e.bucketMessages[i];
              bytes += e.bucketBytes[i];
            }
          }
          return {
            topic: e.topic,
            typeName: e.typeName,
            fingerprint: e.fingerprint,
            messages: e.messages,
            bytes: e.bytes,
            messagesPerSecond: messages / seconds,
            bytesPerSecond: bytes / seconds,
            lastSeen: e.lastSeen,
            lagMs: e.lagMs,
          };
        })
        .sort((a, b) => (a.topic === b.topic ? (a.typeName ?? '').localeCompare(b.typeName ?? '') : a.topic < b.topic ? -1 : 1));
    },
    close() {
      subscription.unsubscribe();
    },
  };
}
