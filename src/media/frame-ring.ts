import type { PixelFormat } from '../core/frame.js';

/** Index of the counters in `FrameRing.counters`. */
const WRITTEN = 0;
const RELEASED = 1;
const SLEEPING = 2;
const HEADER_BYTES = 16;

/** `Atomics.waitAsync` (Node ≥ 16), typed here: it is ES2024, newer than this project's `lib`. */
const waitAsync = (Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

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
 * thread and one camera's encoder thread. No message per frame: the producer copies a frame
 * into the next slot and bumps a counter; the consumer wakes (`Atomics.waitAsync`) only when
 * it had run dry, and hands slots back by bumping another counter. A `postMessage` per frame
 * took up to 20 ms on a busy machine, waiting for the port's lock held by the (lower
 * priority) encoder thread; counters never wait.
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

  /** Producer: publishes the frame just copied to `nextOffset()`, waking the consumer if it sleeps. */
  publish(timestamp: bigint, frameId: number): void {
    const written = this.written;
    const slot = written % this.shape.slots;
    this.timestamps[slot] = timestamp;
    this.frameIds[slot] = frameId;
    Atomics.store(this.counters, WRITTEN, written + 1);
    if (Atomics.load(this.counters, SLEEPING) === 1) Atomics.notify(this.counters, WRITTEN);
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

  /** Consumer: resolves once more than `seen` frames are written, or `wake()` is called. */
  async waitBeyond(seen: number): Promise<void> {
    Atomics.store(this.counters, SLEEPING, 1);
    const wait = waitAsync(this.counters, WRITTEN, seen);
    if (wait.async) await wait.value;
    Atomics.store(this.counters, SLEEPING, 0);
  }

  /** Wakes a consumer waiting in `waitBeyond` (to finish or cancel). */
  wake(): void {
    Atomics.notify(this.counters, WRITTEN);
  }
}
