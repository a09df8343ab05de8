import { absoluteNow } from './segment-packager.js';
import type { SegmentTimings, WorkerReply } from './segment-types.js';

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo] + (sorted[Math.ceil(pos)] - sorted[lo]) * (pos - lo);
}

/**
 * Measures one segment on the producer's thread. Each segment has its own timer and the
 * timings object it returns is new: nothing is shared with the producer or the worker, and
 * nothing outlives the segment.
 */
export class SegmentTimer {
  private startedAt: number | undefined;
  private firstChunkAt: number | undefined;
  private lastChunkAt: number | undefined;
  private readonly intervals: number[] = [];
  private readonly publish: number[] = [];
  private bytes = 0;

  /** @param begunAt when the producer began the segment, absolute ms. */
  constructor(private readonly begunAt: number) {}

  /** The worker started the segment at `at` (absolute ms). */
  started(at: number): void {
    this.startedAt = at;
  }

  /** A fragment posted by the worker at `at` reaches the producer's thread now. */
  chunk(at: number, bytes: number): void {
    const now = absoluteNow();
    this.firstChunkAt ??= now;
    if (this.lastChunkAt !== undefined) this.intervals.push(now - this.lastChunkAt);
    this.lastChunkAt = now;
    this.publish.push(Math.max(0, now - at));
    this.bytes += bytes;
  }

  /** The segment's timings, from the worker's `complete` reply and what this timer saw. */
  finish(reply: Extract<WorkerReply, { type: 'complete' }>): SegmentTimings {
    const intervals = [...this.intervals].sort((a, b) => a - b);
    const publish = [...this.publish].sort((a, b) => a - b);
    return {
      queueWaitMs: Math.max(0, (this.startedAt ?? this.begunAt) - this.begunAt),
      encodeMs: reply.encodeMs,
      firstChunkMs: (this.firstChunkAt ?? absoluteNow()) - this.begunAt,
      chunkIntervalP50Ms: quantile(intervals, 0.5),
      chunkIntervalP95Ms: quantile(intervals, 0.95),
      publishP50Ms: quantile(publish, 0.5),
      bytes: this.bytes,
      frames: reply.frames,
      audioSamples: reply.audioSamples,
      audioPadded: reply.audioPadded,
      audioCut: reply.audioCut,
    };
  }
}
