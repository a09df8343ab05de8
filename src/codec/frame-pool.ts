import { Frame as AvFrame } from 'node-av/lib';
import { CodecError, InvalidArgumentError } from '../core/errors.js';
import { createFrame, type Frame, type PixelFormat } from '../core/frame.js';
import { toAvPixelFormat } from './av-pixel-format.js';
import type { PixelConverter } from './pixel-converter.js';

/** One picture's memory: an FFmpeg frame with its own buffers, and views of its planes made once. */
interface Slot {
  readonly picture: AvFrame;
  readonly planes: { data: Buffer; stride: number }[];
  readonly bytes: number;
  readonly key: string;
}

interface PoolState {
  readonly free: Map<string, Slot[]>;
  readonly owned: WeakMap<Frame, Slot>;
  freeBytes: number;
  readonly limit: number;
}

/** Where a plane's memory keeps the FFmpeg frame that owns it alive. */
const OWNER = Symbol('framebus.framePoolSlot');

const states = new WeakMap<FramePool, PoolState>();

/**
 * Memory for decoded frames that the caller hands back once done with them, so that the next
 * frames are written into it. A frame in fresh memory costs more than the copy into it: the
 * kernel maps and zeroes new pages, the garbage collector later finds and unmaps them, and the
 * copy's target is cold in the CPU's caches; for a 640x480 yuv420p frame that is about twice
 * the copy.
 *
 * Decoders that accept a pool (`decodeVideoFrames`, `VideoFileReader.framesAt`) write their
 * frames into it. A frame not released stays valid for as long as the caller keeps it, like
 * any other frame (its memory is then the garbage collector's to free); `release` is the
 * caller's promise not to read the frames again, since their memory holds the next frames'
 * pixels.
 */
export class FramePool {
  /**
   * @param options.maxFreeBytes Released memory kept for reuse, bytes; memory released beyond it
   *   is left to the garbage collector. Default 256 MiB: a batch of 30 1920x1080 RGB frames is
   *   190 MB, and a pool smaller than the batches it serves allocates afresh for the rest.
   */
  constructor(options: { maxFreeBytes?: number } = {}) {
    const limit = options.maxFreeBytes ?? 256 * 1024 * 1024;
    if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgumentError(`maxFreeBytes must be an integer ≥ 0, got ${String(options.maxFreeBytes)}.`);
    states.set(this, { free: new Map(), owned: new WeakMap(), freeBytes: 0, limit });
  }

  /** Bytes released and kept for reuse now. */
  get freeBytes(): number {
    return states.get(this)!.freeBytes;
  }

  /**
   * Gives the memory of `frames` back for the next frames: release a frame only once nothing
   * will read it again. Frames this pool did not hand out, or already released, are ignored
   * (a batch may hold the same frame twice).
   */
  release(frames: Frame | Iterable<Frame>): void {
    const state = states.get(this)!;
    for (const frame of Symbol.iterator in frames ? frames : [frames]) {
      const slot = state.owned.get(frame);
      if (!slot) continue;
      state.owned.delete(frame);
      if (state.freeBytes + slot.bytes > state.limit) continue;
      let list = state.free.get(slot.key);
      if (!list) state.free.set(slot.key, (list = []));
      list.push(slot);
      state.freeBytes += slot.bytes;
    }
  }

  /** Drops the memory kept for reuse (frames still held stay valid). */
  clear(): void {
    const state = states.get(this)!;
    state.free.clear();
    state.freeBytes = 0;
  }
}

function newSlot(format: PixelFormat, width: number, height: number, key: string): Slot {
  const picture = new AvFrame();
  picture.alloc();
  picture.format = toAvPixelFormat(format);
  picture.width = width;
  picture.height = height;
  // yuv420p rows packed, as the copying path hands them out; RGB rows aligned for swscale's SIMD writers.
  if (picture.getBuffer(format === 'yuv420p' ? 1 : 0) < 0) throw new CodecError(`Could not allocate a ${width}x${height} ${format} frame (out of memory?).`);
  const data = picture.data ?? [];
  const strides = picture.linesize;
  for (const plane of data) Object.defineProperty(plane.buffer, OWNER, { value: picture });
  const planes = data.map((plane, i) => ({ data: plane, stride: strides[i] }));
  return { picture, planes, bytes: planes.reduce((sum, p) => sum + p.data.length, 0), key };
}

/**
 * For decoders: a `Frame` holding `source` (a decoded picture) in `format`, in the pool's
 * memory: copied as it is when the formats match, else converted by `converter`.
 * @param timestamp ns.
 * @throws CodecError when memory cannot be had or the conversion fails.
 */
export function pooledFrame(pool: FramePool, source: AvFrame, format: PixelFormat, timestamp: bigint, converter: PixelConverter): Frame {
  const state = states.get(pool)!;
  const { width, height } = source;
  const key = `${format}:${width}x${height}`;
  let slot = state.free.get(key)?.pop();
  if (slot) state.freeBytes -= slot.bytes;
  else slot = newSlot(format, width, height, key);
  const target = toAvPixelFormat(format);
  const ret = source.format === target ? slot.picture.copy(source) : converter.convertAvFrame(source, slot.picture);
  if (ret < 0) throw new CodecError(`Could not copy a decoded ${width}x${height} picture into a ${format} frame (FFmpeg error ${ret}).`);
  const frame = createFrame({ width, height, format, planes: slot.planes, timestamp });
  state.owned.set(frame, slot);
  return frame;
}
