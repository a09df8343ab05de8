import { randomBytes } from 'node:crypto';
import { connect, headers as natsHeaders, type Msg, type NatsConnection, type Subscription as NatsSubscription } from 'nats';
import { InvalidArgumentError, TransportError } from '../../core/errors.js';
import { nowNs } from '../../core/time.js';
import { parseNatsUrl, type NatsUrl } from '../bus-url.js';
import { compilePattern, literalChannel } from '../channel-pattern.js';
import {
  FragmentReassembler,
  formatFragmentHeader,
  parseFragmentHeader,
  splitIntoFragments,
  type ReassemblerOptions,
} from './fragment-reassembler.js';
import { channelToSubject, escapeChannel, subjectToChannel } from './nats-subject.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { type LogSink } from '../../core/log.js';
import type { ByteTransport, ReceivedInfo, TransportStats } from '../transport.js';

/** The NATS header that marks one fragment of a message larger than the server's max payload. */
export const FRAGMENT_HEADER = 'Framebus-Fragment';

/** Room left in every fragment for the NATS header block. */
const HEADER_ROOM = 256;
/** Published bytes after which `publish` waits for the server, so the client's buffer stays bounded. */
const FLUSH_BYTES = 8 * 2 ** 20;

/** Options of a NATS transport. */
export interface NatsTransportOptions {
  /** Limits on messages being reassembled from fragments. */
  reassembly?: ReassemblerOptions;
  /** Receives rate-limited lines about bad input and connection changes. Default: stderr. */
  log?: LogSink;
  /** Milliseconds to wait for the first connection. Default 5,000. */
  timeoutMs?: number;
}

/**
 * A `ByteTransport` over NATS (the `nats` client; `nats-server` is the engine). Channel `c`
 * travels on subject `<prefix>.<escaped c>`, one token per channel. Payloads larger than the
 * server's `max_payload` are cut into fragments marked with a `Framebus-Fragment` header and
 * reassembled on the other side with bounded memory and a timeout; smaller payloads travel
 * as they are, so any NATS client can read them.
 */
