import { setTimeout as sleep } from 'node:timers/promises';
import { VideoEncoder } from '../codec/video-encoder.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import { frameDurationNs, nowNs, nsToSeconds } from '../core/time.js';
import { Bus } from '../bus/bus.js';
import { LocalNatsServer } from '../bus/nats/local-nats-server.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { lcmMessageType } from '../wire/lcm-struct-codec.js';
import type { LcmStruct } from '../wire/lcm-schema.js';
import { quantile, round, type DeliveryFigures } from './stats.js';

/** Encoded message sizes the throughput benchmark measures by default, bytes. */
export const BUS_BENCH_SIZES = [64, 1024, 64 * 1024, 1024 * 1024, 4 * 1024 * 1024];

/** The late-join goal: first decoded frame within this many ms of subscribing. */
export const LATE_JOIN_GOAL_MS = 100;

/** One transport's figures at one message size. */
export interface BusThroughputCase extends DeliveryFigures {
  transport: 'memory' | 'nats';
  /** Bytes per encoded message (fingerprint, sequence and send time included). */
  size: number;
}

/** Late join on one transport: a new subscriber to a GOP-300, 30 fps, 640x480 topic. */
export interface LateJoinCase {
  transport: 'memory' | 'lcm' | 'nats';
  trials: number;
  /** Median ms from subscribing to the first decoded frame. */
  late_join_ms: number;
  /** Slowest trial, ms. */
  late_join_ms_max: number;
  /** Median ms from subscribing to showing the frame that was live when it subscribed. */
  catch_up_ms: number;
  /** Median packets in the cached GOP the subscriber started from. */
  gop_packets: number;
  /** Whether every trial met {@link LATE_JOIN_GOAL_MS}. */
  meets_goal: boolean;
}

/** A real-time 640x480 30 fps stream on one transport, counted at a packets subscriber. */
export interface StreamLossCase {
  transport: 'lcm' | 'nats';
  /** Packets published, one per frame. */
  sent: number;
  /** Packets that arrived complete. */
  received: number;
  /** Packets that never arrived. */
  lost: number;
  /** Fraction lost (0–1). */
  loss: number;
  /** Stream bitrate, megabits per second. */
  mbit_per_s: number;
}

/** Result of the bus benchmark. JSON-able. */
export interface BusBenchResult {
  /** How the figures were taken, for people reading the JSON. */
  method: string;
  throughput: BusThroughputCase[];
  late_join: LateJoinCase[];
  stream: StreamLossCase[];
}

/** Options of the bus benchmark; every part is bounded in count and time. */
export interface BusBenchOptions {
  /** Encoded message sizes, bytes (28 B to 64 MiB). Default {@link BUS_BENCH_SIZES}. */
  sizes?: number[];
  /** Longest throughput run per transport and size, seconds. Default 0.5. */
  throughputSeconds?: number;
  /** Most messages per throughput run; runs also stop at 256 MiB of payload. Default 20,000. */
  maxMessages?: number;
  /** Longest paced latency run per transport and size (at most 300 messages), seconds. Default 0.4. */
  latencySeconds?: number;
  /** Late subscribers per transport. Default 3. */
  lateJoinTrials?: number;
  /**
   * Seconds the publisher runs before the first late subscriber; later ones follow about
   * 0.3 s apart. Default 1 (30 packets into the GOP); 9 joins near its end (270 of 300).
   */
  lateJoinAfterSeconds?: number;
  /** Seconds of 30 fps video in the stream-loss run. Default 3. */
  streamSeconds?: number;
  /** Picture size of the late-join and stream runs. Default 640x480. */
  width?: number;
  height?: number;
  /** Which parts to run. Default all three. */
  parts?: readonly ('throughput' | 'late-join' | 'stream')[];
  /** A NATS server to use; default: a local nats-server started for the run. */
  natsUrl?: string;
  /** Gets one line per step as it starts. */
  onProgress?: (message: string) => void;
}

/** The benchmark's own message: a sequence number, the send time and filler bytes. */
interface BenchMessage {
  sequence: bigint;
  sent_ns: bigint;
  data: Uint8Array;
}

