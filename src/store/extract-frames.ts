import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { checkOutputFolder, createOutputFolder, removeFolders, writeOutputFile } from '../core/output-file.js';
import { secondsToNs, nsToSeconds } from '../core/time.js';
import { createImageCodec } from '../codec/image-codec.js';
import { RecordingReader, type RecordingReaderOptions } from './recording-reader.js';

/** How to extract frames. */
export interface ExtractFramesOptions extends RecordingReaderOptions {
  /** Largest allowed distance, seconds, from a requested time to the nearest frame. Default: any. */
  tolerance?: number;
  /** Called after each file is written. */
  onProgress?: (done: number, total: number) => void;
}

/** One extracted frame. */
export interface ExtractedFrame {
  /** The time asked for, seconds from the stream's first frame. */
  requested: number;
  /** The frame's own time, seconds from the stream's first frame. */
  actual: number;
  /** Its timestamp, ns since the Unix epoch, as a decimal string. */
  timestamp: string;
  /** The PNG file written. */
  file: string;
}

/**
 * Writes the frames of `stream` nearest to each of `times` (seconds from the stream's first
 * frame) as PNG files `frame-<index>-<seconds>s.png` in `outDir`, decoding them in one pass.
 * @throws InvalidArgumentError for a negative or non-finite time, or an `outDir` that is a
 *   file (checked before decoding); NotFoundError for an unknown stream; OutOfToleranceError
 *   when a frame is farther than `tolerance`; as `writePngFrames` when writing fails.
 */
export async function extractFrames(path: string, stream: string, times: readonly number[], outDir: string, options: ExtractFramesOptions = {}): Promise<ExtractedFrame[]> {
  if (!Array.isArray(times) || times.length === 0) throw new InvalidArgumentError('Give at least one time, in seconds from the first frame.');
  await checkOutputFolder(outDir);
  const reader = await RecordingReader.open(path, options);
  try {
    const requested = await Promise.all(times.map((t) => reader.timeAt(stream, t)));
    const tolerance = options.tolerance === undefined ? undefined : secondsToNs(options.tolerance, 'tolerance');
    if (tolerance !== undefined && tolerance < 0n) throw new InvalidArgumentError(`tolerance must not be negative, got ${options.tolerance} s.`);
    const frames = await reader.framesAt(stream, requested, { tolerance, format: 'rgb24' });
    return await writePngFrames(frames, times, (await reader.stream(stream)).start, outDir, { inputs: [path], onProgress: options.onProgress });
  } finally {
    await reader.close();
  }
}

/**
 * Writes `frames` (answers to `times`, seconds from `start`) as PNG files
 * `frame-<index>-<seconds>s.png` in `outDir`, creating it. Each file appears whole (see
 * `OutputFile`), files of the same name are replaced, and `inputs` are never written over.
 * When a file cannot be written, the files and folders this call made are removed.
 * @throws InvalidArgumentError when `outDir` is a file; FileSystemError when it cannot be
 *   created or written in.
 */
export async function writePngFrames(
  frames: readonly Frame[],
  times: readonly number[],
  start: bigint,
  outDir: string,
  options: { inputs?: readonly string[]; onProgress?: (done: number, total: number) => void } = {},
): Promise<ExtractedFrame[]> {
  const png = createImageCodec('png');
  const created = await createOutputFolder(outDir);
  const out: ExtractedFrame[] = [];
  try {
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i];
      const actual = nsToSeconds(frame.timestamp - start);
      const file = join(outDir, `frame-${String(i).padStart(4, '0')}-${actual.toFixed(3)}s.png`);
      const data = (await png.encode(frame)).data;
      await writeOutputFile(file, { inputs: options.inputs, overwrite: true }, (temp) => writeFile(temp, data));
      out.push({ requested: times[i], actual, timestamp: String(frame.timestamp), file });
      options.onProgress?.(i + 1, frames.length);
    }
  } catch (error) {
    await Promise.all(out.map((f) => rm(f.file, { force: true })));
    await removeFolders(created);
    throw error;
  }
  return out;
}
