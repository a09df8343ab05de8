import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../core/errors.js';
import { LcmTransport } from '../bus/lcm/lcm-transport.js';
import { DATA_CHANNEL, END_CHANNEL, END_GAP_MS, END_REPEATS, liblcmBenchBinary, liblcmRun, type PublisherReport, type RunPlan, type SubscriberReport } from './liblcm-reference.js';
import { quantile, round, type DeliveryFigures } from './stats.js';
import { nsToSeconds, secondsToNs } from '../core/time.js';

/** Message payload sizes `framebus bench bus` measures by default, bytes. */
export const LCM_BENCH_SIZES = [64, 1024, 64 * 1024, 1024 * 1024, 4 * 1024 * 1024];

/** One side's figures for one message size. */
export interface LcmBenchSide extends DeliveryFigures {
  /** Messages the publisher sent per second. */
  send_msgs_per_s: number;
  /** Fraction of the paced run's messages that never arrived (0–1). */
  latency_loss: number;
}

/** framebus and liblcm side by side at one message size. */
export interface LcmBenchCase {
  /** Payload bytes per message. */
  size: number;
  framebus: LcmBenchSide;
  liblcm: LcmBenchSide;
  /** framebus msgs_per_s ÷ liblcm msgs_per_s. */
  ratio: number;
}

/** Result of the LCM part of `framebus bench bus`. JSON-able. */
export interface LcmBenchResult {
  /** How the figures were taken, for people reading the JSON. */
  method: string;
  /** Throughput runs per side and size. */
  repetitions: number;
  /** Receive buffer both sides asked for and what the OS granted (as it reports it), bytes. */
  receive_buffer_requested: number;
  receive_buffer_granted: number;
  cases: LcmBenchCase[];
  /** framebus msgs/s ÷ liblcm msgs/s at 1 KiB (goal ≥ 0.5); NaN when 1 KiB was not measured. */
  lcm_vs_liblcm: number;
  /** What a framebus transport logged about its receive buffer (e.g. capped by the OS). */
  warnings: string[];
}

export interface LcmBenchOptions {
  /** Payload sizes to measure, bytes (16 B to 64 MiB). Default {@link LCM_BENCH_SIZES}. */
  sizes?: number[];
  /** Longest one throughput run of one side may send, seconds. Default 0.5. */
  throughputSeconds?: number;
  /** Throughput runs per side and size; the median is reported. Default 3. */
  repetitions?: number;
  /** Longest the paced latency run of one side may send, seconds. Default 0.4. */
  latencySeconds?: number;
  /** Gets one line per run as it starts. */
  onProgress?: (message: string) => void;
}

const GROUP = '239.255.76.67';
/** Both sides ask for the same kernel receive buffer, so neither gets an edge from it. */
const RECV_BUFFER = 8 << 20;
const THROUGHPUT_MAX_MESSAGES = 500_000;
const LATENCY_MAX_MESSAGES = 300;
/** Paced sending for latency stays well under the loopback's capacity. */
const LATENCY_BYTES_PER_MS = 300_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function benchUrl(port: number): string {
  return `lcm://${GROUP}:${port}?ttl=0&recv_buf_size=${RECV_BUFFER}`;
}

/** The subscriber side of a framebus run, in a child process (its own event loop and core). */
async function framebusSubscriberProcess(url: string, maxSeconds: number): Promise<void> {
  const send = (message: object): void => void process.send!(message);
  const transport = await LcmTransport.open(url, { log: () => undefined });
  const latencies: number[] = [];
  let firstSend = 0n;
  let lastRecv = 0n;
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  transport.subscribe(DATA_CHANNEL, (payload) => {
    const now = process.hrtime.bigint();
    const sent = new DataView(payload.buffer, payload.byteOffset, 16).getBigUint64(8);
    if (latencies.length === 0) firstSend = sent;
    latencies.push(Number(now - sent));
    lastRecv = now;
  });
  transport.subscribe(END_CHANNEL, () => end());
  await transport.flush();
  send({ type: 'ready' });
  await Promise.race([ended, sleep(maxSeconds * 1000)]);
  await transport.close();
  const report: SubscriberReport = {
    received: latencies.length,
    first_send_ns: Number(firstSend),
    last_recv_ns: Number(lastRecv),
    p50_ns: quantile(latencies, 0.5),
    p99_ns: quantile(latencies, 0.99),
  };
  send({ type: 'result', report });
  process.disconnect();
}

