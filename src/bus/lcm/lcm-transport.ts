import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError, TransportError } from '../../core/errors.js';
import { nowNs } from '../../core/time.js';
import { LCM_MAX_CHANNEL_LENGTH, LCM_MAX_MESSAGE_SIZE, encodeLcmChannel, lcmDatagrams } from './lcm-datagram.js';
import { LcmReassembler, type LcmReassemblerOptions } from './lcm-reassembler.js';
import { DEFAULT_LCM_URL, parseLcmUrl, type LcmUrl } from './lcm-url.js';
import { compilePattern } from '../channel-pattern.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { logToStderr, type LogSink } from '../../core/log.js';
import type { ByteTransport, ReceivedInfo, TransportStats } from '../transport.js';

/** Options of {@link LcmTransport.open}. */
export interface LcmTransportOptions {
  /** Where warnings about dropped input go, rate-limited. Default: a line on stderr. */
  log?: LogSink;
  /** At most one warning per kind of problem in this many ms. Default 5000. */
  logIntervalMs?: number;
  /** Memory limits for reassembling fragmented messages. */
  reassembly?: LcmReassemblerOptions;
}

/** The receive buffer framebus asks for; the kernel caps it (Linux: net.core.rmem_max). */
const WANTED_RECV_BUFFER = 64 << 20;
/** Below this, a several-MB keyframe from another process is likely to be lost: worth a hint. */
const SMALL_RECV_BUFFER = 4 << 20;
const CHANNEL_CACHE_SIZE = 256;
/** Interface for the group when ttl=0: traffic and membership reports stay on the host. */
const LOOPBACK = '127.0.0.1';

interface Subscription {
  readonly matches: (channel: string) => boolean;
  readonly handler: (payload: Uint8Array, info: ReceivedInfo) => void;
}

