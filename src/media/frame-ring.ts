import { planeShapes, type Frame, type PixelFormat } from '../core/frame.js';

/** Index of the counters in `FrameRing.counters`. */
const WRITTEN = 0;
const RELEASED = 1;
const HEADER_BYTES = 16;
/** How long a consumer that ran dry sleeps before looking again, in ms: a small fraction of a frame interval. */
const POLL_MS = 2;
/** Memory page size assumed by `prefault`, bytes (a larger page is touched more than once). */
const PAGE_BYTES = 4096;

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
 * thread and one worker thread (a camera's encoder, a segment streamer's packager). Each slot
 * holds one record: a frame of the ring's layout, or up to `slotBytes` other bytes, with its
 * length, a timestamp, a number and a tag the consumer reads back. The producer only copies a frame into the next slot
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
  private readonly lengths: Int32Array;
  private readonly tags: Int32Array;

  constructor(readonly shape: FrameRingShape) {
    this.bytes = new Uint8Array(shape.frames);
    this.counters = new Int32Array(shape.meta, 0, HEADER_BYTES / 4);
    this.timestamps = new BigInt64Array(shape.meta, HEADER_BYTES, shape.slots);
    this.frameIds = new Float64Array(shape.meta, HEADER_BYTES + 8 * shape.slots, shape.slots);
    this.lengths = new Int32Array(shape.meta, HEADER_BYTES + 16 * shape.slots, shape.slots);
    this.tags = new Int32Array(shape.meta, HEADER_BYTES + 20 * shape.slots, shape.slots);
  }

  /** A new ring of `slots` frames of this layout, `slotBytes` bytes each. */
  static create(layout: { width: number; height: number; format: PixelFormat }, slots: number, slotBytes: number): FrameRing {
    const frames = new SharedArrayBuffer(slots * slotBytes);
    const meta = new SharedArrayBuffer(HEADER_BYTES + 24 * slots);
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

  /**
   * Producer: publishes the record just copied to `nextOffset()`: `bytes` long (a whole slot
   * unless told), with a timestamp, a number (a frame id) and a tag saying what it is.
   */
  publish(timestamp: bigint, frameId: number, bytes = this.shape.slotBytes, tag = 0): void {
    const written = this.written;
    const slot = written % this.shape.slots;
    this.timestamps[slot] = timestamp;
    this.frameIds[slot] = frameId;
    this.lengths[slot] = bytes;
    this.tags[slot] = tag;
    Atomics.store(this.counters, WRITTEN, written + 1);
  }

  /** Consumer: record number `index`'s slot offset, length, timestamp, frame id and tag. */
  read(index: number): { offset: number; bytes: number; timestamp: bigint; frameId: number; tag: number } {
    const slot = index % this.shape.slots;
    return { offset: slot * this.shape.slotBytes, bytes: this.lengths[slot], timestamp: this.timestamps[slot], frameId: this.frameIds[slot], tag: this.tags[slot] };
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

  /**
   * Consumer: faults in every page of the slots for writing, one atomic add of 0 per 4 KiB (a
   * no-op on the value, safe beside the producer's copies), starting past slot 0. A fresh ring's
   * pages are mapped on first write: without this the producer's first copy into each slot
   * took about a thousand page faults, up to 13 ms at 640x480 on a busy machine.
   */
  prefault(): void {
    const words = new Int32Array(this.shape.frames, 0, Math.floor(this.shape.frames.byteLength / 4));
    const first = Math.floor(this.shape.slotBytes / 4);
    for (let k = 0; k < words.length; k += PAGE_BYTES / 4) Atomics.add(words, (first + k) % words.length, 0);
  }

  /** Wakes a consumer waiting in `waitBeyond` (to finish or cancel). */
  wake(): void {
    Atomics.notify(this.counters, WRITTEN);
  }
}

/** Copies a frame's pixels, tightly packed plane after plane, into `target` at `offset`. */
export function copyPacked(frame: Frame, target: Uint8Array, offset: number): void {
  planeShapes(frame.format, frame.width, frame.height).forEach((shape, i) => {
    const { data, stride } = frame.planes[i];
    if (stride === shape.rowBytes) {
      target.set(data.subarray(0, shape.rowBytes * shape.rows), offset);
      offset += shape.rowBytes * shape.rows;
      return;
    }
    for (let y = 0; y < shape.rows; y++, offset += shape.rowBytes) target.set(data.subarray(y * stride, y * stride + shape.rowBytes), offset);
  });
}