async function framebusRun(plan: RunPlan): Promise<{ pub: PublisherReport; sub: SubscriberReport }> {
  // The same module runs the subscriber in a child process; execArgv carries any TS loader.
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [ROLE_ENV]: JSON.stringify({ url: plan.url, maxSeconds: plan.maxSeconds + 5 }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let ready!: () => void;
  let done!: (r: SubscriberReport) => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const report = new Promise<SubscriberReport>((resolve, reject) => {
    done = resolve;
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`framebus bench subscriber exited with ${code} before reporting`)));
  });
  child.on('message', (m: { type: string; report?: SubscriberReport }) => {
    if (m.type === 'ready') ready();
    else if (m.type === 'result') done(m.report!);
  });
  // Drops are what the run measures (as loss); the transports' log lines about them would be noise.
  const transport = await LcmTransport.open(plan.url, { log: () => undefined });
  try {
    await Promise.race([isReady, report]);
    const payload = new Uint8Array(plan.size);
    const view = new DataView(payload.buffer);
    const start = process.hrtime.bigint();
    const maxNs = secondsToNs(plan.maxSeconds);
    let next = start;
    let sent = 0;
    for (; sent < plan.count && process.hrtime.bigint() - start < maxNs; sent++) {
      if (plan.intervalNs > 0) {
        next += BigInt(plan.intervalNs);
        const wait = Number(next - process.hrtime.bigint()) / 1e6;
        if (wait > 0) await sleep(wait);
      }
      view.setBigUint64(0, BigInt(sent));
      view.setBigUint64(8, process.hrtime.bigint());
      await transport.publish(DATA_CHANNEL, payload);
    }
    const seconds = nsToSeconds(process.hrtime.bigint() - start);
    const mark = new Uint8Array(8);
    new DataView(mark.buffer).setBigUint64(0, BigInt(sent));
    for (let i = 0; i < END_REPEATS; i++) {
      await transport.publish(END_CHANNEL, mark);
      await sleep(END_GAP_MS);
    }
    return { pub: { sent, seconds }, sub: await report };
  } finally {
    await transport.close();
    child.kill();
  }
}

type RunResult = { pub: PublisherReport; sub: SubscriberReport };

/** Messages delivered per second: received ÷ (last arrival − send time of the first received). */
function deliveredPerSecond(r: RunResult): number {
  const seconds = (r.sub.last_recv_ns - r.sub.first_send_ns) / 1e9;
  return r.sub.received > 1 && seconds > 0 ? r.sub.received / seconds : 0;
}

function side(throughput: RunResult, latency: RunResult, size: number): LcmBenchSide {
  const { pub, sub } = throughput;
  const msgsPerS = deliveredPerSecond(throughput);
  return {
    sent: pub.sent,
    send_msgs_per_s: round(pub.sent / pub.seconds, 0),
    received: sub.received,
    loss: round(1 - sub.received / Math.max(1, pub.sent), 4),
    msgs_per_s: round(msgsPerS, 0),
    mb_per_s: round((msgsPerS * size) / 1e6, 1),
    latency_p50_us: round(latency.sub.p50_ns / 1000, 1),
    latency_p99_us: round(latency.sub.p99_ns / 1000, 1),
    latency_samples: latency.sub.received,
    latency_loss: round(1 - latency.sub.received / Math.max(1, latency.pub.sent), 4),
  };
}

type Impl = 'framebus' | 'liblcm';

/**
 * Measures the LCM transport against liblcm on this machine, side by side: for each payload
 * size, a framebus publisher (this process) to a framebus subscriber (a child process), and
 * liblcm's C publisher to liblcm's C subscriber (two processes, built with gcc into a cache
 * directory under the OS temp dir), all on loopback multicast with ttl=0 and a fresh port
 * per run. Each side does `repetitions` throughput runs (publish as fast as possible for at
 * most `throughputSeconds` or 500,000 messages; the run with the median delivery rate is
 * reported), alternating with the other side so machine noise hits both, then one paced
 * latency run (at most 300 messages in `latencySeconds`). With the defaults a size takes
 * about 5 s.
 * @throws MissingDependencyError when gcc or liblcm-dev is missing.
 */
