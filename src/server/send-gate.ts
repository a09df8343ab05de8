import { InvalidArgumentError } from '../core/errors.js';

/** WebSocket close code for a viewer that stopped reading what the server sends. */
export const CLOSE_NOT_READING = 1008;

/** How much a viewer may leave unread, and for how long. */
export interface SendLimits {
  /**
   * Unsent bytes on one viewer's socket above which the server holds back: live video skips
   * to the next key packet, images, messages, clock and status lines are dropped, replay
   * answers and playback wait (and newer seeks replace waiting ones). Default 2 MiB: queued
   * small messages keep Node's shared 8 KiB Buffer pool slabs alive, so an unread viewer
   * holds about 2.5 times this much memory (measured with a replay of 640x480 H.264), besides
   * what the operating system buffers for the socket (about 4 MB on Linux loopback).
   */
  maxBufferedBytes?: number;
  /**
   * How long, ms, a viewer's socket may stay above `maxBufferedBytes` before the server closes
   * it with {@link CLOSE_NOT_READING}. `Infinity` never closes. Default 10 000.
   */
  stallTimeoutMs?: number;
}

/** The part of a WebSocket a {@link SendGate} watches (`ws`'s WebSocket fits). */
export interface OutboundSocket {
  /** Bytes accepted by `send` and not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** Stops reading what the peer sends. */
  pause(): void;
  /** Reads what the peer sends again. */
  resume(): void;
}

const DEFAULT_MAX_BUFFERED_BYTES = 2 * 2 ** 20;
const DEFAULT_STALL_TIMEOUT_MS = 10_000;
/** How often a socket over its limit is looked at, ms. */
const POLL_MS = 10;

/**
 * Checks `limits` and fills in the defaults.
 * @throws InvalidArgumentError when a limit is not a positive number.
 */
export function resolveSendLimits(limits: SendLimits = {}): Required<SendLimits> {
  const maxBufferedBytes = limits.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const stallTimeoutMs = limits.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  if (!Number.isSafeInteger(maxBufferedBytes) || maxBufferedBytes <= 0) {
    throw new InvalidArgumentError(`maxBufferedBytes must be a whole number of bytes above 0, got ${String(maxBufferedBytes)}.`);
  }
  if (typeof stallTimeoutMs !== 'number' || !(stallTimeoutMs > 0)) {
    throw new InvalidArgumentError(`stallTimeoutMs must be a number of ms above 0 (Infinity never closes), got ${String(stallTimeoutMs)}.`);
  }
  return { maxBufferedBytes, stallTimeoutMs };
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

/**
 * Flow control for one viewer's socket, so a viewer that reads slowly or not at all costs the
 * server a bounded amount of memory:
 * - below `maxBufferedBytes` unsent, {@link hasRoom} is true and {@link room} resolves at once;
 *   above it senders drop what can be dropped and wait for room with what cannot;
 * - above twice that (reached only by answers the client provokes faster than it reads them),
 *   the client's messages are not read until the socket is back under the limit;
 * - above the limit for `stallTimeoutMs` without a break, `onStall` is called with a reason
 *   for the close.
 * The gate never sends anything itself; call {@link afterWrite} after writing to the socket.
 */
export class SendGate {
  private readonly limits: Required<SendLimits>;
  private waiters: ((room: boolean) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the socket was first seen over the limit in the current spell, ms (Date.now). */
  private overSince: number | undefined;
  private readingPaused = false;
  private disposed = false;

  constructor(
    private readonly socket: OutboundSocket,
    limits: SendLimits,
    private readonly onStall: (reason: string) => void,
  ) {
    this.limits = resolveSendLimits(limits);
  }

  /**
   * True while the socket holds at most `maxBufferedBytes` unsent (false once disposed); a
   * full socket is watched from then on, so a stall is noticed even if nothing more is sent.
   */
  get hasRoom(): boolean {
    if (this.disposed) return false;
    if (this.socket.bufferedAmount <= this.limits.maxBufferedBytes) return true;
    this.watch();
    return false;
  }

  /** Resolves true once the socket has room (at once if it has), false if the gate is disposed first. */
  room(): Promise<boolean> {
    if (this.disposed) return Promise.resolve(false);
    if (this.hasRoom) return Promise.resolve(true);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Takes note of a write to the socket: starts watching it if it is now over the limit. */
  afterWrite(): void {
    if (this.disposed) return;
    const buffered = this.socket.bufferedAmount;
    if (buffered <= this.limits.maxBufferedBytes) return;
    this.watch();
    if (buffered > 2 * this.limits.maxBufferedBytes && !this.readingPaused) {
      this.readingPaused = true;
      this.socket.pause();
    }
  }

  /** Stops watching, resumes reading and resolves every {@link room} waiter with false. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    // A closing handshake needs the client's close frame read.
    if (this.readingPaused) this.socket.resume();
    this.release(false);
  }

  private watch(): void {
    this.overSince ??= Date.now();
    this.timer ??= setInterval(() => this.check(), POLL_MS);
  }

  private check(): void {
    // Node's mock timers may still run an interval cleared inside its own callback.
    if (this.disposed) return;
    const buffered = this.socket.bufferedAmount;
    if (buffered <= this.limits.maxBufferedBytes) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.overSince = undefined;
      if (this.readingPaused) {
        this.readingPaused = false;
        this.socket.resume();
      }
      this.release(true);
      return;
    }
    const stalledMs = Date.now() - (this.overSince ?? Date.now());
    if (stalledMs >= this.limits.stallTimeoutMs) {
      const reason = `Viewer not reading: ${mib(buffered)} MiB unsent for ${(stalledMs / 1000).toFixed(0)} s (limit ${mib(this.limits.maxBufferedBytes)} MiB)`;
      this.dispose();
      this.onStall(reason);
    }
  }

  private release(room: boolean): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve(room);
  }
}
