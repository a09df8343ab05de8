import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '../core/errors.js';
import { nowNs } from '../core/time.js';
import type { FrameSource } from '../source/frame-source.js';
import type { Bus } from './bus.js';
import type { VideoTopicOptions } from './video/video-topic.js';

/** How `publishSource` publishes. */
export interface PublishSourceOptions extends VideoTopicOptions {
  /** Stop after this many frames. Default: when the source ends. */
  frames?: number;
  /** Stop after this many seconds. Default: when the source ends. */
  seconds?: number;
  /** Stops publishing when aborted (e.g. on Ctrl-C); the result counts what was sent. */
  signal?: AbortSignal;
  /**
   * `'now'` (default): each frame is stamped with the time it is published, as a live camera
   * would be. `'source'`: the source's timestamps are kept.
   */
  timestamps?: 'now' | 'source';
  /** Called after each frame is published. */
  onFrame?: (progress: PublishSourceResult) => void;
}

/** What `publishSource` did. */
export interface PublishSourceResult {
  /** Frames encoded and published. */
  frames: number;
  /** Packets published. */
  packets: number;
  /** Bytes of packet data published. */
  bytes: number;
  /** Frames ready more than one frame period after their slot (the source or encoding fell behind). */
  late: number;
  /** Seconds from the first frame to the last. */
  seconds: number;
}

/**
 * Publishes a frame source to video topic `topic` at the source's own frame rate: frame i
 * goes out i / fps seconds after the first (a source slower than that is published as fast
 * as it delivers). Frames are encoded once, with the source's fps as the encoder's; late
 * joiners get the current GOP. Ends when the source ends, a limit is reached or `signal`
 * aborts; then closes the source and the topic (not the bus).
 * @throws InvalidArgumentError for bad limits; CodecError or TransportError when encoding or
 *   publishing fails.
 */
export async function publishSource(bus: Bus, topic: string, source: FrameSource, options: PublishSourceOptions = {}): Promise<PublishSourceResult> {
  const { frames: maxFrames, seconds: maxSeconds, signal, timestamps = 'now', onFrame } = options;
  if (maxFrames !== undefined && !(Number.isInteger(maxFrames) && maxFrames >= 0)) {
    throw new InvalidArgumentError(`frames must be a whole number ≥ 0, got ${String(maxFrames)}.`);
  }
  if (maxSeconds !== undefined && !(Number.isFinite(maxSeconds) && maxSeconds >= 0)) {
    throw new InvalidArgumentError(`seconds must be a number ≥ 0, got ${String(maxSeconds)}.`);
  }
  if (timestamps !== 'now' && timestamps !== 'source') {
    throw new InvalidArgumentError(`timestamps must be 'now' or 'source', got ${JSON.stringify(timestamps)}.`);
  }
  const fps = source.info.fps;
  const video = bus.video(topic, { ...options, encoder: { fps, ...options.encoder } });
  const result: PublishSourceResult = { frames: 0, packets: 0, bytes: 0, late: 0, seconds: 0 };
  const start = performance.now();
  const periodMs = 1000 / fps;
  try {
    for await (const frame of source) {
      if (signal?.aborted || (maxFrames !== undefined && result.frames >= maxFrames)) break;
      const dueMs = start + result.frames * periodMs;
      const elapsed = performance.now() - start;
      if (maxSeconds !== undefined && elapsed >= maxSeconds * 1000) break;
      const wait = dueMs - performance.now();
      if (wait > 0) {
        try {
          await sleep(wait, undefined, { signal });
        } catch {
          break;
        }
      } else if (wait < -periodMs) {
        result.late++;
      }
      const packets = await video.publishFrame(timestamps === 'now' ? { ...frame, timestamp: nowNs() } : frame);
      result.frames++;
      result.packets += packets.length;
      result.bytes += packets.reduce((sum, p) => sum + p.data.byteLength, 0);
      result.seconds = (performance.now() - start) / 1000;
      onFrame?.({ ...result });
    }
  } finally {
    await source.close();
    await video.close();
  }
  return result;
}