export async function runLcmBench(options: LcmBenchOptions = {}): Promise<LcmBenchResult> {
  const sizes = options.sizes ?? LCM_BENCH_SIZES;
  const throughputSeconds = options.throughputSeconds ?? 0.5;
  const latencySeconds = options.latencySeconds ?? 0.4;
  const repetitions = options.repetitions ?? 3;
  for (const size of sizes) {
    if (!Number.isInteger(size) || size < 16 || size > 64 << 20) {
      throw new InvalidArgumentError(`LCM bench sizes must be integers from 16 to ${64 << 20} bytes, got ${size}.`);
    }
  }
  await liblcmBenchBinary();
  const warnings: string[] = [];
  const probe = await LcmTransport.open(benchUrl(freshPort()), { log: (m) => warnings.push(m) });
  probe.subscribe(DATA_CHANNEL, () => undefined);
  await probe.flush();
  const granted = probe.receiveBufferBytes ?? 0;
  await probe.close();
  const runOnce = (impl: Impl, plan: Omit<RunPlan, 'url'>): Promise<RunResult> => {
    const withUrl = { ...plan, url: benchUrl(freshPort()) };
    return impl === 'framebus' ? framebusRun(withUrl) : liblcmRun(withUrl);
  };
  const cases: LcmBenchCase[] = [];
  for (const size of sizes) {
    const throughput: Record<Impl, RunResult[]> = { framebus: [], liblcm: [] };
    for (let rep = 0; rep < repetitions; rep++) {
      for (const impl of rep % 2 === 0 ? (['liblcm', 'framebus'] as const) : (['framebus', 'liblcm'] as const)) {
        options.onProgress?.(`lcm ${impl} ${size} B throughput ${rep + 1}/${repetitions}`);
        throughput[impl].push(
          await runOnce(impl, { size, count: THROUGHPUT_MAX_MESSAGES, intervalNs: 0, maxSeconds: throughputSeconds }),
        );
      }
    }
    const intervalMs = Math.max(1, size / LATENCY_BYTES_PER_MS);
    const latencyPlan = {
      size,
      count: Math.max(10, Math.min(LATENCY_MAX_MESSAGES, Math.floor((latencySeconds * 1000) / intervalMs))),
      intervalNs: Math.round(intervalMs * 1e6),
      maxSeconds: latencySeconds,
    };
    const sides = {} as Record<Impl, LcmBenchSide>;
    for (const impl of ['liblcm', 'framebus'] as const) {
      options.onProgress?.(`lcm ${impl} ${size} B latency`);
      const latency = await runOnce(impl, latencyPlan);
      const runs = [...throughput[impl]].sort((a, b) => deliveredPerSecond(a) - deliveredPerSecond(b));
      sides[impl] = side(runs[Math.floor(runs.length / 2)], latency, size);
    }
    cases.push({ size, ...sides, ratio: round(sides.framebus.msgs_per_s / sides.liblcm.msgs_per_s, 3) });
  }
  return {
    method:
      'loopback multicast, ttl=0, a fresh port per run; msgs_per_s = messages delivered per second while the publisher sends as fast as it can (median of the repetitions); latency = publish call to subscriber handler in a paced run, CLOCK_MONOTONIC on both sides',
    repetitions,
    receive_buffer_requested: RECV_BUFFER,
    receive_buffer_granted: granted,
    cases,
    lcm_vs_liblcm: cases.find((c) => c.size === 1024)?.ratio ?? NaN,
    warnings,
  };
}

function freshPort(): number {
  return 20000 + Math.floor(Math.random() * 30000);
}

/** Set in the environment of the subscriber child process: its URL and time limit, as JSON. */
const ROLE_ENV = 'FRAMEBUS_LCM_BENCH_SUBSCRIBER';

if (process.env[ROLE_ENV] && process.send) {
  const { url, maxSeconds } = JSON.parse(process.env[ROLE_ENV]) as { url: string; maxSeconds: number };
  void framebusSubscriberProcess(url, maxSeconds);
}
