import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MissingDependencyError } from '../core/errors.js';
import { FramePool } from '../codec/frame-pool.js';
import { decodeVideoFrames, VideoDecoderCache } from '../media/decode-video-frames.js';
import { benchmarkFfmpeg } from './ffmpeg-cli.js';
import { PyavPeer } from './pyav-peer.js';
import { median, round } from './stats.js';

const run = promisify(execFile);

/** One benchmark file, encoded as LeRobot's `encode_video_frames` does (crf 30, yuv420p). */
interface BenchFile {
  name: string;
  path: string;
}

/** framebus ÷ PyAV per file, and the worst of them (the figure judged against the goal). */
export interface PerFileRatio {
  av1_gop2: number;
  h264_gop30: number;
  worst: number;
}

/** Medians behind a ratio, ms per request: wall time and CPU time (all threads of each process). */
export interface LatencyPair {
  framebus_ms: number;
  pyav_ms: number;
  framebus_cpu_ms: number;
  pyav_cpu_ms: number;
}

/** Result of `framebus bench dataset` (JSON-able). */
export interface DatasetBenchResult {
  frames: number;
  width: number;
  height: number;
  requests: number;
  pyav_version: string;
  /** Median time to fetch 1 random timestamp, framebus ÷ PyAV seek-and-decode, decoders warm, frames released to a `FramePool` once checked. Goal ≤ 0.5. */
  decode_vs_pyav_random_1: PerFileRatio;
  /** The same for 6 consecutive frames ending at a random one (LeRobot's `6_frames`). Goal ≤ 0.5. */
  decode_vs_pyav_random_6: PerFileRatio;
  /** Sequential decode (yuv420p, every frame, in batches of 30 released to a `FramePool`) ÷ `ffmpeg -threads 1 -f null` throughput; default threads. Goal ≥ 0.9. */
  decode_vs_ffmpeg: PerFileRatio;
  /** As `decode_vs_ffmpeg` with one decoder thread, like the reference. */
  decode_vs_ffmpeg_threads1: PerFileRatio;
  /** ffmpeg's CPU time ÷ framebus's (one thread each) for the same sequential decode: the work per frame, whatever the neighbours do. */
  decode_vs_ffmpeg_threads1_cpu: PerFileRatio;
  /** First request on a file not yet opened (open, seek, decode), framebus ÷ PyAV. Goal ≤ 1.0. */
  cold_vs_pyav: PerFileRatio;
  /** The medians behind each ratio, per file. */
  detail: Record<string, Record<string, LatencyPair | { framebus_fps: number; ffmpeg_fps: number } | { framebus_cpu_ms: number; ffmpeg_cpu_ms: number }>>;
  /** Sequential decode as `decode_vs_ffmpeg` with every frame in fresh memory (no pool) ÷ ffmpeg. */
  decode_vs_ffmpeg_unpooled: PerFileRatio;
}

/** How to run the dataset benchmark. */
export interface DatasetBenchOptions {
  /** Frames per file (30 fps). Default 300. */
  frames?: number;
  /** Requests per access pattern and file. Default 40. */
  requests?: number;
  /** Seed of the random positions. Default 1. */
  seed?: number;
  /** The Python with PyAV. Default `/usr/bin/python3`. */
  python?: string;
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function makeFiles(dir: string, frames: number): Promise<BenchFile[]> {
  const source = ['-f', 'lavfi', '-i', `testsrc2=size=640x480:rate=30`, '-frames:v', String(frames), '-pix_fmt', 'yuv420p'];
  const files = [
    { name: 'av1_gop2', path: join(dir, 'av1.mp4'), codec: ['-c:v', 'libsvtav1', '-g', '2', '-crf', '30'] },
    { name: 'h264_gop30', path: join(dir, 'h264.mp4'), codec: ['-c:v', 'libx264', '-g', '30', '-crf', '30'] },
  ];
  for (const f of files) {
    try {
      await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...source, ...f.codec, f.path]);
    } catch (error) {
      throw new MissingDependencyError(`The ffmpeg CLI (with libsvtav1 and libx264) makes the benchmark files; install Debian's ffmpeg: ${(error as Error).message}`, { cause: error });
    }
  }
  return files;
}

function ratio(values: Record<string, number>, worst: (a: number, b: number) => number): PerFileRatio {
  const r = { av1_gop2: round(values.av1_gop2, 3), h264_gop30: round(values.h264_gop30, 3) };
  return { ...r, worst: worst(r.av1_gop2, r.h264_gop30) };
}

/**
 * Random access and sequential decoding of dataset-style MP4s (640x480, GOP-2 AV1 and GOP-30
 * H.264, encoded with LeRobot's settings) by `decodeVideoFrames`, side by side with PyAV doing
 * what LeRobot's pyav backend does (in one long-lived Python process) and with
 * `ffmpeg -threads 1 -f null`. Requests alternate between framebus and PyAV so both see the
 * same machine load; both must pick the same frames.
 * @throws MissingDependencyError when PyAV or the ffmpeg CLI is missing.
 */
