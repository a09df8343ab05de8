import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '../core/errors.js';
import { lcmValueFromJson } from '../wire/lcm-json-input.js';
import type { LcmMessageType } from '../wire/lcm-struct-codec.js';
import type { TopicProvider } from './topic.js';

/** How {@link publishJson} repeats a message. */
export interface PublishJsonOptions {
  /** Messages per second, > 0 and ≤ 10000. Default 1. */
  rate?: number;
  /** How many times to publish; 0 means until `signal` aborts. Default 1. */
  count?: number;
  /** Stops publishing. */
  signal?: AbortSignal;
  /** Called after each message with the number published so far. */
  onPublished?: (published: number) => void;
}

/**
 * Publishes a message given as JSON (parsed, in the form of lcm-json.ts) on `topic` as `type`,
 * `count` times at `rate` per second. The JSON is checked against the type before anything
 * is sent. Resolves with the number of messages published.
 * @throws InvalidArgumentError naming the first field that does not fit the type, or for a
 *   bad rate or count.
 */
export async function publishJson(
  bus: TopicProvider,
  topic: string,
  type: LcmMessageType<unknown>,
  json: unknown,
  options: PublishJsonOptions = {},
): Promise<number> {
  const rate = options.rate ?? 1;
  const count = options.count ?? 1;
  if (!(Number.isFinite(rate) && rate > 0 && rate <= 10_000)) throw new InvalidArgumentError(`rate must be from 0 (exclusive) to 10000 messages per second, got ${String(options.rate)}.`);
  if (!(Number.isSafeInteger(count) && count >= 0)) throw new InvalidArgumentError(`count must be a whole number ≥ 0 (0: until stopped), got ${String(options.count)}.`);
  const value = lcmValueFromJson(type.struct, json);
  // Encoding once up front reports a value the type cannot carry before the first send.
  type.encode(value);
  const handle = bus.topic(topic, type);
  const start = performance.now();
  let published = 0;
  while ((count === 0 || published < count) && !options.signal?.aborted) {
    await handle.publish(value);
    published++;
    options.onPublished?.(published);
    if (count !== 0 && published >= count) break;
    const wait = start + (published * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal: options.signal }).catch(() => undefined);
  }
  await bus.flush();
  return published;
}