export class NatsTransport implements ByteTransport {
  readonly url: string;
  private readonly sender = randomBytes(6).toString('base64url');
  private readonly reassembler: FragmentReassembler;
  private readonly log: RateLimitedLog;
  private readonly subscriptions = new Set<NatsSubscription>();
  private readonly expiry: NodeJS.Timeout;
  private readonly counters = { sent: 0, received: 0, malformed: 0 };
  private nextMessageId = 0;
  private unflushed = 0;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly target: NatsUrl,
    options: NatsTransportOptions,
  ) {
    this.url = target.url;
    this.reassembler = new FragmentReassembler(options.reassembly);
    this.log = new RateLimitedLog(options.log);
    this.expiry = setInterval(() => this.reassembler.expire(), 500);
    this.expiry.unref();
    void this.watchStatus();
  }

  /**
   * Connects to the NATS server of `url` (`nats://host:port`, optional `?prefix=`).
   * @throws InvalidArgumentError for a bad URL; TransportError when no server answers.
   */
  static async connect(url: string, options: NatsTransportOptions = {}): Promise<NatsTransport> {
    const target = parseNatsUrl(url);
    const timeout = options.timeoutMs ?? 5_000;
    if (!(Number.isFinite(timeout) && timeout > 0)) throw new InvalidArgumentError(`timeoutMs must be a positive number, got ${String(timeout)}.`);
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: `${target.host}:${target.port}`, name: 'framebus', timeout, maxReconnectAttempts: -1 });
    } catch (cause) {
      throw new TransportError(
        `Cannot connect to NATS at ${target.url}: ${(cause as Error).message}. Is nats-server running there (e.g. \`nats-server -a 127.0.0.1 -p ${target.port}\`)?`,
        { cause },
      );
    }
    return new NatsTransport(nc, target, options);
  }

  /** The server's largest message, bytes (`max_payload` of its INFO). */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  get stats(): TransportStats {
    return {
      sent: this.counters.sent,
      received: this.counters.received,
      malformed: this.counters.malformed + this.reassembler.stats.malformed,
      incomplete: this.reassembler.stats.incomplete,
    };
  }

  /** Bytes currently held for messages whose fragments have not all arrived. */
  get pendingReassemblyBytes(): number {
    return this.reassembler.pendingBytes;
  }

  async publish(channel: string, payload: Uint8Array): Promise<void> {
    if (this.closed) throw new TransportError(`The NATS transport to ${this.url} is closed.`);
    if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError('publish() takes the payload as a Uint8Array.');
    const subject = channelToSubject(this.target.prefix, channel);
    const max = this.maxPayload;
    try {
      if (payload.byteLength <= max) {
        this.nc.publish(subject, payload);
      } else {
        if (max <= HEADER_ROOM * 2) throw new TransportError(`The NATS server's max_payload of ${max} bytes is too small to carry fragments.`);
        for (const { header, chunk } of splitIntoFragments(payload, max - HEADER_ROOM, this.sender, this.nextMessageId++)) {
          const h = natsHeaders();
          h.set(FRAGMENT_HEADER, formatFragmentHeader(header));
          this.nc.publish(subject, chunk, { headers: h });
        }
      }
    } catch (cause) {
      if (cause instanceof TransportError) throw cause;
      throw new TransportError(`Cannot publish ${payload.byteLength} bytes on ${channel} to ${this.url}: ${(cause as Error).message}.`, { cause });
    }
    this.counters.sent++;
    this.unflushed += payload.byteLength;
    if (this.unflushed >= FLUSH_BYTES) {
      this.unflushed = 0;
      await this.nc.flush();
    }
  }

  subscribe(pattern: string, handler: (payload: Uint8Array, info: ReceivedInfo) => void): () => void {
    if (this.closed) throw new TransportError(`The NATS transport to ${this.url} is closed.`);
    const matches = compilePattern(pattern);
    const literal = literalChannel(pattern);
    // A literal channel is one exact subject; any other pattern is filtered here from all channels.
    const subject = literal === undefined ? `${this.target.prefix}.*` : `${this.target.prefix}.${escapeChannel(literal)}`;
    const stream = randomBytes(4).toString('hex');
    const sub = this.nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error) {
          this.log.log('subscription', `NATS subscription ${subject} on ${this.url} failed: ${error.message}`);
          return;
        }
        this.receive(msg, stream, matches, handler);
      },
    });
    this.subscriptions.add(sub);
    return () => {
      if (!this.subscriptions.delete(sub)) return;
      sub.unsubscribe();
    };
  }

  async flush(): Promise<void> {
    if (this.closed) throw new TransportError(`The NATS transport to ${this.url} is closed.`);
    this.unflushed = 0;
    await this.nc.flush();
  }

  private receive(msg: Msg, stream: string, matches: (channel: string) => boolean, handler: (payload: Uint8Array, info: ReceivedInfo) => void): void {
    const channel = subjectToChannel(this.target.prefix, msg.subject);
    if (channel === undefined) {
      this.counters.malformed++;
      this.log.log('subject', `Dropped a NATS message on ${msg.subject}: not a subject framebus writes under ${this.target.prefix}.`);
      return;
    }
    if (!matches(channel)) return;
    let payload: Uint8Array | undefined = msg.data;
    let fragment: string | undefined;
    try {
      fragment = msg.headers?.get(FRAGMENT_HEADER) || undefined;
    } catch {
      fragment = '';
    }
    if (fragment !== undefined) {
      const header = parseFragmentHeader(fragment);
      if (!header) {
        this.counters.malformed++;
        this.log.log(`fragment:${channel}`, `Dropped a NATS message on ${channel}: its ${FRAGMENT_HEADER} header ${JSON.stringify(fragment.slice(0, 80))} does not parse.`);
        return;
      }
      payload = this.reassembler.accept(stream, header, msg.data);
      if (!payload) return;
    }
    this.counters.received++;
    try {
      handler(payload, { channel, receivedAt: nowNs() });
    } catch (error) {
      this.log.log(`handler:${channel}`, `A subscriber of ${channel} threw: ${(error as Error).message}`);
    }
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
        this.log.log(`status:${s.type}`, `NATS ${this.url}: ${s.type}${s.data ? ` (${String(s.data)})` : ''}`);
      }
    }
  }

  /** Sends what is buffered, unsubscribes and disconnects. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.expiry);
    this.subscriptions.clear();
    this.reassembler.clear();
    try {
      await this.nc.drain();
    } catch {
      // Already closed by the server or the network; nothing left to send.
    }
    await this.nc.closed();
  }
}
