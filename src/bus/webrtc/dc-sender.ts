import { TransportError } from '../../core/errors.js';
import type { DataChannelPort } from './datachannel-port.js';

/** Limits of one DataChannel's send side. */
export interface SenderLimits {
  /** `bufferedAmount` above which sending waits (reliable) or drops (unreliable). Default 4 MiB. */
  highWaterBytes?: number;
  /** Bytes of whole messages allowed to wait for the buffer to drain; beyond, `offer` drops. Default 64 MiB. */
  maxWaitingBytes?: number;
}

interface Waiter {
  readonly frames: Uint8Array[];
  readonly bytes: number;
  readonly done: (error?: Error) => void;
}

/**
 * Sends frames on one DataChannel with backpressure from the library's own send buffer:
 * frames go straight to the channel while `bufferedAmount` is at or under the high-water
 * mark; above it, whole messages (all their fragments) wait in order until the buffer falls
 * to a quarter of the mark (`bufferedAmountLowThreshold`). What waits is bounded by
 * `maxWaitingBytes`.
 */
export class DataChannelSender {
  private readonly high: number;
  private readonly maxWaiting: number;
  private readonly waiting: Waiter[] = [];
  private waitingBytes = 0;
  private closedError: Error | undefined;

  constructor(
    private readonly port: DataChannelPort,
    limits: SenderLimits = {},
  ) {
    this.high = limits.highWaterBytes ?? 4 * 2 ** 20;
    this.maxWaiting = limits.maxWaitingBytes ?? 64 * 2 ** 20;
    port.onBufferedAmountLow(Math.floor(this.high / 4), () => this.drain());
  }

  /** Bytes of messages waiting for the channel's buffer to drain. */
  get queuedBytes(): number {
    return this.waitingBytes;
  }

  /** Whether a message sent now would have to wait. */
  get congested(): boolean {
    return this.waiting.length > 0 || this.port.bufferedAmount() > this.high;
  }

  /**
   * Sends the frames of one message in order, waiting while the channel is congested.
   * @throws TransportError when the channel closes before they were handed over.
   */
  async send(frames: Uint8Array[]): Promise<void> {
    if (this.closedError) throw this.closedError;
    if (this.waiting.length === 0 && this.writeSome(frames)) return;
    await this.enqueue(frames);
  }

  /**
   * Sends the frames of one message without waiting: queued when congested, dropped when the
   * queue would exceed `maxWaitingBytes`. @returns false when dropped.
   */
  offer(frames: Uint8Array[]): boolean {
    if (this.closedError) return false;
    const bytes = frames.reduce((n, f) => n + f.byteLength, 0);
    if (this.waiting.length > 0 || this.port.bufferedAmount() > this.high) {
      if (this.waitingBytes + bytes > this.maxWaiting) return false;
    }
    try {
      if (this.waiting.length === 0 && this.writeSome(frames)) return true;
    } catch {
      return false;
    }
    this.enqueue(frames).catch(() => undefined);
    return true;
  }

  /** Fails everything waiting; later sends throw `error`. */
  fail(error: Error): void {
    this.closedError ??= error;
    for (const w of this.waiting.splice(0)) w.done(this.closedError);
    this.waitingBytes = 0;
  }

  private enqueue(frames: Uint8Array[]): Promise<void> {
    const bytes = frames.reduce((n, f) => n + f.byteLength, 0);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ frames, bytes, done: (error) => (error ? reject(error) : resolve()) });
      this.waitingBytes += bytes;
    });
  }

  /** Writes frames from the front of `frames` (removing them) until the buffer is over the mark; true when all went. */
  private writeSome(frames: Uint8Array[]): boolean {
    while (frames.length > 0) {
      if (this.port.bufferedAmount() > this.high) return false;
      try {
        this.port.send(frames[0]);
      } catch (cause) {
        this.fail(new TransportError(`DataChannel ${this.port.label} closed while sending: ${(cause as Error).message}`, { cause }));
        throw this.closedError;
      }
      frames.shift();
    }
    return true;
  }

  private drain(): void {
    while (this.waiting.length > 0) {
      const w = this.waiting[0];
      try {
        if (!this.writeSome(w.frames)) return;
      } catch {
        return;
      }
      this.waiting.shift();
      this.waitingBytes -= w.bytes;
      w.done();
    }
  }
}
