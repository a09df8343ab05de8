import { execFile, fork, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InvalidArgumentError, MissingDependencyError } from '../core/errors.js';
import { LcmTransport } from '../bus/lcm/lcm-transport.js';
import { quantile, round, type DeliveryFigures } from './stats.js';
import { nsToSeconds, secondsToNs } from '../core/time.js';

const run = promisify(execFile);

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
const DATA_CHANNEL = 'FRAMEBUS_BENCH';
const END_CHANNEL = 'FRAMEBUS_BENCH_END';
/** Both sides ask for the same kernel receive buffer, so neither gets an edge from it. */
const RECV_BUFFER = 8 << 20;
/** Messages queued in liblcm between its receive thread and the handler (its default is 30). */
const LIBLCM_QUEUE = 1000;
const THROUGHPUT_MAX_MESSAGES = 500_000;
const LATENCY_MAX_MESSAGES = 300;
/** Paced sending for latency stays well under the loopback's capacity. */
const LATENCY_BYTES_PER_MS = 300_000;
/** END markers are repeated, since UDP may drop one right after a burst. */
const END_REPEATS = 5;
const END_GAP_MS = 20;

/**
 * liblcm's side: a publisher and a subscriber using the C API directly, with the same
 * payload layout framebus uses (u64 sequence, u64 CLOCK_MONOTONIC send time in ns, filler).
 */
const C_SOURCE = String.raw`
#include <lcm/lcm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}
static void put_u64(uint8_t *p, uint64_t v) { for (int i = 7; i >= 0; i--) { p[i] = v & 0xff; v >>= 8; } }
static uint64_t get_u64(const uint8_t *p) { uint64_t v = 0; for (int i = 0; i < 8; i++) v = (v << 8) | p[i]; return v; }
static void sleep_until(int64_t t) {
    int64_t d;
    while ((d = t - now_ns()) > 0) {
        struct timespec s = { d / 1000000000LL, d % 1000000000LL };
        nanosleep(&s, NULL);
    }
}

static int64_t *lat; static size_t nlat, caplat;
static int64_t first_send, last_recv; static int ended;

static void on_data(const lcm_recv_buf_t *rb, const char *ch, void *u) {
    int64_t now = now_ns();
    if (rb->data_size < 16) return;
    int64_t sent = (int64_t)get_u64((const uint8_t *)rb->data + 8);
    if (nlat == caplat) { caplat = caplat ? caplat * 2 : 4096; lat = realloc(lat, caplat * sizeof *lat); }
    if (nlat == 0) first_send = sent;
    lat[nlat++] = now - sent;
    last_recv = now;
}
static void on_end(const lcm_recv_buf_t *rb, const char *ch, void *u) { ended = 1; }
static int cmp(const void *a, const void *b) { int64_t x = *(const int64_t *)a, y = *(const int64_t *)b; return x < y ? -1 : x > y; }
static double quantile(double q) {
    if (nlat == 0) return -1;
    double pos = (nlat - 1) * q; size_t lo = (size_t)pos, hi = lo + (pos > lo);
    return lat[lo] + (lat[hi] - lat[lo]) * (pos - lo);
}

int main(int argc, char **argv) {
    if (argc == 8 && !strcmp(argv[1], "pub")) {
        lcm_t *lcm = lcm_create(argv[2]);
        if (!lcm) return 2;
        int count = atoi(argv[4]), size = atoi(argv[5]);
        int64_t interval = atoll(argv[6]), max_ns = (int64_t)(atof(argv[7]) * 1e9);
        uint8_t *buf = calloc(size, 1);
        int64_t start = now_ns(), next = start;
        int sent = 0;
        for (; sent < count && now_ns() - start < max_ns; sent++) {
            if (interval > 0) { sleep_until(next); next += interval; }
            put_u64(buf, sent);
            put_u64(buf + 8, now_ns());
            lcm_publish(lcm, argv[3], buf, size);
        }
        int64_t end = now_ns();
        uint8_t mark[8];
        put_u64(mark, sent);
        for (int i = 0; i < ${END_REPEATS}; i++) { lcm_publish(lcm, "${END_CHANNEL}", mark, 8); sleep_until(now_ns() + ${END_GAP_MS} * 1000000LL); }
        printf("{\"sent\":%d,\"seconds\":%.9f}\n", sent, (end - start) / 1e9);
        lcm_destroy(lcm);
        return 0;
    }
    if (argc == 5 && !strcmp(argv[1], "sub")) {
        lcm_t *lcm = lcm_create(argv[2]);
        if (!lcm) return 2;
        lcm_subscription_t *s = lcm_subscribe(lcm, argv[3], on_data, NULL);
        lcm_subscription_set_queue_capacity(s, ${LIBLCM_QUEUE});
        lcm_subscribe(lcm, "${END_CHANNEL}", on_end, NULL);
        printf("ready\n");
        fflush(stdout);
        int64_t deadline = now_ns() + (int64_t)(atof(argv[4]) * 1e9);
        while (!ended && now_ns() < deadline) lcm_handle_timeout(lcm, 50);
        qsort(lat, nlat, sizeof *lat, cmp);
        printf("{\"received\":%zu,\"first_send_ns\":%lld,\"last_recv_ns\":%lld,\"p50_ns\":%.0f,\"p99_ns\":%.0f}\n",
               nlat, (long long)first_send, (long long)last_recv, quantile(0.5), quantile(0.99));
        lcm_destroy(lcm);
        return 0;
    }
    return 1;
}
`;

