import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFrame, type Frame } from '../core/frame.js';
import { nowNs } from '../core/time.js';
import { StreamingVideoEncoder } from '../media/streaming-video-encoder.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { quantile, round } from './stats.js';

/** Options of the `cameras_realtime` benchmark. */
export interface CamerasRealtimeOptions {
  /** Seconds of real time to feed. Default 60. */
  duration?: number;
  /** Cameras. Default 3. */
  cameras?: number;
  /** Frame width in pixels. Default 640. */
  width?: number;
  /** Frame height in pixels. Default 480. */
  height?: number;
  /** Frames per second per camera. Default 30. */
  fps?: number;
  /** Encoder preset instead of the default (ultrafast for x264), to compare. */
  preset?: string;
  /** Nice value of the encoder threads instead of the default (10), to compare. */
  encoderNice?: number;
}

/** What `cameras_realtime` measured (JSON-able). */
export interface CamerasRealtimeResult {
  cameras: number;
  width: number;
  height: number;
  fps: number;
  duration_s: number;
  /** Frames offered to `feedFrame`, all cameras. */
  frames_fed: number;
  /** Frames dropped because an encoder's queue was full, all cameras. Goal 0. */
  dropped: number;
  /** Event-loop delay of the caller's thread (perf_hooks monitorEventLoopDelay), 99th percentile, ms. Goal ≤ 5. */
  loop_lag_p99_ms: number;
  loop_lag_p50_ms: number;
  loop_lag_max_ms: number;
  /** How late each 1/fps tick of the feeding loop fired, 99th percentile, ms. */
  tick_late_p99_ms: number;
  /** Time one `feedFrame` call took (the copy into the queue), 99th percentile, ms. */
  feed_call_p99_ms: number;
  /**
   * Reference run of the same loop for `baseline_s` seconds just before, copying every frame
   * into a buffer but encoding nothing: the lag the machine itself causes right now.
   */
  baseline_loop_lag_p99_ms: number;
  baseline_tick_late_p99_ms: number;
  /** The baseline's copy of one frame into its buffer, 99th percentile, ms: what preemption alone does to `feed_call_p99_ms`. */
  baseline_feed_call_p99_ms: number;
  baseline_s: number;
  /** Per camera: frames encoded, dropped, and the encoder's speed while busy. */
  per_camera: { key: string; frames: number; dropped: number; encode_fps: number }[];
  encoder: string;
  /** The preset asked for; `default` for StreamingVideoEncoder's (ultrafast for x264). */
  preset: string;
  encoder_nice: number;
  /** Encoder threads per camera (the default: cores ÷ cameras). */
  threads_per_encoder: number;
  /** 1-minute load average before and after the run: the machine may be shared. */
  load_average_before: number;
  load_average_after: number;
}

/** Distinct synthetic pictures per camera, cycled: generating them in the loop would be the caller's cost, not the encoder's. */
const PICTURES = 90;

async function pictures(seed: number, width: number, height: number): Promise<Frame[]> {
  const source = new SyntheticSource({ width, height, frames: PICTURES, seed });
  const frames: Frame[] = [];
  for await (const f of source) frames.push(f);
  await source.close();
  return frames;
}

interface LoopFigures {
  lagP99: number;
  lagP50: number;
  lagMax: number;
  tickLate: number[];
  feedCalls: number[];
}

/** One tick per frame interval for `duration` s, every camera's next picture handed to `feed` in the tick. */
async function feedLoop(duration: number, fps: number, scenes: Frame[][], feed: (camera: number, frame: Frame) => void): Promise<LoopFigures> {
  const tickLate: number[] = [];
  const feedCalls: number[] = [];
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const interval = 1000 / fps;
  const start = performance.now();
  const ticks = Math.round(duration * fps);
  for (let tick = 0; tick < ticks; tick++) {
    const due = start + tick * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    tickLate.push(performance.now() - due);
    const timestamp = nowNs();
    scenes.forEach((pictures, camera) => {
      const frame = createFrame({ ...pictures[tick % PICTURES], timestamp, frameId: tick });
      const t = performance.now();
      feed(camera, frame);
      feedCalls.push(performance.now() - t);
    });
  }
  lag.disable();
  return { lagP99: lag.percentile(99) / 1e6, lagP50: lag.percentile(50) / 1e6, lagMax: lag.max / 1e6, tickLate, feedCalls };
}

/**
 * `cameras_realtime`: N cameras fed in real time into a `StreamingVideoEncoder` with its
 * defaults (H.264, GOP 2, MP4 per camera in a temporary folder) for `duration` seconds, as a
 * robot loop would: one tick per frame interval, every camera's frame fed in the tick.
 * Reports drops and how much the caller's event loop was held up.
 */
export async function runCamerasRealtimeBench(options: CamerasRealtimeOptions = {}): Promise<CamerasRealtimeResult> {
  const { duration = 60, cameras = 3, width = 640, height = 480, fps = 30, preset, encoderNice } = options;
  const keys = Array.from({ length: cameras }, (_, i) => `camera${i}`);
  const scenes = await Promise.all(keys.map((_, i) => pictures(i + 1, width, height)));
  const dir = await mkdtemp(join(tmpdir(), 'framebus-cameras-'));
  const encoder = new StreamingVideoEncoder({ preset, encoderNice, log: () => undefined });
  const loadBefore = loadavg()[0];
  const baselineS = Math.min(10, duration);
  const sink = new Uint8Array(width * height * 4);
  const baseline = await feedLoop(baselineS, fps, scenes, (_, frame) => sink.set(frame.planes[0].data));
  let fed = 0;
  try {
    await encoder.startEpisode(keys, dir);
    const run = await feedLoop(duration, fps, scenes, (camera, frame) => {
      encoder.feedFrame(keys[camera], frame);
      fed++;
    });
    const results = await encoder.finishEpisode();
    const per = Object.values(results);
    return {
      cameras,
      width,
      height,
      fps,
      duration_s: duration,
      frames_fed: fed,
      dropped: per.reduce((s, r) => s + r.dropped, 0),
      loop_lag_p99_ms: round(run.lagP99),
      loop_lag_p50_ms: round(run.lagP50),
      loop_lag_max_ms: round(run.lagMax),
      tick_late_p99_ms: round(quantile(run.tickLate, 0.99)),
      feed_call_p99_ms: round(quantile(run.feedCalls, 0.99)),
      baseline_loop_lag_p99_ms: round(baseline.lagP99),
      baseline_tick_late_p99_ms: round(quantile(baseline.tickLate, 0.99)),
      baseline_feed_call_p99_ms: round(quantile(baseline.feedCalls, 0.99)),
      baseline_s: baselineS,
      per_camera: per.map((r) => ({ key: r.key, frames: r.frames, dropped: r.dropped, encode_fps: round(r.encodeFps, 1) })),
      encoder: per[0]?.encoder ?? '',
      preset: preset ?? 'default',
      encoder_nice: encoderNice ?? 10,
      threads_per_encoder: Math.max(1, Math.floor(availableParallelism() / cameras)),
      load_average_before: round(loadBefore, 2),
      load_average_after: round(loadavg()[0], 2),
    };
  } finally {
    await encoder.close();
    await rm(dir, { recursive: true, force: true });
  }
}