const BENCH_STRUCT: LcmStruct = {
  package: 'framebus',
  name: 'bus_bench_t',
  members: [
    { name: 'sequence', type: 'int64_t' },
    { name: 'sent_ns', type: 'int64_t' },
    { name: 'data_size', type: 'int32_t' },
    { name: 'data', type: 'byte', dimensions: [{ sizeMember: 'data_size' }] },
  ],
};
const benchType = lcmMessageType<BenchMessage>(BENCH_STRUCT);
/** Fingerprint, sequence, send time and length prefix. */
const BENCH_OVERHEAD = 28;
const MAX_RUN_BYTES = 256 * 2 ** 20;

function check(name: string, value: number, min: number, max: number): void {
  if (!(Number.isFinite(value) && value >= min && value <= max)) {
    throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}, got ${String(value)}.`);
  }
}

/** Waits until `done()` or until `progress()` stops changing for `quietMs`, at most `maxMs`. */
async function settle(done: () => boolean, progress: () => number, quietMs = 300, maxMs = 5000): Promise<void> {
  const deadline = performance.now() + maxMs;
  let last = progress();
  let lastChange = performance.now();
  while (!done() && performance.now() < deadline && performance.now() - lastChange < quietMs) {
    await sleep(5);
    const now = progress();
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    }
  }
}

let runs = 0;

async function throughputRun(pub: Bus, sub: Bus, size: number, maxMessages: number, seconds: number) {
  const channel = `bench/throughput/${runs++}`;
  let received = 0;
  let firstSend = 0n;
  let lastArrival = 0n;
  const subscription = sub.topic(channel, benchType).subscribe((m, info) => {
    if (received++ === 0) firstSend = m.sent_ns;
    lastArrival = info.receivedAt;
  });
  await sub.flush();
  const topic = pub.topic(channel, benchType);
  const data = new Uint8Array(size - BENCH_OVERHEAD);
  const count = Math.min(maxMessages, Math.max(1, Math.floor(MAX_RUN_BYTES / size)));
  const deadline = performance.now() + seconds * 1000;
  let sent = 0;
  let sinceYield = 0;
  while (sent < count && performance.now() < deadline) {
    await topic.publish({ sequence: BigInt(sent), sent_ns: nowNs(), data });
    sent++;
    sinceYield += size;
    // Let socket I/O run between bursts, as a real publisher's event loop would.
    if (sinceYield >= 2 ** 20 || sent % 256 === 0) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  await pub.flush();
  await settle(() => received >= sent, () => received);
  subscription.unsubscribe();
  const seconds_ = nsToSeconds(lastArrival - firstSend);
  const rate = received > 0 && seconds_ > 0 ? received / seconds_ : 0;
  return { sent, received, msgs_per_s: rate, mb_per_s: (rate * size) / 1e6 };
}

async function latencyRun(pub: Bus, sub: Bus, size: number, seconds: number) {
  const channel = `bench/latency/${runs++}`;
  const latencies: number[] = [];
  const subscription = sub.topic(channel, benchType).subscribe((m, info) => latencies.push(Number(info.receivedAt - m.sent_ns)));
  await sub.flush();
  const topic = pub.topic(channel, benchType);
  const data = new Uint8Array(size - BENCH_OVERHEAD);
  // Paced well under capacity: at most 1,000 messages/s and 50 MB/s.
  const intervalMs = Math.max(1, (size / 50e6) * 1000);
  const count = Math.min(300, Math.max(5, Math.floor((seconds * 1000) / intervalMs)));
  for (let i = 0; i < count; i++) {
    await topic.publish({ sequence: BigInt(i), sent_ns: nowNs(), data });
    await sleep(intervalMs);
  }
  await pub.flush();
  await settle(() => latencies.length >= count, () => latencies.length);
  subscription.unsubscribe();
  return { p50_us: quantile(latencies, 0.5) / 1000, p99_us: quantile(latencies, 0.99) / 1000, samples: latencies.length };
}

/**
 * Messages/s, MB/s, loss and one-way latency on `memory:` and NATS for each message size:
 * a throughput run (publish as fast as possible, bounded by `maxMessages`, 256 MiB and
 * `throughputSeconds`) and a paced latency run. Publisher and subscriber are two buses in
 * this process (for NATS: two connections through the server).
 */
export async function benchBusThroughput(natsUrl: string, options: BusBenchOptions = {}): Promise<BusThroughputCase[]> {
  const sizes = options.sizes ?? BUS_BENCH_SIZES;
  for (const size of sizes) check('size', size, BENCH_OVERHEAD, 64 * 2 ** 20);
  const cases: BusThroughputCase[] = [];
  for (const transport of ['memory', 'nats'] as const) {
    const url = transport === 'memory' ? `memory:bench-${process.pid}-${runs}` : natsUrl;
    const [pub, sub] = await Promise.all([Bus.open(url), Bus.open(url)]);
    try {
      for (const size of sizes) {
        options.onProgress?.(`bus throughput: ${transport}, ${size} B`);
        const t = await throughputRun(pub, sub, size, options.maxMessages ?? 20_000, options.throughputSeconds ?? 0.5);
        const l = await latencyRun(pub, sub, size, options.latencySeconds ?? 0.4);
        cases.push({
          transport,
          size,
          sent: t.sent,
          received: t.received,
          loss: round(1 - t.received / Math.max(1, t.sent), 4),
          msgs_per_s: round(t.msgs_per_s, 0),
          mb_per_s: round(t.mb_per_s, 1),
          latency_p50_us: round(l.p50_us, 1),
          latency_p99_us: round(l.p99_us, 1),
          latency_samples: l.samples,
        });
      }
    } finally {
      await Promise.all([pub.close(), sub.close()]);
    }
  }
  return cases;
}

/** Publishes synthetic frames at 30 fps in real time until stopped; returns the last frame id published. */
function livePublisher(bus: Bus, name: string, width: number, height: number) {
  const topic = bus.video(name, { encoder: { gop: 300, fps: 30 } });
  const source = new SyntheticSource({ width, height });
  let stopped = false;
  let last = -1;
  const running = (async () => {
    const start = performance.now();
    for (let i = 0; !stopped; i++) {
      const wait = start + (i * 1000) / 30 - performance.now();
      if (wait > 0) await sleep(wait);
      await topic.publishFrame(source.render(i, nowNs()));
      last = i;
    }
  })();
  return {
    topic,
    lastFrame: () => last,
    stop: async () => {
      stopped = true;
      await running;
      await topic.close();
    },
  };
}

/**
 * `late_join_ms` on memory, LCM and NATS: a publisher sends a GOP-300, 30 fps synthetic
 * stream in real time; after `lateJoinAfterSeconds`, and then after every trial, a new bus (a new
 * process, in effect) subscribes to frames and times the first decoded frame and the
 * catch-up to the live frame. The goal is under {@link LATE_JOIN_GOAL_MS} each.
 */
export async function benchLateJoin(urls: Record<LateJoinCase['transport'], string>, options: BusBenchOptions = {}): Promise<LateJoinCase[]> {
  const trials = options.lateJoinTrials ?? 3;
  const afterSeconds = options.lateJoinAfterSeconds ?? 1;
  check('lateJoinTrials', trials, 1, 100);
  check('lateJoinAfterSeconds', afterSeconds, 0.1, 600);
  const cases: LateJoinCase[] = [];
  for (const transport of ['memory', 'lcm', 'nats'] as const) {
    options.onProgress?.(`late join: ${transport}`);
    const pubBus = await Bus.open(urls[transport]);
    const live = livePublisher(pubBus, 'bench/late', options.width ?? 640, options.height ?? 480);
    const first: number[] = [];
    const catchUp: number[] = [];
    const gop: number[] = [];
    try {
      await sleep(afterSeconds * 1000);
      for (let t = 0; t < trials; t++) {
        const subBus = await Bus.open(urls[transport]);
        const target = live.lastFrame();
        gop.push(live.topic.cachedGop().length);
        let firstAt: number | undefined;
        let caughtAt: number | undefined;
        const start = performance.now();
        const subscription = subBus.video('bench/late').subscribeFrames((f) => {
          firstAt ??= performance.now() - start;
          if (f.frameId >= target) caughtAt ??= performance.now() - start;
        });
        await settle(() => caughtAt !== undefined, () => 0, 5000, 5000);
        await subscription.unsubscribe();
        await subBus.close();
        first.push(firstAt ?? Infinity);
        catchUp.push(caughtAt ?? Infinity);
        await sleep(300);
      }
    } finally {
      await live.stop();
      await pubBus.close();
    }
    cases.push({
      transport,
      trials,
      late_join_ms: round(quantile(first, 0.5), 1),
      late_join_ms_max: round(Math.max(...first), 1),
      catch_up_ms: round(quantile(catchUp, 0.5), 1),
      gop_packets: quantile(gop, 0.5),
      meets_goal: first.every((ms) => ms < LATE_JOIN_GOAL_MS),
    });
  }
  return cases;
}

/**
 * Loss of a 640x480, 30 fps H.264 stream on LCM and NATS loopback: the frames are encoded
 * first, then their packets published in real time to a packets subscriber on another bus.
 */
export async function benchStreamLoss(urls: Record<StreamLossCase['transport'], string>, options: BusBenchOptions = {}): Promise<StreamLossCase[]> {
  const seconds = options.streamSeconds ?? 3;
  check('streamSeconds', seconds, 0.1, 600);
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  const encoder = await VideoEncoder.create({ width, height, fps: 30 });
  const source = new SyntheticSource({ width, height });
  const packets: VideoPacket[] = [];
  try {
    for (let i = 0; i < Math.round(seconds * 30); i++) packets.push(...(await encoder.encode(source.render(i, BigInt(i) * frameDurationNs(30)))));
    packets.push(...(await encoder.flush()));
  } finally {
    encoder.close();
  }
  const bytes = packets.reduce((s, p) => s + p.data.byteLength, 0);
  const cases: StreamLossCase[] = [];
  for (const transport of ['lcm', 'nats'] as const) {
    options.onProgress?.(`stream loss: ${transport}, ${packets.length} packets at 30 fps`);
    const [pub, sub] = await Promise.all([Bus.open(urls[transport]), Bus.open(urls[transport])]);
    try {
      let received = 0;
      const subscription = sub.video('bench/stream').subscribePackets(() => void received++);
      await sub.flush();
      const topic = pub.video('bench/stream');
      const start = performance.now();
      for (const [i, p] of packets.entries()) {
        const wait = start + (i * 1000) / 30 - performance.now();
        if (wait > 0) await sleep(wait);
        await topic.publishPacket(p);
      }
      await pub.flush();
      await settle(() => received >= packets.length, () => received, 500);
      const lost = packets.length - received;
      cases.push({
        transport,
        sent: packets.length,
        received,
        lost,
        loss: round(lost / packets.length, 4),
        mbit_per_s: round((bytes * 8 * 30) / packets.length / 1e6, 2),
      });
      await subscription.unsubscribe();
    } finally {
      await Promise.all([pub.close(), sub.close()]);
    }
  }
  return cases;
}

/**
 * The bus benchmark: throughput and latency (memory, NATS), late join (memory, LCM, NATS)
 * and stream loss (LCM, NATS). Starts a local nats-server unless `natsUrl` is given; LCM
 * runs on 239.255.76.67 with a random port and ttl=0 (never leaves the host).
 */
export async function runBusBench(options: BusBenchOptions = {}): Promise<BusBenchResult> {
  const parts = options.parts ?? ['throughput', 'late-join', 'stream'];
  const server = options.natsUrl ? undefined : await LocalNatsServer.start();
  const nats = options.natsUrl ?? server!.url;
  const lcm = `lcm://239.255.76.67:${20_000 + Math.floor(Math.random() * 40_000)}?ttl=0`;
  try {
    return {
      method:
        'Publisher and subscriber are two buses in one process (NATS: two connections through nats-server on 127.0.0.1; LCM: multicast on loopback). ' +
        'Throughput: publish as fast as possible, bounded by count, 256 MiB and time; msgs/s = received ÷ (last arrival − first send). ' +
        'Latency: a paced run, publish call to subscriber handler. Late join: GOP 300 at 30 fps, synthetic frames, a fresh bus per trial; ' +
        'time from subscribe to the first decoded frame. Stream loss: pre-encoded H.264 published at 30 fps to a packets subscriber.',
      throughput: parts.includes('throughput') ? await benchBusThroughput(nats, options) : [],
      late_join: parts.includes('late-join') ? await benchLateJoin({ memory: `memory:bench-late-${process.pid}`, lcm, nats }, options) : [],
      stream: parts.includes('stream') ? await benchStreamLoss({ lcm, nats }, options) : [],
    };
  } finally {
    await server?.stop();
  }
}
