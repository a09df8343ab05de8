import { parseBusUrl } from './bus-url.js';
import { LcmTransport, type LcmTransportOptions } from './lcm/lcm-transport.js';
import { MemoryBus } from './memory-bus.js';
import { NatsTransport, type NatsTransportOptions } from './nats/nats-transport.js';
import type { LogSink } from '../core/log.js';
import type { MessageType } from '../wire/message-type.js';
import type { BusStats, RawHandler, Subscription, TopicProvider } from './topic.js';
import { TransportBus } from './transport-bus.js';
import type { ByteTransport } from './transport.js';
import type { VideoTopic, VideoTopicOptions } from './video/video-topic.js';

/** Options of `Bus.open`. */
export interface BusOptions {
  /** Receives rate-limited lines about dropped input and failing handlers. Default: stderr. */
  log?: LogSink;
  /** Options of the NATS transport, for `nats://` URLs. */
  nats?: Omit<NatsTransportOptions, 'log'>;
  /** Options of the LCM transport, for `lcm://` URLs. */
  lcm?: Omit<LcmTransportOptions, 'log'>;
  /**
   * Message types (e.g. from `loadLcmTypes`) whose names pattern subscriptions, `typeName`
   * and logs report; framebus's own types are always known.
   */
  types?: readonly MessageType<unknown>[];
}

/**
 * A message bus: typed topics (one `MessageType` per subscription; several types may share a
 * topic), video topics with late join and keyframe requests, and pattern subscriptions for
 * tools. Open one with `Bus.open(url)`. Its `url`, `maxChannelBytes`, `topic(name, type)`
 * and `flush()` are those of a `TopicProvider`.
 */
export interface Bus extends TopicProvider {
  /** Counters of messages sent, delivered and dropped. */
  readonly stats: BusStats;
  /**
   * Calls `handler` for every message on every channel whose whole name matches `pattern`
   * (a regular expression: `'.*'` for all), whatever its type, without decoding it.
   * @throws InvalidArgumentError for a pattern that is not a regular expression.
   */
  subscribeRaw(pattern: string, handler: RawHandler): Subscription;
  /**
   * A video topic: frames encoded once (or ready packets) published on channel `name`, with a
   * keyframe cache for late joiners and keyframe requests on `<name>/ctl`.
   */
  video(name: string, options?: VideoTopicOptions): VideoTopic;
  /** The name of a message type this bus has seen or knows, by fingerprint. */
  typeName(fingerprint: bigint): string | undefined;
  /** Stops every subscription and video topic of this bus and closes its transport. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens a bus.
 * - `memory:` (or `memory:<name>`): in this process; subscribers get the published object itself.
 * - `lcm://group:port?ttl=N` (default `lcm://239.255.76.67:7667?ttl=0`): UDP multicast, liblcm compatible.
 * - `nats://[user@]host:port,…` or `tls://…` (options `prefix`, `token`, `creds`, `nkey`, `ca`, `cert`, `key`): a NATS server or cluster.
 * @throws InvalidArgumentError for a bad URL, saying what a good one looks like;
 *   TransportError when the transport cannot start or connect.
 */
async function open(url: string, options: BusOptions = {}): Promise<Bus> {
  const parsed = parseBusUrl(url);
  switch (parsed.kind) {
    case 'memory':
      return new MemoryBus(parsed.name, options.log, options.types);
    case 'lcm':
      return new TransportBus(await LcmTransport.open(parsed.url, { ...options.lcm, log: options.log }), options.log, options.types);
    case 'nats':
      // The URL as given: the parsed one has its secrets masked.
      return new TransportBus(await NatsTransport.connect(url, { ...options.nats, log: options.log }), options.log, options.types);
  }
}

/**
 * A bus over any `ByteTransport`, e.g. a custom transport or one wrapped to inject loss. The
 * bus owns the transport and closes it.
 */
function overTransport(transport: ByteTransport, options: Pick<BusOptions, 'log' | 'types'> = {}): Bus {
  return new TransportBus(transport, options.log, options.types);
}

/** Opens buses: `Bus.open(url)`, `Bus.overTransport(transport)`. */
export const Bus = { open, overTransport };
