import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { MissingDependencyError } from '../core/errors.js';

const run = promisify(execFile);

/** The channel both sides of the LCM benchmark send data on. */
export const DATA_CHANNEL = 'FRAMEBUS_BENCH';
/** The channel that ends a run: it carries the count of messages sent. */
export const END_CHANNEL = 'FRAMEBUS_BENCH_END';
/** END markers are repeated, since UDP may drop one right after a burst. */
export const END_REPEATS = 5;
export const END_GAP_MS = 20;
/** Messages queued in liblcm between its receive thread and the handler (its default is 30). */
const LIBLCM_QUEUE = 1000;

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
export interface SubscriberReport {
  received: number;
  first_send_ns: number;
  last_recv_ns: number;
  p50_ns: number;
  p99_ns: number;
}

/** What a publisher reports after a run. */
export interface PublisherReport {
  sent: number;
  seconds: number;
}

/** One benchmark run: `count` messages of `size` bytes on `url`, paced or as fast as possible. */
export interface RunPlan {
  url: string;
  size: number;
  count: number;
  /** 0 for as fast as possible. */
  intervalNs: number;
  maxSeconds: number;
}

let built: Promise<string> | undefined;

/** Compiles the liblcm benchmark program into a cache directory under the OS temp dir. */
export function liblcmBenchBinary(): Promise<string> {
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

/** One run of liblcm's own publisher and subscriber, both the C program, on `plan.url`. */
export async function liblcmRun(plan: RunPlan): Promise<{ pub: PublisherReport; sub: SubscriberReport }> {
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
