import { lcmValueToJson } from '../wire/lcm-json.js';
import type { LcmMessageType } from '../wire/lcm-struct-codec.js';
import type { Bus } from './bus.js';
import { exactPattern } from './channel-pattern.js';
import type { Subscription } from './topic.js';

/** One message of an echoed topic, in JSON form. */
export interface EchoedMessage {
  readonly topic: string;
  /** `package.name` of the type its fingerprint names, or `null` when no loaded type has it. */
  readonly type: string | null;
  /** The fingerprint as 16 hex digits, `null` for a message shorter than 8 bytes. */
  readonly fingerprint: string | null;
  /** Encoded size, bytes. */
  readonly size: number;
  /** Arrival time, ns since the Unix epoch, as a decimal string. */
  readonly received_ns: string;
  /** The decoded message in the JSON form of lcm-json.ts (bigints as decimal strings, bytes as base64). */
  readonly value?: unknown;
  /** Why a message of a known type did not decode. */
  readonly error?: string;
}

/**
 * Calls `onMessage` with every message on `topic` (exact name), decoded by the type among
 * `types` whose fingerprint it carries; a message of no loaded type comes with its type
 * `null`, fingerprint and size, and one that does not decode with an `error`.
 */
export function echoTopic(
  bus: Bus,
  topic: string,
  types: readonly LcmMessageType<unknown>[],
  onMessage: (message: EchoedMessage) => void,
): Subscription {
  const byFingerprint = new Map<bigint, LcmMessageType<unknown>>();
  for (const t of types) if (!byFingerprint.has(t.fingerprint)) byFingerprint.set(t.fingerprint, t);
  return bus.subscribeRaw(exactPattern(topic), (raw) => {
    const payload = raw.payload();
    const type = raw.fingerprint === undefined ? undefined : byFingerprint.get(raw.fingerprint);
    const base = {
      topic: raw.topic,
      type: type?.name ?? null,
      fingerprint: raw.fingerprint === undefined ? null : raw.fingerprint.toString(16).padStart(16, '0'),
      size: payload.byteLength,
      received_ns: raw.receivedAt.toString(),
    };
    if (!type) return onMessage(base);
    let value: unknown;
    try {
      value = type.decode(payload);
    } catch (error) {
      return onMessage({ ...base, error: (error as Error).message });
    }
    onMessage({ ...base, value: lcmValueToJson(value) });
  });
}

/**
 * One line of `framebus echo`: with `json`, the whole {@link EchoedMessage} as JSON; without,
 * `<type> <value as JSON>` (or `unknown type <fingerprint>, <size> bytes`).
 */
export function formatEchoed(message: EchoedMessage, json: boolean): string {
  if (json) return JSON.stringify(message);
  if (message.type === null) {
    return `unknown type ${message.fingerprint === null ? '(no fingerprint)' : `0x${message.fingerprint}`}, ${message.size} bytes`;
  }
  if (message.error !== undefined) return `${message.type} (${message.size} bytes) does not decode: ${message.error}`;
  return `${message.type} ${JSON.stringify(message.value)}`;
}
