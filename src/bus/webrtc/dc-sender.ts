import { TransportError } from '../../core/errors.js';
import { BATCH_ENTRY_BYTES, BATCH_HEADER_BYTES, encodeBatch, MAX_BATCHED_FRAME_BYTES } from './dc-frame.js';
import type { DataChannelPort } from './datachannel-port.js';

/** Largest DataChannel message a batch of small frames grows to, bytes (less when the peer's max-message-size is smaller). */
export const MAX_BATCH_BYTES = 65_536;
/** Largest frame packed into a batch, bytes; larger frames gain little from sharing a message. */
export const MAX_BATCHABLE_FRAME_BYTES = 16_384;

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
 * frames go to the channel while `bufferedAmount` is at or under the high-water mark; above
 * it, whole messages (all their fragments) wait in order until the buffer falls to a quarter
 * of the mark (`bufferedAmountLowThreshold`). What waits is bounded by `maxWaitingBytes`.
 *
 * Small frames share DataChannel messages (`batch` frames, see `dc-frame.ts`): the first
 * message of an event-loop turn goes out alone at once, as does any frame over
 * `MAX_BATCHABLE_FRAME_BYTES`; small frames that follow in the same turn (a burst, or a drain
 * of waiting messages) are packed into one batch of at most `MAX_BATCH_BYTES`, written when
 * full, before any larger frame (order is kept), or when the turn ends (`setImmediate`; never
 * a timer). A DataChannel message costs about the same work whatever its size (measured with
 * libdatachannel: 256 B messages were capped near 40,000/s), so batching lets a burst of small
 * messages go at the link's byte rate rather than its message rate; a lone message is not delayed.
 */
export class DataChannelSender {
  private readonly high: number;
  private readonly maxWaiting: number;
  private readonly waiting: Waiter[] = [];
  private waitingBytes = 0;
  private closedError: Error | undefined;
  /** Frames accepted but not yet written: they go out as one batch, ahead of everything waiting. */
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private readonly batchLimit: number;
  /**
   * At least `bufferedAmount` (the library only drains it between writes): what was read last
   * plus what was written since. While it is under the mark the buffer is too, so the native
   * call is made only when it is not.
   */
  private bufferedBound = Infinity;
  /** The peer's `max-message-size`, bytes, read once: it is fixed when the channel opens. */
  readonly maxMessageSize: number;
  private readonly batchable: number;
  /** A message was written in this event-loop turn; the turn's end (`setImmediate`) flushes the batch and clears it. */
  private busyTurn = false;

  constructor(
    private readonly port: DataChannelPort,
    limits: SenderLimits = {},
  ) {
    this.high = limits.highWaterBytes ?? 4 * 2 ** 20;
    this.maxWaiting = limits.maxWaitingBytes ?? 64 * 2 ** 20;
    this.maxMessageSize = port.maxMessageSize;
    this.batchLimit = Math.min(MAX_BATCH_BYTES, this.maxMessageSize);
    this.batchable = Math.min(MAX_BATCHABLE_FRAME_BYTES, MAX_BATCHED_FRAME_BYTES, this.batchLimit - BATCH_HEADER_BYTES - BATCH_ENTRY_BYTES);
    port.onBufferedAmountLow(Math.floor(this.high / 4), () => this.drain());
  }

  /** Bytes of messages waiting for the channel's buffer to drain. */
  get queuedBytes(): number {
    return this.waitingBytes;
  }

  /** Whether a message sent now would have to wait. */
  get congested(): boolean {
    return this.waiting.length > 0 || this.overHigh();
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
    if (this.waiting.length > 0 || this.overHigh()) {
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

  /** Writes the frames being batched now rather than at the end of the turn. Never throws. */
  flush(): void {
    try {
      this.flushBatch();
    } catch {
      // The channel closed: `fail` has already been called.
    }
  }

  /** Fails everything waiting and drops the frames being batched; later sends throw `error`. */
  fail(error: Error): void {
    this.closedError ??= error;
    for (const w of this.waiting.splice(0)) w.done(this.closedError);
    this.waitingBytes = 0;
    this.batch = [];
    this.batchBytes = 0;
  }

  private enqueue(frames: Uint8Array[]): Promise<void> {
    const bytes = frames.reduce((n, f) => n + f.byteLength, 0);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ frames, bytes, done: (error) => (error ? reject(error) : resolve()) });
      this.waitingBytes += bytes;
    });
  }

  /**
   * Hands frames from the front of `frames` (removing them) to the channel or the batch until
   * the buffer is over the mark; true when all went. At most one DataChannel message is
   * written per look at the buffer, so it never exceeds the mark by more than one message.
   */
  private writeSome(frames: Uint8Array[]): boolean {
    while (frames.length > 0) {
      if (this.overHigh()) return false;
      const frame = frames[0];
      if (!this.busyTurn || frame.byteLength > this.batchable) {
        if (this.batch.length > 0) {
          this.flushBatch();
          continue;
        }
        this.write(frame);
      } else if (this.batchBytes + BATCH_ENTRY_BYTES + frame.byteLength > this.batchLimit - BATCH_HEADER_BYTES) {
        this.flushBatch();
        continue;
      } else {
        this.batch.push(frame);
        this.batchBytes += BATCH_ENTRY_BYTES + frame.byteLength;
      }
      frames.shift();
    }
    return true;
  }

  private flushBatch(): void {
    if (this.batch.length === 0) return;
    const frames = this.batch;
    const payloadBytes = this.batchBytes - frames.length * BATCH_ENTRY_BYTES;
    this.batch = [];
    this.batchBytes = 0;
    this.write(frames.length === 1 ? frames[0] : encodeBatch(frames, payloadBytes));
  }

  /** Whether `bufferedAmount` is over the high-water mark. */
  private overHigh(): boolean {
    if (this.bufferedBound <= this.high) return false;
    this.bufferedBound = this.port.bufferedAmount();
    return this.bufferedBound > this.high;
  }

  private write(message: Uint8Array): void {
    this.bufferedBound += message.byteLength;
    try {
      this.port.send(message);
    } catch (cause) {
      this.fail(new TransportError(`DataChannel ${this.port.label} closed while sending: ${(cause as Error).message}`, { cause }));
      throw this.closedError;
    }
    if (!this.busyTurn) {
      this.busyTurn = true;
      setImmediate(this.endTurn);
    }
  }

  /** Flushes the turn's batch, unless the buffer is over the mark: then `drain` sends it first. */
  private readonly endTurn = (): void => {
    this.busyTurn = false;
    if (this.batch.length > 0 && !this.overHigh()) this.flush();
  };

  private drain(): void {
    if (this.waiting.length === 0 && !this.overHigh()) this.flush();
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
