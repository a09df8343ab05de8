import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Bus } from '../bus/bus.js';
import { LocalNatsCluster } from '../bus/nats/local-nats-cluster.js';
import type { VideoTopic } from '../bus/video/video-topic.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import { frameDurationNs, nowNs } from '../core/time.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { BusRecorder } from '../store/bus-recorder.js';
import { measureNatsFailover, type NatsFailoverFigures } from './nats-failover.js';
import { median, round } from './stats.js';

/** The failover goal: the subscriber shows a frame again within this many ms of its server's death. */
export const FAILOVER_GOAL_MS = 2_000;

/** Many cameras through the cluster: one publishing side, one recording side. */
export interface ManyCamerasFigures {
  cameras: number;
  robots: number;
  width: number;
  height: number;
  fps: number;
  seconds: number;
  /** Packets published, and packets the recorder stored. */
  sent: number;
  recorded: number;
  /** Packets published but not stored (goal 0), and that as a fraction. */
  lost: number;
  loss: number;
  /** Stored packets per second over all cameras, and megabits per second of packet data. */
  packets_per_s: number;
  mbit_per_s: number;
  /** This process's CPU time (publishing and recording) per camera stream, % of one core. */
  cpu_percent_per_stream: number;
}

/** Result of the NATS cluster benchmark. JSON-able. */
export interface NatsClusterBenchResult {
  method: string;
  /** Each failover trial's figures. */
  failover: NatsFailoverFigures[];
  /** Median of the trials' failover gaps, ms, the slowest, and whether every trial met {@link FAILOVER_GOAL_MS}. */
  failover_gap_ms: number;
  failover_gap_ms_max: number;
  frames_lost_in_failover: number;
  corrupt_frames: number;
  meets_failover_goal: boolean;
  many_cameras: ManyCamerasFigures;
}

/** Options of the cluster benchmark; every part is bounded. */
export interface NatsClusterBenchOptions {
  /** Failover trials, each on a fresh three-node cluster. Default 3. */
  failoverTrials?: number;
  /** Camera topics, spread over robots of 4 cameras each (each robot its own `?prefix=`). Default 32. */
  cameras?: number;
  /** Seconds of the many-camera run. Default 5. */
  seconds?: number;
  /** Gets one line per step as it starts. */
  onProgress?: (message: string) => void;
}

const CAMERAS_PER_ROBOT = 4;
const WIDTH = 320;
const HEIGHT = 240;
const FPS = 15;

/** One second of 320x240 H.264 at 15 fps, GOP 15, encoded once and shared by every camera. */
async function encodedSecond(): Promise<VideoPacket[]> {
  const encoder = await VideoEncoder.create({ width: WIDTH, height: HEIGHT, fps: FPS, gop: FPS });
  const source = new SyntheticSource({ width: WIDTH, height: HEIGHT, fps: FPS });
  try {
    const packets: VideoPacket[] = [];
    for (let i = 0; i < FPS; i++) packets.push(...(await encoder.encode(source.render(i, BigInt(i) * frameDurationNs(FPS)))));
    packets.push(...(await encoder.flush()));
    return packets;
  } finally {
    encoder.close();
  }
}

/**
 * `cameras` topics at 320x240 15 fps published by one side of this process through a
 * three-node cluster (publishers on member 0, recorder on member 2), each robot under its own
 * `?prefix=`; counts what the recorder stored and the CPU this process spent.
 */