export async function runDatasetBench(options: DatasetBenchOptions = {}): Promise<DatasetBenchResult> {
  const frames = options.frames ?? 300;
  const requests = options.requests ?? 40;
  const dir = await mkdtemp(join(tmpdir(), 'framebus-dataset-bench-'));
  const peer = await PyavPeer.start(options.python);
  try {
    const files = await makeFiles(dir, frames);
    const rand = random(options.seed ?? 1);
    // LeRobot's benchmark starts at index 5 so that 6_frames has its 5 frames before.
    const index = () => 5 + Math.floor(rand() * (frames - 5));
    const detail: DatasetBenchResult['detail'] = {};
    const r1: Record<string, number> = {};
    const r6: Record<string, number> = {};
    const cold: Record<string, number> = {};
    const seq: Record<string, number> = {};
    const unpooled: Record<string, number> = {};
    const seq1: Record<string, number> = {};
    const cpu1: Record<string, number> = {};
    for (const f of files) {
      const compare = async (make: () => number[], isCold: boolean): Promise<LatencyPair> => {
        const ours: number[] = [];
        const theirs: number[] = [];
        const ourCpu: number[] = [];
        const theirCpu: number[] = [];
        const cache = new VideoDecoderCache(4);
        const pool = new FramePool();
        await decodeVideoFrames(f.path, [0], { cache });
        await peer.fetch(f.path, [0], false);
        for (let i = 0; i < requests; i++) {
          const ts = make();
          const own = isCold ? new VideoDecoderCache(1) : cache;
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          const got = await decodeVideoFrames(f.path, ts, { cache: own, pool });
          ours.push(performance.now() - t0);
          const cpu = process.cpuUsage(c0);
          ourCpu.push((cpu.user + cpu.system) / 1000);
          if (isCold) await own.clear();
          const py = await peer.fetch(f.path, ts, isCold);
          theirs.push(py.ms);
          theirCpu.push(py.cpu_ms);
          got.forEach((frame, k) => {
            if (Math.abs(Number(frame.timestamp) / 1e9 - py.times[k]) > 1e-6) throw new Error(`${f.name}: framebus and PyAV picked different frames for ${ts[k]} s (${Number(frame.timestamp) / 1e9} vs ${py.times[k]}).`);
          });
          pool.release(got);
        }
        await cache.clear();
        return { framebus_ms: round(median(ours), 3), pyav_ms: round(median(theirs), 3), framebus_cpu_ms: round(median(ourCpu), 3), pyav_cpu_ms: round(median(theirCpu), 3) };
      };
      const one = await compare(() => [index() / 30], false);
      const six = await compare(() => {
        const i = index();
        return [5, 4, 3, 2, 1, 0].map((k) => (i - k) / 30);
      }, false);
      const first = await compare(() => [index() / 30], true);
      const sequential = async (threads: number | undefined, pooled = true) => {
        const cache = new VideoDecoderCache(1, { threads });
        const pool = pooled ? new FramePool() : undefined;
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < frames; i += 30) {
          const got = await decodeVideoFrames(
            f.path,
            Array.from({ length: Math.min(30, frames - i) }, (_, k) => (i + k) / 30),
            { cache, format: 'yuv420p', pool },
          );
          pool?.release(got);
        }
        const seconds = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(c0);
        await cache.clear();
        return { fps: frames / seconds, cpuMs: (cpu.user + cpu.system) / 1000 };
      };
      const ourFps: number[] = [];
      const unpooledFps: number[] = [];
      const ourFps1: number[] = [];
      const ourCpu1: number[] = [];
      const refFps: number[] = [];
      const refCpu: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        ourFps.push((await sequential(undefined)).fps);
        unpooledFps.push((await sequential(undefined, false)).fps);
        const ref = await benchmarkFfmpeg(['-threads', '1', '-i', f.path, '-f', 'null', '-']);
        refFps.push(frames / ref.rtime);
        refCpu.push(ref.utime * 1000);
        const one = await sequential(1);
        ourFps1.push(one.fps);
        ourCpu1.push(one.cpuMs);
      }
      r1[f.name] = one.framebus_ms / one.pyav_ms;
      r6[f.name] = six.framebus_ms / six.pyav_ms;
      cold[f.name] = first.framebus_ms / first.pyav_ms;
      seq[f.name] = median(ourFps) / median(refFps);
      unpooled[f.name] = median(unpooledFps) / median(refFps);
      seq1[f.name] = median(ourFps1) / median(refFps);
      cpu1[f.name] = median(refCpu) / median(ourCpu1);
      detail[f.name] = {
        random_1: one,
        random_6: six,
        cold: first,
        sequential: { framebus_fps: round(median(ourFps), 1), ffmpeg_fps: round(median(refFps), 1) },
        sequential_unpooled: { framebus_fps: round(median(unpooledFps), 1), ffmpeg_fps: round(median(refFps), 1) },
        sequential_threads1: { framebus_fps: round(median(ourFps1), 1), ffmpeg_fps: round(median(refFps), 1) },
        sequential_threads1_cpu: { framebus_cpu_ms: round(median(ourCpu1), 1), ffmpeg_cpu_ms: round(median(refCpu), 1) },
      };
    }
    return {
      frames,
      width: 640,
      height: 480,
      requests,
      pyav_version: peer.version,
      decode_vs_pyav_random_1: ratio(r1, Math.max),
      decode_vs_pyav_random_6: ratio(r6, Math.max),
      decode_vs_ffmpeg: ratio(seq, Math.min),
      decode_vs_ffmpeg_unpooled: ratio(unpooled, Math.min),
      decode_vs_ffmpeg_threads1: ratio(seq1, Math.min),
      decode_vs_ffmpeg_threads1_cpu: ratio(cpu1, Math.min),
      cold_vs_pyav: ratio(cold, Math.max),
      detail,
    };
  } finally {
    await peer.close();
    await rm(dir, { recursive: true, force: true });
  }
}
