import { InvalidArgumentError } from '../core/errors.js';
import type { MessageType } from '../wire/message-type.js';

/** Where and when a message was delivered. */
export interface MessageInfo {
  /** The topic (channel) it arrived on. */
  readonly topic: string;
  /** Arrival time, ns since the Unix epoch. */
  readonly receivedAt: bigint;
}

/** A live subscription. */
export interface Subscription {
  /** Stops delivery to this subscription. Idempotent. */
  unsubscribe(): void;
}

/** Receives one message. Its value is shared with other subscribers: read it, do not modify it. */
export type MessageHandler<T> = (value: T, info: MessageInfo) => void;

/**
 * A named channel carrying messages of one type. Other types may share the channel; a
 * subscriber receives only messages whose fingerprint is its type's.
 */
export interface Topic<T> {
  readonly name: string;
  readonly type: MessageType<T>;
  /**
   * Sends `value` to every subscriber of this topic and type. On `memory:` the object itself
   * is delivered (no copy, no encoding); elsewhere it is encoded once.
   * @throws TransportError when the bus is closed or the transport fails.
   */
  publish(value: T): Promise<void>;
  /** Calls `handler` for every message of this topic and type, in arrival order. */
  subscribe(handler: MessageHandler<T>): Subscription;
}

/**
 * The part of a bus that typed topics need: what a video topic, its publisher and its
 * subscribers use of the bus they run on. Every `Bus` is one; the video classes take this
 * rather than the whole `Bus`, so they depend on nothing that opens buses.
 */
export interface TopicProvider {
  /** The URL this bus was opened with, normalised (e.g. `lcm://239.255.76.67:7667?ttl=0`). */
  readonly url: string;
  /** Longest channel name the transport carries, bytes (LCM: 63); undefined for no limit. */
  readonly maxChannelBytes: number | undefined;
  /** False while the transport has lost its server (NATS, until it reconnects); true otherwise. */
  readonly linkUp: boolean;
  /** The bus's counters; video publishers and subscribers add their outage and resume counts. */
  readonly stats: BusStats;
  /**
   * A typed topic: publish and subscribe messages of `type` on channel `name`.
   * @throws InvalidArgumentError for an empty name or a value that is not a `MessageType`.
   */
  topic<T>(name: string, type: MessageType<T>): Topic<T>;
  /**
   * Resolves once everything published before has left and every subscription made so far
   * has taken effect (NATS: the server knows it; LCM: the socket listens), so messages other
   * processes publish from now on reach them. Immediate on memory.
   */
  flush(): Promise<void>;
}

/** A message seen by a pattern subscription, before (or without) decoding. */
export interface RawMessage {
  readonly topic: string;
  /** The 8-byte type fingerprint leading the encoding; `undefined` for a payload shorter than that. */
  readonly fingerprint: bigint | undefined;
  /** The type's name when this bus knows the fingerprint. */
  readonly typeName: string | undefined;
  /** Arrival time, ns since the Unix epoch. */
  readonly receivedAt: bigint;
  /** The encoded message. On `memory:` it is encoded on first call (memory buses carry objects). */
  payload(): Uint8Array;
}

/** Receives one raw message. */
export type RawHandler = (message: RawMessage) => void;

/** Counters of a bus, cumulative. Bad input is dropped and counted, never thrown. */
export interface BusStats {
  /** Messages published through this bus. */
  published: number;
  /** Messages handed to subscribers of a topic (one count per message and type). */
  delivered: number;
  /** Messages that failed to decode (garbage, truncated, invalid field values). */
  malformed: number;
  /** Messages on a subscribed topic whose type no subscriber here asked for. */
  otherType: number;
  /** Exceptions thrown by subscriber handlers (caught and logged). */
  handlerErrors: number;
  /** Times the transport lost its server and reconnected (NATS: to any member of the cluster). */
  reconnects: number;
  /**
   * Video packets this bus's publishers did not send because the link was down, and the
   * deltas after it until the next key packet (bounded outage instead of a growing buffer).
   */
  droppedFrames: number;
  /** Times a video subscription of this bus resumed at a key packet after a gap, a drop or an outage. */
  resumed: number;
}

/**
 * Checks a topic name and message type given to `Bus.topic`.
 * @throws InvalidArgumentError saying what is expected.
 */
export function checkTopic(name: string, type: MessageType<unknown>): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError('A topic name must be a non-empty string, e.g. "camera/front".');
  }
  if (typeof type?.encode !== 'function' || typeof type.decode !== 'function' || typeof type.fingerprint !== 'bigint') {
    throw new InvalidArgumentError(`Topic ${name} needs a MessageType (name, fingerprint, encode, decode), e.g. one from src/wire/messages.ts.`);
  }
}