/** What a subscriber reports after a run. */
interface SubscriberReport {
  received: number;
  first_send_ns: number;
  last_recv_ns: number;
  p50_ns: number;
  p99_ns: number;
}

/** What a publisher reports after a run. */
interface PublisherReport {
  sent: number;
  seconds: number;
}

interface RunPlan {
  url: string;
  size: number;
  count: number;
  /** 0 for as fast as possible. */
  intervalNs: number;
  maxSeconds: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function benchUrl(port: number): string {
  return `lcm://${GROUP}:${port}?ttl=0&recv_buf_size=${RECV_BUFFER}`;
}

let built: Promise<string> | undefined;

/** Compiles the liblcm benchmark program into a cache directory under the OS temp dir. */
function liblcmBenchBinary(): Promise<string> {
  built ??= (async () => {
    const dir = join(tmpdir(), `framebus-lcm-bench-${createHash('sha256').update(C_SOURCE).digest('hex').slice(0, 16)}`);
    const binary = join(dir, 'lcm_bench');
    if (existsSync(binary)) return binary;
    const work = await mkdtemp(`${dir}.tmp-`);
    try {
      await writeFile(join(work, 'lcm_bench.c'), C_SOURCE);
      await run('gcc', ['-O2', '-std=gnu11', '-o', join(work, 'lcm_bench'), join(work, 'lcm_bench.c'), '-llcm']);
      await rename(work, dir).catch(() => rm(work, { recursive: true, force: true }));
    } catch (cause) {
      await rm(work, { recursive: true, force: true });
      throw new MissingDependencyError(
        'Cannot build the liblcm reference benchmark: it needs gcc and liblcm-dev (as root, npm test installs them with scripts/prepare-system.sh).',
        { cause },
      );
    }
    return binary;
  })();
  return built;
}

async function liblcmRun(plan: RunPlan): Promise<{ pub: PublisherReport; sub: SubscriberReport }> {
  const binary = await liblcmBenchBinary();
  const url = plan.url.replace(/^lcm:/, 'udpm:');
  const child = spawn(binary, ['sub', url, DATA_CHANNEL, String(plan.maxSeconds + 5)]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  try {
    if ((await lines.next()).value !== 'ready') throw new Error('liblcm bench subscriber did not start');
    const { stdout } = await run(binary, ['pub', url, DATA_CHANNEL, String(plan.count), String(plan.size), String(plan.intervalNs), String(plan.maxSeconds)]);
    const result = await lines.next();
    if (result.done) throw new Error('liblcm bench subscriber ended without a report');
    return { pub: JSON.parse(stdout) as PublisherReport, sub: JSON.parse(result.value as string) as SubscriberReport };
  } finally {
    child.kill();
  }
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
