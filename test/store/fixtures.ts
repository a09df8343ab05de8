import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Frame } from '../../src/core/frame.js';
import type { VideoPacket } from '../../src/core/packet.js';
import { SyntheticSource } from '../../src/source/synthetic-source.js';
import { Recording, type RecordingOptions, type RecordingSummary, type StreamOptions } from '../../src/store/recording.js';
import { RecordingReader } from '../../src/store/recording-reader.js';

/** A fresh temporary folder and a function that removes it. */
export async function tempDir(prefix = 'framebus-store-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** SHA-1 of a frame's pixels and geometry: equal hashes mean bit-identical frames. */
export function frameHash(frame: Frame): string {
  const h = createHash('sha1').update(`${frame.width}x${frame.height}:${frame.format}`);
  for (const p of frame.planes) h.update(p.data);
  return h.digest('hex');
}

/** Epoch-based start time used by the test recordings (a realistic 2023 timestamp). */
export const T0 = 1_700_000_000_000_000_000n;

/** Records `frames` frames of the synthetic scene into one stream. */
export async function recordSynthetic(
  path: string,
  opts: { frames: number; width?: number; height?: number; stream?: string; streamOptions?: StreamOptions; recording?: RecordingOptions; seed?: number },
): Promise<RecordingSummary> {
  const recording = await Recording.create(path, opts.recording);
  const stream = recording.addStream(opts.stream ?? 'camera', opts.streamOptions);
  const source = new SyntheticSource({ width: opts.width ?? 320, height: opts.height ?? 240, frames: opts.frames, startTimestamp: T0, seed: opts.seed });
  for await (const frame of source) await stream.writeFrame(frame);
  return recording.close();
}

/** Every packet of a video stream of a recording, in order. */
export async function packetsOf(path: string, stream: string): Promise<VideoPacket[]> {
  const reader = await RecordingReader.open(path);
  const out: VideoPacket[] = [];
  for await (const p of reader.packets(stream)) out.push(p as VideoPacket);
  await reader.close();
  return out;
}
