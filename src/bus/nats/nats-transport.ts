import { randomBytes } from 'node:crypto';
import { connect, headers as natsHeaders, type Msg, type NatsConnection, type Subscription as NatsSubscription } from '@nats-io/transport-node';
import { InvalidArgumentError, TransportError } from '../../core/errors.js';
import { nowNs } from '../../core/time.js';
import { parseNatsUrl, type NatsUrl } from './nats-url.js';
import { explainNatsFailure, natsConnectionOptions, type NatsReconnectOptions } from './nats-connect-options.js';
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
import type { ByteTransport, LinkListener, ReceivedInfo, TransportStats } from '../transport.js';

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
  /** Back-off and liveness checks of reconnection. */
  reconnect?: NatsReconnectOptions;
  /**
   * Bytes `publish` may hand the client while no server is connected (the client sends them
   * on reconnection); beyond them messages are dropped and counted in `stats.dropped`, so an
   * outage never grows memory without limit. Default 4 MiB.
   */
  outageBufferBytes?: number;
}

/**
 * A `ByteTransport` over NATS (the `@nats-io/transport-node` client; `nats-server` is the
 * engine), on one server or a cluster: when its server goes away it reconnects to another
 * member, with a bounded, jittered back-off, and resubscribes. Channel `c`
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
  private readonly counters = { sent: 0, received: 0, malformed: 0, dropped: 0, reconnects: 0, disconnects: 0, slowConsumers: 0 };
  private readonly linkListeners = new Set<LinkListener>();
  private readonly outageBudget: number;
  private outageBytes = 0;
  private up = true;
  private nextMessageId = 0;
  private unflushed = 0;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly target: NatsUrl,
    options: NatsTransportOptions,
  ) {
    this.url = target.url;
    this.outageBudget = options.outageBufferBytes ?? 4 * 2 ** 20;
    this.reassembler = new FragmentReassembler(options.reassembly);
    this.log = new RateLimitedLog(options.log);
    this.expiry = setInterval(() => this.reassembler.expire(), 500);
    this.expiry.unref();
    void this.watchStatus();
    void this.watchClosed();
  }

  /**
   * Connects to the NATS deployment of `url` (see `parseNatsUrl`: seed servers, credentials,
   * TLS, `?prefix=`). Secrets never appear in `url`, errors or log lines.
   * @throws InvalidArgumentError for a bad URL or an unreadable, garbage or expired credentials
   *   file; TransportError, in one line naming the servers and the cause (refused, bad
   *   credentials, untrusted certificate), when no server accepts the connection.
   */
  static async connect(url: string, options: NatsTransportOptions = {}): Promise<NatsTransport> {
    const target = parseNatsUrl(url);
    const timeout = options.timeoutMs ?? 5_000;
    if (!(Number.isFinite(timeout) && timeout > 0)) throw new InvalidArgumentError(`timeoutMs must be a positive number, got ${String(timeout)}.`);
    const budget = options.outageBufferBytes;
    if (budget !== undefined && !(Number.isSafeInteger(budget) && budget >= 0)) throw new InvalidArgumentError(`outageBufferBytes must be a whole number of bytes ≥ 0, got ${String(budget)}.`);
    const connectOptions = await natsConnectionOptions(target, timeout, options.reconnect);
    let nc: NatsConnection;
    try {
      nc = await connect(connectOptions);
    } catch (cause) {
      throw new TransportError(`Cannot connect to NATS at ${target.url}: ${explainNatsFailure(cause)}.`, { cause });
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
      dropped: this.counters.dropped,
      reconnects: this.counters.reconnects,
      disconnects: this.counters.disconnects,
      slowConsumers: this.counters.slowConsumers,
    };
  }

  /** True while connected to a server; false from a disconnection until the client reconnected. */
  get linkUp(): boolean {
    return this.up;
  }

  /** The server this transport is connected to now (`host:port`), e.g. after a failover. */
  get server(): string {
    return this.nc.getServer();
  }

  onLinkChange(listener: LinkListener): () => void {
    this.linkListeners.add(listener);
    return () => this.linkListeners.delete(listener);
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
    if (!this.up) {
      // The client keeps what is published during an outage for the next server: bounded here.
      if (this.outageBytes + payload.byteLength > this.outageBudget) {
        this.counters.dropped++;
        return;
      }
      this.outageBytes += payload.byteLength;
    }
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
    if (this.unflushed >= FLUSH_BYTES && this.up) {
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
    try {
      await this.nc.flush();
    } catch (cause) {
      throw new TransportError(`Cannot flush to NATS at ${this.url}: ${explainNatsFailure(cause)}.`, { cause });
    }
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
      switch (s.type) {
        case 'disconnect':
          this.counters.disconnects++;
          this.setLink(false);
          this.log.log('status:disconnect', `NATS ${this.url}: lost server ${s.server}; reconnecting to another.`);
          break;
        case 'reconnect':
          this.counters.reconnects++;
          this.outageBytes = 0;
          this.setLink(true);
          this.log.log('status:reconnect', `NATS ${this.url}: reconnected to ${s.server}.`);
          break;
        case 'slowConsumer':
          this.counters.slowConsumers++;
          break;
        case 'error':
          this.log.log('status:error', `NATS ${this.url}: ${explainNatsFailure(s.error)}`);
          break;
        default:
          break;
      }
    }
  }

  /** The client closes by itself only when it gives up (e.g. credentials rejected on reconnection). */
  private async watchClosed(): Promise<void> {
    const error = await this.nc.closed();
    if (this.closed) return;
    this.setLink(false);
    this.log.log('status:closed', `NATS ${this.url}: the client gave up${error ? ` (${explainNatsFailure(error)})` : ''}; open the bus again.`);
  }

  private setLink(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    for (const listener of [...this.linkListeners]) {
      try {
        listener(up);
      } catch (error) {
        this.log.log('link-listener', `A link listener of ${this.url} threw: ${(error as Error).message}`);
      }
    }
  }

  /** Sends what is buffered, unsubscribes and disconnects. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.expiry);
    this.linkListeners.clear();
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
