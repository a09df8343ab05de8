import { checkAudioOptions } from '../codec/audio-encoder.js';
import { InvalidArgumentError } from '../core/errors.js';
import { PIXEL_FORMATS } from '../core/frame.js';
import { checkFps } from '../core/time.js';
import type { SegmentStreamerOptions } from './segment-types.js';

/**
 * Checks `SegmentStreamer` options.
 * @throws InvalidArgumentError naming the first bad one.
 */
export function checkStreamerOptions(o: SegmentStreamerOptions): void {
  for (const side of ['width', 'height'] as const) {
    if (!Number.isInteger(o?.[side]) || o[side] < 2 || o[side] > 16384) {
      throw new InvalidArgumentError(`${side} must be a whole number of pixels from 2 to 16384, got ${String(o?.[side])}.`);
    }
  }
  if (o.fps !== undefined) checkFps(o.fps);
  if (o.frameFormat !== undefined && !(PIXEL_FORMATS as readonly string[]).includes(o.frameFormat)) {
    throw new InvalidArgumentError(`frameFormat must be one of ${PIXEL_FORMATS.join(', ')}, got ${JSON.stringify(o.frameFormat)}.`);
  }
  if (o.audio) checkAudioOptions(o.audio);
  if (o.maxQueued !== undefined && !(Number.isInteger(o.maxQueued) && o.maxQueued >= 1)) {
    throw new InvalidArgumentError(`maxQueued must be a whole number ≥ 1, got ${String(o.maxQueued)}.`);
  }
  if (o.overflow !== undefined && o.overflow !== 'wait' && o.overflow !== 'drop-oldest') {
    throw new InvalidArgumentError(`overflow must be 'wait' or 'drop-oldest', got ${JSON.stringify(o.overflow)}.`);
  }
  if (o.fragmentFrames !== undefined && !(Number.isInteger(o.fragmentFrames) && o.fragmentFrames >= 1)) {
    throw new InvalidArgumentError(`fragmentFrames must be a whole number ≥ 1, got ${String(o.fragmentFrames)}.`);
  }
}

/** A head trim count: a whole number ≥ 0 (0 when omitted). */
export function checkTrim(name: string, v: number | undefined): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got ${String(v)}.`);
  return v;
}