export async function benchManyCameras(options: NatsClusterBenchOptions = {}): Promise<ManyCamerasFigures> {
  const cameras = options.cameras ?? 32;
  const seconds = options.seconds ?? 5;
  if (!(Number.isInteger(cameras) && cameras >= 1 && cameras <= 256)) throw new InvalidArgumentError(`cameras must be a whole number from 1 to 256, got ${String(cameras)}.`);
  if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= 600)) throw new InvalidArgumentError(`seconds must be from 0 to 600, got ${String(seconds)}.`);
  const loop = await encodedSecond();
  const robots = Math.ceil(cameras / CAMERAS_PER_ROBOT);
  const cluster = await LocalNatsCluster.start({ auth: { kind: 'password' } });
  const dir = await mkdtemp(join(tmpdir(), 'framebus-cameras-'));
  const quiet = () => {};
  const buses: Bus[] = [];
  try {
    const recorders: BusRecorder[] = [];
    const topics: VideoTopic[] = [];
    for (let r = 0; r < robots; r++) {
      const prefix = `prefix=fleet.robot${r + 1}`;
      const names = Array.from({ length: Math.min(CAMERAS_PER_ROBOT, cameras - r * CAMERAS_PER_ROBOT) }, (_, c) => `cam/${c}`);
      const [pub, rec] = await Promise.all([Bus.open(cluster.url([0], prefix), { log: quiet }), Bus.open(cluster.url([2], prefix), { log: quiet })]);
      buses.push(pub, rec);
      recorders.push(await BusRecorder.start(rec, join(dir, `robot${r + 1}.mcap`), { topics: names, log: quiet }));
      await rec.flush();
      for (const name of names) topics.push(pub.video(name));
    }
    options.onProgress?.(`many cameras: ${cameras} topics on ${robots} robots, ${seconds} s`);
    const frames = Math.round(seconds * FPS);
    const cpu = process.cpuUsage();
    const start = performance.now();
    let bytes = 0;
    for (let i = 0; i < frames; i++) {
      const wait = start + (i * 1000) / FPS - performance.now();
      if (wait > 0) await sleep(wait);
      const p = loop[i % loop.length];
      const timestamp = nowNs();
      await Promise.all(topics.map((t) => t.publishPacket({ ...p, sequence: i, timestamp, frameId: i })));
      bytes += p.data.byteLength * topics.length;
    }
    await Promise.all(buses.map((b) => b.flush()));
    await sleep(500);
    const elapsed = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    let recorded = 0;
    for (const r of recorders) for (const s of Object.values(r.stats)) recorded += s.packets;
    await Promise.all(recorders.map((r) => r.stop()));
    const sent = frames * topics.length;
    return {
      cameras,
      robots,
      width: WIDTH,
      height: HEIGHT,
      fps: FPS,
      seconds,
      sent,
      recorded,
      lost: sent - recorded,
      loss: round((sent - recorded) / sent, 4),
      packets_per_s: round(recorded / elapsed, 1),
      mbit_per_s: round((bytes * 8) / elapsed / 1e6, 2),
      cpu_percent_per_stream: round(((used.user + used.system) / 1e6 / elapsed / cameras) * 100, 2),
    };
  } finally {
    await Promise.all(buses.map((b) => b.close()));
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The NATS cluster benchmark: failover trials (publisher on member A, subscriber and recorder
 * on member C, C SIGKILLed and restarted) and many cameras through the cluster.
 */
export async function runNatsClusterBench(options: NatsClusterBenchOptions = {}): Promise<NatsClusterBenchResult> {
  const trials = options.failoverTrials ?? 3;
  if (!(Number.isInteger(trials) && trials >= 1 && trials <= 20)) throw new InvalidArgumentError(`failoverTrials must be from 1 to 20, got ${String(trials)}.`);
  const failover: NatsFailoverFigures[] = [];
  for (let i = 0; i < trials; i++) {
    options.onProgress?.(`failover trial ${i + 1} of ${trials}`);
    const cluster = await LocalNatsCluster.start({ auth: { kind: 'password' } });
    try {
      failover.push(await measureNatsFailover(cluster));
    } finally {
      await cluster.stop();
    }
  }
  const gaps = failover.map((f) => f.failover_gap_ms);
  return {
    method:
      'Three nats-server members on 127.0.0.1 with routes between them and user/password auth. Failover: a live 320x240 15 fps stream ' +
      '(GOP 150, so recovery needs a keyframe request) published on member A, shown decoded and recorded on member C; C is SIGKILLed ' +
      'after 1.5 s and restarted 1 s later; gap = ms from the kill to the next frame shown; corrupt = frames whose picture is not the ' +
      'frame they claim plus decoder errors. Many cameras: one second of H.264 encoded once and looped, published by this process on ' +
      'member A, 4 cameras per robot prefix, recorded by this process on member C; CPU is this process (publish + record) per stream. ' +
      'Shared 2-core machine: figures are noisy.',
    failover,
    failover_gap_ms: round(median(gaps), 1),
    failover_gap_ms_max: Math.max(...gaps),
    frames_lost_in_failover: failover.reduce((n, f) => n + f.frames_lost, 0),
    corrupt_frames: failover.reduce((n, f) => n + f.corrupt_frames + f.undecodable_recorded + f.gate_failures, 0),
    meets_failover_goal: gaps.every((g) => g <= FAILOVER_GOAL_MS),
    many_cameras: await benchManyCameras(options),
  };
}
