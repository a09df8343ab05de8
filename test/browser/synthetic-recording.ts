import { Recording } from '../../src/store/recording.js';
import { SyntheticSource } from '../../src/source/synthetic-source.js';
import { frameDurationNs } from '../../src/core/time.js';

/** What a synthetic recording holds: frame `i` of every stream has timestamp `start + i * period`. */
export interface SyntheticRecording {
  readonly path: string;
  readonly start: bigint;
  /** ns between frames. */
  readonly period: bigint;
  readonly frames: number;
}

/** Recording start time of the fixtures: 2024-01-01T00:00:00Z. */
export const FIXTURE_START = 1_704_067_200_000_000_000n;

/**
 * Writes a recording of the synthetic scene: an H.264 stream `camera` (key frame every `gop`
 * frames) and, when `jpegEvery` is set, a JPEG stream `snapshot` with every n-th frame.
 */
export async function writeSyntheticRecording(
  path: string,
  options: { frames: number; fps?: number; gop?: number; width?: number; height?: number; jpegEvery?: number },
): Promise<SyntheticRecording> {
  const fps = options.fps ?? 30;
  const source = new SyntheticSource({ width: options.width ?? 320, height: options.height ?? 240, fps, frames: options.frames, startTimestamp: FIXTURE_START });
  const recording = await Recording.create(path, { overwrite: true });
  const camera = recording.addStream('camera', { codec: 'h264', encoder: { gop: options.gop ?? 30, fps } });
  const snapshot = options.jpegEvery ? recording.addStream('snapshot', { codec: 'jpeg' }) : undefined;
  let i = 0;
  for await (const frame of source) {
    await camera.writeFrame(frame);
    if (snapshot && i % options.jpegEvery! === 0) await snapshot.writeFrame(frame);
    i++;
  }
  await recording.close();
  return { path, start: FIXTURE_START, period: frameDurationNs(fps), frames: options.frames };
}
