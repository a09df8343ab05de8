import { InvalidArgumentError } from '../core/errors.js';
import { secondsToNs, nsToSeconds } from '../core/time.js';
import type { FrameSource } from '../source/frame-source.js';
import { Recording, type RecordingOptions, type RecordingSummary, type StreamOptions } from './recording.js';

/** Progress of a recording job. */
export interface RecordProgress {
  /** Frames recorded so far. */
  frames: number;
  /** Encoded payload bytes so far. */
  bytes: number;
  /** Source time recorded so far, seconds from the first frame. */
  seconds: number;
}

/** How to record a source. */
export interface RecordSourceOptions extends RecordingOptions {
  /** Name of the stream. Default `camera`. */
  stream?: string;
  /** Codec and encoder settings of the stream. Default H.264 with VideoEncoder's defaults. */
  streamOptions?: StreamOptions;
  /** Stop once the source's timestamps span this many seconds. Default: until the source ends. */
  duration?: number;
  /** Stop after this many frames. */
  frames?: number;
  /** Stops recording early; what was recorded is kept and the file is finished. */
  signal?: AbortSignal;
  /** Called after every frame. */
  onProgress?: (progress: RecordProgress) => void;
}

/**
 * Records frames from a source into a new recording file, encoding them once, until the
 * source ends, `duration` seconds of source time or `frames` frames are recorded, or `signal`
 * aborts. The file is finished (indexed) and put at `path` whatever stops the recording; only
 * a killed process leaves it unfinished, under its partial name (see `Recording`).
 * @throws InvalidArgumentError for bad options or a `path` that is the source's own file, a
 *   folder or a special file; the source's and encoder's errors (after finishing the file
 *   with what was recorded).
 */
export async function recordSource(source: FrameSource, path: string, options: RecordSourceOptions = {}): Promise<RecordingSummary> {
  const limit = options.duration === undefined ? undefined : secondsToNs(options.duration, 'duration');
  if (limit !== undefined && limit <= 0n) throw new InvalidArgumentError(`duration must be positive, got ${options.duration} s.`);
  if (options.frames !== undefined && !(Number.isInteger(options.frames) && options.frames > 0)) {
    throw new InvalidArgumentError(`frames must be a positive whole number, got ${String(options.frames)}.`);
  }
  let recording: Recording;
  try {
    recording = await Recording.create(path, { ...options, inputs: [...(options.inputs ?? []), source.info.path] });
  } catch (error) {
    await source.close();
    throw error;
  }
  const stream = recording.addStream(options.stream ?? 'camera', {
    ...options.streamOptions,
    encoder: { fps: source.info.fps, ...options.streamOptions?.encoder },
  });
  let first: bigint | undefined;
  let count = 0;
  try {
    for await (const frame of source) {
      if (options.signal?.aborted) break;
      first ??= frame.timestamp;
      if (limit !== undefined && frame.timestamp - first >= limit) break;
      await stream.writeFrame(frame);
      count++;
      options.onProgress?.({ frames: stream.frames, bytes: stream.bytes, seconds: nsToSeconds(frame.timestamp - first) });
      if (options.frames !== undefined && count >= options.frames) break;
    }
  } catch (error) {
    await recording.close().catch(() => undefined);
    throw error;
  } finally {
    await source.close();
  }
  return recording.close();
}
