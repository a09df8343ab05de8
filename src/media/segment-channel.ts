import { Worker } from 'node:worker_threads';
import { packedSize, type Frame, type PixelFormat } from '../core/frame.js';
import { copyPacked, FrameRing } from './frame-ring.js';
import { frameCommand } from './segment-handoff.js';
import type { WorkerCommand, WorkerEnvelope } from './segment-types.js';

/** What a ring record holds (its tag). */
export const RECORD_FRAME = 0;
export const RECORD_AUDIO = 1;
/** The picture a ring's slots are made for. */
type RingLayout = { width: number; height: number; format: PixelFormat };

/** The ring's share of memory: at most this many bytes of slots, in bytes. */
const RING_BYTES = 64 * 1024 * 1024;

/**
 * Starts the worker module beside this one: the built JavaScript, or, when running from
 * source under tsx, the TypeScript through tsx's loader (Node 20 workers do not inherit the
 * loader that `--import tsx` registered in the main thread).
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./segment-worker.js', import.meta.url));
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./segment-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true });
}

/**
 * The producer's side of the way to a segment streamer's worker. Frames and PCM go through a
 * `FrameRing` in shared memory: a copy into a free slot and a counter bump, no allocation and
 * no message (a `postMessage` per frame blocked the producer up to a few ms behind the port
 * lock of a preempted worker, and a fresh 1 MB buffer per frame up to 18 ms in `mmap`).
 * Control commands, and data the ring cannot take (full, or bigger than a slot), go by
 * `postMessage`. Order is exact: each message carries the number of ring records written
 * before it, and each record the number of messages posted before it; the worker merges both.
 */
export class SegmentChannel {
  readonly worker: Worker;
  private ring: FrameRing | undefined;
  private posted = 0;

  /** `layout`, when known, makes the ring now, so the worker touches its memory before the first frame. */
  constructor(
    private readonly fps: number,
    private readonly maxQueued: number,
    layout?: RingLayout,
  ) {
    this.worker = startWorker();
    if (layout) this.makeRing(layout);
  }

  /** Posts a command after everything handed over so far. */
  post(command: WorkerCommand, transfer: ArrayBuffer[] = []): void {
    this.posted++;
    this.worker.postMessage({ after: this.ring?.written ?? 0, command } satisfies WorkerEnvelope, transfer);
  }

  /** Hands over a checked frame of the segment the worker is on; the caller may reuse its buffers on return. */
  frame(segment: number, frame: Frame): void {
    const ring = this.ringFor(frame);
    if (ring && ring.room() > 0 && ring.shape.format === frame.format) {
      copyPacked(frame, ring.bytes, ring.nextOffset());
      ring.publish(0n, this.posted, ring.shape.slotBytes, RECORD_FRAME);
      return;
    }
    const { command, transfer } = frameCommand(segment, frame);
    this.post(command, transfer);
  }

  /** Hands over float32 PCM of the segment the worker is on, copied: `samples` may be the producer's own. */
  audio(segment: number, samples: Float32Array): void {
    const ring = this.ring;
    const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
    if (ring && ring.room() > 0 && bytes.byteLength <= ring.shape.slotBytes) {
      ring.bytes.set(bytes, ring.nextOffset());
      ring.publish(0n, this.posted, bytes.byteLength, RECORD_AUDIO);
      return;
    }
    const own = samples.slice();
    this.post({ type: 'audio', segment, samples: own }, [own.buffer]);
  }

  /** The ring for `frame`: the one made already, unless it is of another format and unused; else one made now with the frame's layout. */
  private ringFor(frame: Frame): FrameRing | undefined {
    if (this.ring && (this.ring.shape.format === frame.format || this.ring.written > 0)) return this.ring;
    return this.makeRing(frame);
  }

  /** A ring with slots for a couple of segments' frames of `layout`, within `RING_BYTES`, sent to the worker. */
  private makeRing(layout: RingLayout): FrameRing {
    const slotBytes = packedSize(layout.format, layout.width, layout.height);
    const slots = Math.max(4, Math.min(Math.ceil(this.fps) * this.maxQueued, Math.floor(RING_BYTES / slotBytes)));
    const ring = FrameRing.create({ width: layout.width, height: layout.height, format: layout.format }, slots, slotBytes);
    this.post({ type: 'ring', ring: ring.shape });
    this.ring = ring;
    return ring;
  }
}
