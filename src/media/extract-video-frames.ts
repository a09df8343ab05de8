import { FrameTimestampError, InvalidArgumentError, OutOfToleranceError, UnreliableTimestampsError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { nsToSeconds } from '../core/time.js';
import { FileSource } from '../source/file-source.js';
import { checkOutputFolder } from '../core/output-file.js';
import { secondsToNs } from '../core/time.js';
import { writePngFrames, type ExtractedFrame } from '../store/extract-frames.js';
import { decodeVideoFrames, VideoDecoderCache } from './decode-video-frames.js';

/**
 * Writes the frames of a video file nearest to each of `times` (seconds from its first frame)
 * as PNG files in `outDir`, through `decodeVideoFrames` (each GOP decoded once, from the key
 * frame before the first time); a file without trustworthy presentation times (a raw stream,
 * AVI, times that do not rise) is decoded in order from its start instead, with the times
 * `FileSource` reconstructs. Nothing is re-encoded.
 * @throws InvalidArgumentError for a negative or non-finite time, or an `outDir` that is a
 *   file (checked before decoding); NotFoundError or
 *   MalformedDataError for a missing or unreadable file; OutOfToleranceError when the nearest
 *   frame is farther than `tolerance` seconds.
 */
export async function extractVideoFrames(
  path: string,
  times: readonly number[],
  outDir: string,
  options: { tolerance?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<ExtractedFrame[]> {
  if (!Array.isArray(times) || times.length === 0) throw new InvalidArgumentError('Give at least one time, in seconds from the first frame.');
  for (const t of times) if (secondsToNs(t, 'time') < 0n) throw new InvalidArgumentError(`Time must not be negative, got ${t} s.`);
  const tolerance = options.tolerance;
  if (tolerance !== undefined && secondsToNs(tolerance, 'tolerance') < 0n) throw new InvalidArgumentError(`tolerance must not be negative, got ${tolerance} s.`);
  await checkOutputFolder(outDir);
  const cache = new VideoDecoderCache(1);
  try {
    let start: number;
    try {
      start = (await cache.fileReader(path)).startS;
    } catch (error) {
      if (error instanceof UnreliableTimestampsError) return await extractInOrder(path, times, outDir, options);
      throw error;
    }
    let frames;
    try {
      // "Farther than the tolerance" fails here, so a frame exactly at the tolerance passes.
      frames = await decodeVideoFrames(path, times.map((t) => start + t), { cache, format: 'rgb24', toleranceS: tolerance === undefined ? Infinity : tolerance + 1e-9 });
    } catch (error) {
      if (error instanceof UnreliableTimestampsError) return await extractInOrder(path, times, outDir, options);
      if (!(error instanceof FrameTimestampError)) throw error;
      const t = error.requestedS - start;
      throw new OutOfToleranceError(`${path} has no frame within ${tolerance} s of ${+t.toFixed(9)} s; the nearest frame is at ${+(error.nearestS - start).toFixed(9)} s.`, error.requested, error.nearest);
    }
    const startNs = BigInt(Math.round(start * 1e9));
    return await writePngFrames(frames, times, startNs, outDir, { inputs: [path], onProgress: options.onProgress });
  } finally {
    await cache.clear();
  }
}

/** Decodes from the start up to the last time asked for, keeping each time's nearest frame. */
async function extractInOrder(path: string, times: readonly number[], outDir: string, options: { tolerance?: number; onProgress?: (done: number, total: number) => void }): Promise<ExtractedFrame[]> {
  const wanted = times.map((t) => secondsToNs(t, 'time'));
  const tolerance = options.tolerance === undefined ? undefined : secondsToNs(options.tolerance, 'tolerance');
  const last = wanted.reduce((a, b) => (b > a ? b : a));
  const distance = (frame: Frame, t: bigint) => (frame.timestamp > t ? frame.timestamp - t : t - frame.timestamp);
  const best: (Frame | undefined)[] = wanted.map(() => undefined);
  const source = await FileSource.open(path);
  try {
    for await (const frame of source) {
      wanted.forEach((t, i) => {
        if (!best[i] || distance(frame, t) < distance(best[i]!, t)) best[i] = frame;
      });
      // The first frame past the last time asked for is the last one that can be nearest.
      if (frame.timestamp > last) break;
    }
  } finally {
    await source.close();
  }
  const frames = best.map((frame, i) => {
    if (!frame) throw new InvalidArgumentError(`${path} has no frames.`);
    if (tolerance !== undefined && distance(frame, wanted[i]) > tolerance) {
      throw new OutOfToleranceError(`${path} has no frame within ${options.tolerance} s of ${times[i]} s; the nearest frame is at ${nsToSeconds(frame.timestamp)} s.`, wanted[i], frame.timestamp);
    }
    return frame;
  });
  return writePngFrames(frames, times, 0n, outDir, { inputs: [path], onProgress: options.onProgress });
}
