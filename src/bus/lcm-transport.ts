import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError, TransportError } from '../core/errors.js';
import { nowNs } from '../core/time.js';
import { LCM_MAX_MESSAGE_SIZE, encodeLcmChannel, lcmDatagrams } from './lcm-datagram.js';
import { LcmReassembler, type LcmReassemblerOptions } from './lcm-reassembler.js';
import { DEFAULT_LCM_URL, parseLcmUrl, type LcmUrl } from './lcm-url.js';
import { compilePattern } from './channel-pattern.js';
import { RateLimitedLog, stderrLog, type LogSink } from './rate-limited-log.js';
import type { ByteTransport, ReceivedInfo, TransportStats } from './transport.js';

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
/** Below this, a several-MB keyframe is likely to be lost: worth a hint at open. */
const SMALL_RECV_BUFFER = 4 << 20;
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
 * One socket listens on the group's port (shared with every LCM program on the host); a
 * second, on an ephemeral port, sends, so each transport is a distinct sender with its own
 * message sequence. With ttl=0 both use the loopback interface, so nothing leaves the host.
 * Malformed datagrams and messages that never complete are dropped, counted in `stats` and
 * reported through the rate-limited `log`; they never throw.
 */
export class LcmTransport implements ByteTransport {
  readonly url: string;
  readonly stats: TransportStats = { sent: 0, received: 0, malformed: 0, incomplete: 0 };
  /**
   * The kernel receive buffer of the listening socket as the OS reports it, in bytes (Linux
   * reports twice the usable payload room and caps it at 2 × net.core.rmem_max).
   */
  readonly receiveBufferBytes: number;

  private subscriptions: readonly Subscription[] = [];
  private readonly reassembler: LcmReassembler;
  private sequence = 0;
  /** Publishes go out one after another, so fragments of two messages never interleave. */
  private sendChain: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly sweep: NodeJS.Timeout;

  private constructor(
    private readonly address: LcmUrl,
    private readonly recvSocket: dgram.Socket,
    private readonly sendSocket: dgram.Socket,
    private readonly log: RateLimitedLog,
    options: LcmTransportOptions,
  ) {
    this.url = address.url;
    this.reassembler = new LcmReassembler(options.reassembly ?? {}, (kind, reason) => {
      this.stats[kind]++;
      this.log.log(kind, reason);
    });
    this.receiveBufferBytes = growRecvBuffer(recvSocket, address.recvBufSize ?? WANTED_RECV_BUFFER);
    recvSocket.on('message', (datagram, rinfo) =>
      // A plain Uint8Array view: handlers get the type the contract names, not a Buffer.
      this.onDatagram(new Uint8Array(datagram.buffer, datagram.byteOffset, datagram.byteLength), `${rinfo.address}:${rinfo.port}`),
    );
    for (const socket of [recvSocket, sendSocket]) {
      socket.on('error', (error) => this.log.log('socket', `LCM socket error on ${this.url}: ${error.message}`));
    }
    // Abandoned fragments must free their memory even when no traffic arrives to trigger it.
    this.sweep = setInterval(() => this.reassembler.expire(performance.now()), 500);
    this.sweep.unref();
  }

