import { stat } from 'node:fs/promises';
import { InvalidArgumentError, NotFoundError } from '../core/errors.js';
import { FileSource } from './file-source.js';
import type { FrameSource } from './frame-source.js';
import { PngFolderSource } from './png-folder-source.js';
import { SyntheticSource } from './synthetic-source.js';

/** Options every source kind understands. */
export interface OpenSourceOptions {
  /** Output width in pixels. */
  width?: number;
  /** Output height in pixels. */
  height?: number;
  /** Frames per second (the synthetic scene's rate; files are resampled to it). */
  fps?: number;
  /** Stop after this many frames. */
  frames?: number;
  /** Deliver frames at their frame rate with timestamps of now (live publishing), not as fast as possible. */
  realtime?: boolean;
  /** Seed of the synthetic scene. */
  seed?: number;
}

const SYNTHETIC = /^synthetic(?::(\d+)x(\d+)(?:@(\d+(?:\.\d+)?))?)?$/;

/** What bare `synthetic` means. */
export const SYNTHETIC_DEFAULTS = { width: 640, height: 480, fps: 30 } as const;

/**
 * Whether a spec names a live source (the synthetic scene, a camera): recording one runs at
 * its frame rate with timestamps of now, where a file is read as fast as it decodes.
 */
export function isLiveSource(spec: string): boolean {
  return spec.startsWith('synthetic') || spec.startsWith('camera:') || spec.startsWith('/dev/video');
}

/** Frames `encode` takes from the endless synthetic scene when not told: 10 s at 30 fps. */
export const SYNTHETIC_ENCODE_FRAMES = 300;

/** The frame cap a command writing a file uses for `spec` when none is given: only the endless synthetic scene has one. */
export function defaultFrameCap(spec: string): number | undefined {
  return spec.startsWith('synthetic') ? SYNTHETIC_ENCODE_FRAMES : undefined;
}

/**
 * Opens a frame source from a spec a person types:
 * - `synthetic` (640x480 at 30 fps) or `synthetic:WIDTHxHEIGHT@FPS`: the deterministic test
 *   scene; width, height and fps given in `options` override the spec's;
 * - `camera:/dev/video0` (or a `/dev/video*` path): a V4L2 camera through FFmpeg;
 * - a folder: numbered PNG frames (`frame-000000.png`);
 * - anything else: a video file or URL FFmpeg can read.
 * @throws InvalidArgumentError for a malformed spec; NotFoundError for a missing file or device.
 */
export async function openSource(spec: string, options: OpenSourceOptions = {}): Promise<FrameSource> {
  if (typeof spec !== 'string' || spec.trim() === '') throw new InvalidArgumentError('A source is required: synthetic, camera:/dev/videoN, a folder of PNGs, or a video file.');
  const synthetic = SYNTHETIC.exec(spec);
  if (synthetic) {
    return new SyntheticSource({
      width: options.width ?? (synthetic[1] ? Number(synthetic[1]) : SYNTHETIC_DEFAULTS.width),
      height: options.height ?? (synthetic[2] ? Number(synthetic[2]) : SYNTHETIC_DEFAULTS.height),
      fps: options.fps ?? (synthetic[3] ? Number(synthetic[3]) : SYNTHETIC_DEFAULTS.fps),
      frames: options.frames,
      seed: options.seed,
      realtime: options.realtime,
    });
  }
  if (spec.startsWith('synthetic')) {
    throw new InvalidArgumentError(`Bad synthetic source ${JSON.stringify(spec)}; write synthetic or synthetic:WIDTHxHEIGHT@FPS.`);
  }
  const camera = spec.startsWith('camera:') ? spec.slice('camera:'.length) : spec.startsWith('/dev/video') ? spec : undefined;
  if (camera !== undefined) {
    try {
      await stat(camera);
    } catch {
      throw new NotFoundError(`Camera device ${camera} not found; list devices with: ls /dev/video*`);
    }
    const inputOptions: Record<string, string> = {};
    if (options.width && options.height) inputOptions.video_size = `${options.width}x${options.height}`;
    if (options.fps) inputOptions.framerate = String(options.fps);
    const source = await FileSource.open(camera, { ...options, inputFormat: 'video4linux2', inputOptions, startTimestamp: undefined });
    return source;
  }
  const info = await stat(spec).catch(() => undefined);
  if (info?.isDirectory()) return PngFolderSource.open(spec, options);
  return FileSource.open(spec, options);
}
