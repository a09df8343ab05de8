import type { PixelFormat } from '../core/frame.js';

/** Index of the counters in `FrameRing.counters`. */
const WRITTEN = 0;
const RELEASED = 1;
const HEADER_BYTES = 16;
/** How long a consumer that ran dry sleeps before looking again, in ms: a small fraction of a frame interval. */
const POLL_MS = 2;

/** `Atomics.waitAsync` (Node ≥ 16), typed here: it is ES2024, newer than this project's `lib`. */
const waitAsync = (Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number, timeoutMs: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

/** What both threads need to open the same ring (sent once per episode). */
export interface FrameRingShape {
  frames: SharedArrayBuffer;
  meta: SharedArrayBuffer;
  slots: number;
  slotBytes: number;
  width: number;
  height: number;
  format: PixelFormat;
}

/**
 * A single-producer single-consumer queue of frames in shared memory, between the caller's
 * thread and one camera's encoder thread. The producer only copies a frame into the next slot
 * and bumps a counter: no message, no lock, no system call. The consumer, when it has run dry,
 * looks again every 2 ms (`Atomics.waitAsync` with a timeout) and hands slots back by bumping
 * another counter. On a busy machine a `postMessage` per frame blocked the caller up to 20 ms,
 * and an `Atomics.notify` up to 8 ms: both take a lock the (lower priority, preempted)
 * encoder thread may hold.
 */
export class FrameRing {
  readonly bytes: Uint8Array;
  private readonly counters: Int32Array;
  private readonly timestamps: BigInt64Array;
  private readonly frameIds: Float64Array;

  constructor(readonly shape: FrameRingShape) {
    this.bytes = new Uint8Array(shape.frames);
    this.counters = new Int32Array(shape.meta, 0, HEADER_BYTES / 4);
    this.timestamps = new BigInt64Array(shape.meta, HEADER_BYTES, shape.slots);
    this.frameIds = new Float64Array(shape.meta, HEADER_BYTES + 8 * shape.slots, shape.slots);
  }

  /** A new ring of `slots` frames of this layout, `slotBytes` bytes each. */
  static create(layout: { width: number; height: number; format: PixelFormat }, slots: number, slotBytes: number): FrameRing {
    const frames = new SharedArrayBuffer(slots * slotBytes);
    const meta = new SharedArrayBuffer(HEADER_BYTES + 16 * slots);
    return new FrameRing({ ...layout, frames, meta, slots, slotBytes });
  }

  /** Frames written so far. */
  get written(): number {
    return Atomics.load(this.counters, WRITTEN);
  }

  /** Producer: slots free now. */
  room(): number {
    return this.shape.slots - (this.written - Atomics.load(this.counters, RELEASED));
  }

  /** Producer: the byte offset of the slot the next frame goes to (check `room()` first). */
  nextOffset(): number {
    return (this.written % this.shape.slots) * this.shape.slotBytes;
  }

  /** Producer: publishes the frame just copied to `nextOffset()`. */
  publish(timestamp: bigint, frameId: number): void {
    const written = this.written;
    const slot = written % this.shape.slots;
    this.timestamps[slot] = timestamp;
    this.frameIds[slot] = frameId;
    Atomics.store(this.counters, WRITTEN, written + 1);
  }

  /** Consumer: frame number `index`'s slot, timestamp and frame id. */
  read(index: number): { offset: number; timestamp: bigint; frameId: number } {
    const slot = index % this.shape.slots;
    return { offset: slot * this.shape.slotBytes, timestamp: this.timestamps[slot], frameId: this.frameIds[slot] };
  }

  /** Consumer: frames up to `count` are done with; their slots are free again. */
  release(count: number): void {
    Atomics.store(this.counters, RELEASED, count);
  }

  /** Consumer: resolves after at most 2 ms, sooner when `wake()` is called. */
  async pause(seen: number): Promise<void> {
    const wait = waitAsync(this.counters, WRITTEN, seen, POLL_MS);
    if (wait.async) await wait.value;
  }

  /** Wakes a consumer waiting in `waitBeyond` (to finish or cancel). */
  wake(): void {
    Atomics.notify(this.counters, WRITTEN);
  }
}
