import { InvalidArgumentError, OutOfToleranceError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { checkOutputFolder } from '../core/output-file.js';
import { secondsToNs, nsToSeconds } from '../core/time.js';
import { FileSource } from '../source/file-source.js';
import { writePngFrames, type ExtractedFrame } from '../store/extract-frames.js';

/**
 * Writes the frames of a video file nearest to each of `times` (seconds from its first frame)
 * as PNG files in `outDir`, decoding the file once from the start up to the last time asked
 * for: nothing is re-encoded.
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
  const wanted = times.map((t) => {
    const ns = secondsToNs(t, 'time');
    if (ns < 0n) throw new InvalidArgumentError(`Time must not be negative, got ${t} s.`);
    return ns;
  });
  const tolerance = options.tolerance === undefined ? undefined : secondsToNs(options.tolerance, 'tolerance');
  if (tolerance !== undefined && tolerance < 0n) throw new InvalidArgumentError(`tolerance must not be negative, got ${options.tolerance} s.`);
  await checkOutputFolder(outDir);
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
      throw new OutOfToleranceError(
        `${path} has no frame within ${options.tolerance} s of ${times[i]} s; the nearest frame is at ${nsToSeconds(frame.timestamp)} s.`,
        wanted[i],
        frame.timestamp,
      );
    }
    return frame;
  });
  return writePngFrames(frames, times, 0n, outDir, { inputs: [path], onProgress: options.onProgress });
}