function bindSocket(socket: dgram.Socket, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

function routeHint(iface: string | undefined): string {
  return iface ? '' : ' Check that a route covers multicast (e.g. `ip route add 224.0.0.0/4 dev eth0`).';
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

/** Asks for `wanted` bytes, halving on refusal (macOS refuses, Linux caps); returns what the OS reports. */
function growRecvBuffer(socket: dgram.Socket, wanted: number): number {
  for (let size = wanted; size >= 1 << 16; size = Math.floor(size / 2)) {
    try {
      socket.setRecvBufferSize(size);
      break;
    } catch {
      continue;
    }
  }
  return socket.getRecvBufferSize();
}

/**
 * A `ByteTransport` on LCM's UDP multicast protocol, wire-compatible with liblcm: liblcm
 * programs, `lcm-spy` and `lcm-logger` see framebus messages and framebus sees theirs.
 *
 * Like liblcm, a transport sends from its own socket on an ephemeral port (so each transport
 * is a distinct sender with its own message sequence) and opens the socket that listens on
 * the group's port only with the first subscription, so a publisher alone never pays for
 * reading the group's traffic. With ttl=0 both use the loopback interface and nothing
 * leaves the host. Malformed datagrams and messages that never complete are dropped, counted
 * in `stats` and reported through the rate-limited `log`; they never throw.
 */
export class LcmTransport implements ByteTransport {
  readonly url: string;
  readonly maxChannelBytes = LCM_MAX_CHANNEL_LENGTH;
  readonly stats: TransportStats = { sent: 0, received: 0, malformed: 0, incomplete: 0 };

  private subscriptions: readonly Subscription[] = [];
  private readonly reassembler: LcmReassembler;
  private readonly iface: string | undefined;
  private sequence = 0;
  /** Fragmented publishes, and those after them, go out one after another so fragments never interleave. */
  private queue: Promise<void> = Promise.resolve();
  /** Publishes in `queue` not finished yet. */
  private queued = 0;
  /** The latest short message sent outside `queue`. */
  private lastDirect: Promise<void> = Promise.resolve();
  /** Encoded channel names, since a publisher uses a few names over and over. */
  private readonly channels = new Map<string, Uint8Array>();
  /** The listening socket, set up with the first subscription. */
  private receiver: Promise<dgram.Socket> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly sweep: NodeJS.Timeout;
  private recvBufferBytes: number | undefined;

  private constructor(
    private readonly address: LcmUrl,
    private readonly sendSocket: dgram.Socket,
    private readonly log: RateLimitedLog,
    options: LcmTransportOptions,
  ) {
    this.url = address.url;
    this.iface = address.ttl === 0 ? LOOPBACK : undefined;
    this.reassembler = new LcmReassembler(options.reassembly ?? {}, (kind, reason) => {
      this.stats[kind]++;
      this.log.log(kind, reason);
    });
    sendSocket.on('error', (error) => this.log.log('socket', `LCM socket error on ${this.url}: ${error.message}`));
    // Abandoned fragments must free their memory even when no traffic arrives to trigger it.
    this.sweep = setInterval(() => this.reassembler.expire(performance.now()), 500);
    this.sweep.unref();
  }

  /**
   * Opens a transport on `url` (default `lcm://239.255.76.67:7667?ttl=0`): binds the
   * sending socket and joins the multicast group with it, which proves the group is
   * reachable and, as liblcm's sending socket does, makes the interface accept the group.
   * @throws InvalidArgumentError for a bad URL or options.
   * @throws TransportError when the socket cannot be set up (e.g. no multicast route).
   */
  static async open(url: string = DEFAULT_LCM_URL, options: LcmTransportOptions = {}): Promise<LcmTransport> {
    const address = parseLcmUrl(url);
    const logIntervalMs = options.logIntervalMs ?? 5000;
    if (!Number.isFinite(logIntervalMs) || logIntervalMs < 0) {
      throw new InvalidArgumentError(`logIntervalMs must be a non-negative number, got ${String(logIntervalMs)}.`);
    }
    const log = new RateLimitedLog(options.log ?? logToStderr, logIntervalMs);
    const iface = address.ttl === 0 ? LOOPBACK : undefined;
    const sendSocket = dgram.createSocket({ type: 'udp4' });
    try {
      await bindSocket(sendSocket, 0);
      sendSocket.addMembership(address.group, iface);
      sendSocket.setMulticastTTL(address.ttl);
      sendSocket.setMulticastLoopback(true);
      if (iface) sendSocket.setMulticastInterface(iface);
    } catch (cause) {
      await closeSocket(sendSocket);
      throw new TransportError(`Cannot open LCM on ${address.url}: ${(cause as Error).message}.${routeHint(iface)}`, { cause });
    }
    return new LcmTransport(address, sendSocket, log, options);
  }

  /**
   * Resolves once every publish called before has left and the listening socket is bound,
   * joined and sized (when there is a subscription), so messages sent from now on reach
   * this transport's subscriptions.
   * @throws TransportError when the listening socket could not be set up.
   */
  async flush(): Promise<void> {
    await Promise.all([this.queue, this.lastDirect.catch(() => undefined)]);
    await this.receiver;
  }

  /** Binds the socket on the group's port, joins the group and sizes its receive buffer. */
  private async listen(): Promise<dgram.Socket> {
    const { group, port, recvBufSize } = this.address;
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    try {
      await bindSocket(socket, port);
      socket.addMembership(group, this.iface);
    } catch (cause) {
      await closeSocket(socket);
      throw new TransportError(`Cannot listen on ${this.url}: ${(cause as Error).message}.${routeHint(this.iface)}`, { cause });
    }
    socket.on('error', (error) => this.log.log('socket', `LCM socket error on ${this.url}: ${error.message}`));
    socket.on('message', (datagram, rinfo) =>
      // A plain Uint8Array view: handlers get the type the contract names, not a Buffer.
      this.onDatagram(new Uint8Array(datagram.buffer, datagram.byteOffset, datagram.byteLength), `${rinfo.address}:${rinfo.port}`),
    );
    const got = growRecvBuffer(socket, recvBufSize ?? WANTED_RECV_BUFFER);
    this.recvBufferBytes = got;
    if (recvBufSize !== undefined && got < recvBufSize) {
      this.log.log('socket', `LCM receive buffer is ${got} bytes, less than the ${recvBufSize} asked for (raise net.core.rmem_max).`);
    } else if (recvBufSize === undefined && got < SMALL_RECV_BUFFER) {
      this.log.log(
        'socket',
        `LCM receive buffer is only ${got} bytes; multi-megabyte messages from other processes may be lost. Raise it with: sysctl -w net.core.rmem_max=33554432`,
      );
    }
    return socket;
  }

  /**
   * Sends `payload` on `channel`: one datagram when it fits, else liblcm-sized fragments,
   * each sent only after the previous one left the socket. Publishes are sent in call order.
   * @throws InvalidArgumentError for a bad channel (empty, NUL, > 63 bytes) or a payload
   *   over 256 MiB (no LCM receiver accepts more).
   * @throws TransportError when the transport is closed or the OS refuses to send.
   */
  publish(channel: string, payload: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new TransportError(`LCM transport ${this.url} is closed.`));
    let datagrams: Uint8Array[][];
    try {
      if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError('LCM payload must be a Uint8Array.');
      if (payload.byteLength > LCM_MAX_MESSAGE_SIZE) {
        throw new InvalidArgumentError(
          `LCM payload of ${payload.byteLength} bytes exceeds the ${LCM_MAX_MESSAGE_SIZE}-byte limit of LCM receivers.`,
        );
      }
      datagrams = lcmDatagrams(this.sequence, this.channelBytes(channel), payload);
    } catch (error) {
      return Promise.reject(error);
    }
    this.sequence = (this.sequence + 1) >>> 0;
    // node's socket sends in call order, so a short message may go straight out unless
    // it would overtake a fragmented message still being sent (or one waiting behind it).
    if (datagrams.length === 1 && this.queued === 0) {
      this.lastDirect = this.sendDatagram(datagrams[0], false).then(() => {
        this.stats.sent++;
      });
      return this.lastDirect;
    }
    this.queued++;
    const sent = this.queue.then(() => this.sendAll(datagrams));
    this.queue = sent.catch(() => undefined).finally(() => this.queued--);
    return sent;
  }

  private channelBytes(channel: string): Uint8Array {
    let bytes = this.channels.get(channel);
    if (!bytes) {
      bytes = encodeLcmChannel(channel);
      if (this.channels.size >= CHANNEL_CACHE_SIZE) this.channels.clear();
      this.channels.set(channel, bytes);
    }
    return bytes;
  }

  private async sendAll(datagrams: Uint8Array[][]): Promise<void> {
    for (const parts of datagrams) await this.sendDatagram(parts, datagrams.length > 1);
    this.stats.sent++;
  }

  private sendDatagram(parts: Uint8Array[], fragment: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void =>
        reject(new TransportError(`LCM send to ${this.url} failed: ${error.message}`, { cause: error }));
      try {
        this.sendSocket.send(parts, this.address.port, this.address.group, (error) => {
          if (error) fail(error);
          // Node completes most sends synchronously, so waiting for the callback alone would
          // push a whole multi-MB message out in one burst. One event-loop turn per fragment
          // lets sockets in this process drain theirs, so a message needs no receive buffer
          // its size here.
          else if (fragment) setImmediate(resolve);
          else resolve();
        });
      } catch (error) {
        fail(error as Error);
      }
    });
  }

  /**
   * Calls `handler` for every complete message on a channel whose whole name matches the
   * regular expression `pattern` (as liblcm does; `'.*'` for all). Messages this transport
   * publishes come back to its own subscribers too, as with liblcm. All matching handlers
   * get the same `payload`, so none may modify it. A handler that throws is reported
   * through `log`; delivery goes on. The first subscription opens the listening socket:
   * await {@link flush} before counting on messages sent right after subscribing.
   * @throws InvalidArgumentError when `pattern` is not a valid regular expression.
   * @throws TransportError when the transport is closed.
   * @returns a function that removes this subscription.
   */
  subscribe(pattern: string, handler: (payload: Uint8Array, info: ReceivedInfo) => void): () => void {
    if (this.closed) throw new TransportError(`LCM transport ${this.url} is closed.`);
    const subscription: Subscription = { matches: compilePattern(pattern), handler };
    this.subscriptions = [...this.subscriptions, subscription];
    if (!this.receiver) {
      this.receiver = this.listen();
      // Reported here for subscribers that never call flush(); flush() rethrows it.
      this.receiver.catch((error: Error) => this.log.log('socket', error.message));
    }
    return () => {
      this.subscriptions = this.subscriptions.filter((s) => s !== subscription);
    };
  }

  private onDatagram(datagram: Uint8Array, sender: string): void {
    // Nobody listens: skip the parsing (the socket still has to drain the group's traffic).
    if (this.subscriptions.length === 0) return;
    const message = this.reassembler.accept(sender, datagram, performance.now());
    if (!message) return;
    this.stats.received++;
    const info: ReceivedInfo = { channel: message.channel, receivedAt: nowNs() };
    for (const s of this.subscriptions) {
      if (!s.matches(message.channel)) continue;
      try {
        s.handler(message.payload, info);
      } catch (error) {
        this.log.log('handler', `An LCM handler for ${message.channel} threw: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }

  /**
   * The kernel receive buffer of the listening socket as the OS reports it, in bytes (Linux
   * reports twice the usable payload room and caps it at 2 × net.core.rmem_max); undefined
   * until the first subscription has taken effect (see {@link flush}).
   */
  get receiveBufferBytes(): number | undefined {
    return this.recvBufferBytes;
  }

  /** Bytes held by incomplete fragmented messages now. */
  get bufferedBytes(): number {
    return this.reassembler.bufferedBytes;
  }

  /** Waits for publishes under way, then closes both sockets. Safe to call again. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      clearInterval(this.sweep);
      this.subscriptions = [];
      await Promise.all([this.queue, this.lastDirect.catch(() => undefined)]);
      const receiving = await this.receiver?.catch(() => undefined);
      await Promise.all([closeSocket(this.sendSocket), receiving && closeSocket(receiving)]);
    })();
    return this.closing;
  }
}

/** Opens an {@link LcmTransport}; see {@link LcmTransport.open}. */
export function openLcmTransport(url?: string, options?: LcmTransportOptions): Promise<LcmTransport> {
  return LcmTransport.open(url, options);
}