  /**
   * Opens a transport on `url` (default `lcm://239.255.76.67:7667?ttl=0`): binds the
   * listening socket, joins the multicast group and sizes the receive buffer as large as the
   * OS allows, logging a hint when that is too small for multi-megabyte messages.
   * @throws InvalidArgumentError for a bad URL or options.
   * @throws TransportError when the sockets cannot be set up (e.g. no multicast route).
   */
  static async open(url: string = DEFAULT_LCM_URL, options: LcmTransportOptions = {}): Promise<LcmTransport> {
    const address = parseLcmUrl(url);
    const logIntervalMs = options.logIntervalMs ?? 5000;
    if (!Number.isFinite(logIntervalMs) || logIntervalMs < 0) {
      throw new InvalidArgumentError(`logIntervalMs must be a non-negative number, got ${String(logIntervalMs)}.`);
    }
    const log = new RateLimitedLog(options.log ?? stderrLog, logIntervalMs);
    const iface = address.ttl === 0 ? LOOPBACK : undefined;
    const recvSocket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const sendSocket = dgram.createSocket({ type: 'udp4' });
    try {
      await bindSocket(recvSocket, address.port);
      recvSocket.addMembership(address.group, iface);
      await bindSocket(sendSocket, 0);
      sendSocket.setMulticastTTL(address.ttl);
      sendSocket.setMulticastLoopback(true);
      if (iface) sendSocket.setMulticastInterface(iface);
    } catch (cause) {
      await Promise.all([closeSocket(recvSocket), closeSocket(sendSocket)]);
      const hint = iface ? '' : ' Check that a route covers multicast (e.g. `ip route add 224.0.0.0/4 dev eth0`).';
      throw new TransportError(`Cannot open LCM on ${address.url}: ${(cause as Error).message}.${hint}`, { cause });
    }
    const transport = new LcmTransport(address, recvSocket, sendSocket, log, options);
    const got = transport.receiveBufferBytes;
    if (address.recvBufSize !== undefined && got < address.recvBufSize) {
      log.log('socket', `LCM receive buffer is ${got} bytes, less than the ${address.recvBufSize} asked for (raise net.core.rmem_max).`);
    } else if (address.recvBufSize === undefined && got < SMALL_RECV_BUFFER) {
      log.log(
        'socket',
        `LCM receive buffer is only ${got} bytes; multi-megabyte messages may be lost. Raise it with: sysctl -w net.core.rmem_max=33554432`,
      );
    }
    return transport;
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
      datagrams = lcmDatagrams(this.sequence, encodeLcmChannel(channel), payload);
    } catch (error) {
      return Promise.reject(error);
    }
    this.sequence = (this.sequence + 1) >>> 0;
    const sent = this.sendChain.then(() => this.sendAll(datagrams));
    this.sendChain = sent.catch(() => undefined);
    return sent;
  }

  private async sendAll(datagrams: Uint8Array[][]): Promise<void> {
    const fragmented = datagrams.length > 1;
    for (const parts of datagrams) {
      await new Promise<void>((resolve, reject) => {
        this.sendSocket.send(parts, this.address.port, this.address.group, (error) => {
          if (error) reject(new TransportError(`LCM send to ${this.url} failed: ${error.message}`, { cause: error }));
          // Node completes most sends synchronously, so waiting for the callback alone would
          // push a whole multi-MB message out in one burst. One event-loop turn per fragment
          // lets sockets in this process drain theirs, so a message needs no receive buffer
          // its size here.
          else if (fragmented) setImmediate(resolve);
          else resolve();
        });
      });
    }
    this.stats.sent++;
  }

  /**
   * Calls `handler` for every complete message on a channel whose whole name matches the
   * regular expression `pattern` (as liblcm does; `'.*'` for all). Messages this transport
   * publishes come back to its own subscribers too, as with liblcm. All matching handlers
   * get the same `payload`, so none may modify it. A handler that throws is reported
   * through `log`; delivery goes on.
   * @throws InvalidArgumentError when `pattern` is not a valid regular expression.
   * @returns a function that removes this subscription.
   */
  subscribe(pattern: string, handler: (payload: Uint8Array, info: ReceivedInfo) => void): () => void {
    const subscription: Subscription = { matches: compilePattern(pattern), handler };
    this.subscriptions = [...this.subscriptions, subscription];
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
      await this.sendChain;
      await Promise.all([closeSocket(this.recvSocket), closeSocket(this.sendSocket)]);
    })();
    return this.closing;
  }
}

/** Opens an {@link LcmTransport}; see {@link LcmTransport.open}. */
export function openLcmTransport(url?: string, options?: LcmTransportOptions): Promise<LcmTransport> {
  return LcmTransport.open(url, options);
}
