import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MissingDependencyError } from '../core/errors.js';
import { nsToSeconds } from '../core/time.js';
import { exportClip } from '../media/export.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { Recording } from '../store/recording.js';
import { RecordingReader } from '../store/recording-reader.js';
import { quantile, round } from './stats.js';

const run = promisify(execFile);

/** Latency percentiles of one access pattern, milliseconds per frame. */
export interface FrameLatency {
  p50_ms: number;
  p95_ms: number;
}

/** Result of the seek benchmark (JSON-able). */
export interface SeekBenchResult {
  frames: number;
  width: number;
  height: number;
  gop: number;
  requests: number;
  /** A fresh reader and decoder for every request (open, seek, decode). */
  cold: FrameLatency;
  /** Random times through one reader: its decoder and frame cache carry over between requests. */
  cached_random: FrameLatency;
  /** The same times in rising order through one reader (a scrubber, a sorted training batch). */
  cached_sequential: FrameLatency;
  /** As `cached_sequential`, but frames handed out as the decoder's yuv420p: no RGB conversion. */
  cached_sequential_yuv420p: FrameLatency;
  /** PyAV, LeRobot's way, per random request: seek to the key frame before, decode up to the frame, convert to RGB. */
  pyav: FrameLatency;
  /** framebus p50 with the cache (sequential-ish access) ÷ PyAV p50. Goal ≤ 0.5. */
  seek_vs_pyav: number;
  /** framebus p50 with the cache on random access ÷ PyAV p50. */
  seek_vs_pyav_random: number;
  /** framebus p50 cold ÷ PyAV p50. */
  cold_vs_pyav: number;
}

/** How to run the seek benchmark. */
export interface SeekBenchOptions {
  /** Frames in the test recording. Default 300. */
  frames?: number;
  /** Default 640. */
  width?: number;
  /** Default 480. */
  height?: number;
  /** Frames per GOP. Default 30. */
  gop?: number;
  /** Random frame requests per pattern. Default 100. */
  requests?: number;
  /** Seed of the random request order. Default 1. */
  seed?: number;
  /** The Python with PyAV: Debian's python3-av. Default `/usr/bin/python3`. */
  python?: string;
}

/** LeRobot's PyAV access: seek backward to a key frame, decode until the frame at or after the target. */
const PYAV_SCRIPT = `
import av, json, sys, time
path, targets = sys.argv[1], json.loads(sys.argv[2])
container = av.open(path)
stream = container.streams.video[0]
tb = float(stream.time_base)
out = []
for seconds in targets:
    t0 = time.perf_counter()
    pts = int(seconds / tb)
    container.seek(pts, backward=True, any_frame=False, stream=stream)
    for frame in container.decode(stream):
        if frame.pts >= pts:
            frame.to_ndarray(format="rgb24")
            break
    out.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"latencies": out, "version": av.__version__}))
`;

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function figures(latencies: number[]): FrameLatency {
  return { p50_ms: round(quantile(latencies, 0.5)), p95_ms: round(quantile(latencies, 0.95)) };
}

async function timed(task: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await task();
  return performance.now() - t0;
}

/**
 * Measures `frameAt` latency over a synthetic H.264 recording (default 640x480, GOP 30, 300
 * frames): cold, and through one reader with its decoder cache on random and rising times;
 * and PyAV seeking and decoding the same frames from an MP4 of the same packets, LeRobot's
 * way. Everything runs side by side in one process run.
 * @throws MissingDependencyError when PyAV (Debian's python3-av) is not installed.
 */
export async function runSeekBench(options: SeekBenchOptions = {}): Promise<SeekBenchResult> {
  const frames = options.frames ?? 300;
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  const gop = options.gop ?? 30;
  const requests = options.requests ?? 100;
  const python = options.python ?? '/usr/bin/python3';
  const dir = await mkdtemp(join(tmpdir(), 'framebus-seek-bench-'));
  try {
    const path = join(dir, 'seek.mcap');
    const recording = await Recording.create(path);
    const stream = recording.addStream('camera', { encoder: { gop, fps: 30 } });
    for await (const frame of new SyntheticSource({ width, height, frames })) await stream.writeFrame(frame);
    const { streams } = await recording.close();
    const mp4 = join(dir, 'seek.mp4');
    await exportClip(path, mp4);

    const start = streams[0].start;
    const rand = random(options.seed ?? 1);
    const reader0 = await RecordingReader.open(path);
    const times: bigint[] = [];
    for await (const p of reader0.packets('camera')) times.push(p.timestamp);
    await reader0.close();
    const targets = Array.from({ length: requests }, () => times[Math.floor(rand() * times.length)]);

    const cold: number[] = [];
    for (const t of targets) {
      cold.push(
        await timed(async () => {
          const reader = await RecordingReader.open(path);
          await reader.frameAt('camera', t);
          await reader.close();
        }),
      );
    }
    const throughOne = async (order: bigint[], format: 'rgb24' | 'yuv420p' = 'rgb24') => {
      const reader = await RecordingReader.open(path);
      const latencies: number[] = [];
      for (const t of order) latencies.push(await timed(() => reader.frameAt('camera', t, { format })));
      await reader.close();
      return latencies;
    };
    const cachedRandom = await throughOne(targets);
    const sorted = [...targets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const cachedSequential = await throughOne(sorted);
    const cachedSequentialYuv = await throughOne(sorted, 'yuv420p');

    let pyav: number[];
    try {
      const seconds = targets.map((t) => nsToSeconds(t - start));
      const { stdout } = await run(python, ['-c', PYAV_SCRIPT, mp4, JSON.stringify(seconds)], { maxBuffer: 16 * 1024 * 1024 });
      pyav = (JSON.parse(stdout) as { latencies: number[] }).latencies;
    } catch (error) {
      throw new MissingDependencyError(`PyAV did not run with ${python} (install Debian's python3-av): ${(error as Error).message}`, { cause: error });
    }
    const pyavFigures = figures(pyav);
    const result = {
      frames,
      width,
      height,
      gop,
      requests,
      cold: figures(cold),
      cached_random: figures(cachedRandom),
      cached_sequential: figures(cachedSequential),
      cached_sequential_yuv420p: figures(cachedSequentialYuv),
      pyav: pyavFigures,
    };
    return {
      ...result,
      seek_vs_pyav: round(result.cached_sequential.p50_ms / pyavFigures.p50_ms),
      seek_vs_pyav_random: round(result.cached_random.p50_ms / pyavFigures.p50_ms),
      cold_vs_pyav: round(result.cold.p50_ms / pyavFigures.p50_ms),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
