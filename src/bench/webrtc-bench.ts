import { setTimeout as sleep } from 'node:timers/promises';
import type { DataChannelPair } from '../bus/webrtc/datachannel-port.js';
import { loopbackPeers } from '../bus/webrtc/ndc-peer.js';
import { WebRtcLink } from '../bus/webrtc/webrtc-link.js';
import { quantile, round } from './stats.js';
import { weriftPair } from './werift-pair.js';

/** Payload sizes `framebus bench webrtc` measures on the reliable channel, bytes. */
export const WEBRTC_BENCH_SIZES = [64, 256, 1024, 64 * 1024, 2 ** 20, 4 * 2 ** 20, 16 * 2 ** 20];

/** One library's figures at one payload size. */
export interface WebRtcBenchCase {
  size: number;
  /** Messages sent in the throughput run (bounded by count and bytes). */
  sent: number;
  msgs_per_s: number;
  mb_per_s: number;
  mbit_per_s: number;
  /** Fraction of the throughput run's messages not delivered within the time limit (0–1). */
  loss: number;
  /** One message at a time, send → whole payload delivered, ms. */
  latency_p50_ms: number;
  latency_p99_ms: number;
  /** Every payload of the run arrived, with the bytes sent. */
  intact: boolean;
  /** Why the run stopped early, when it did (e.g. the library closed the channel). */
  error?: string;
}

/** Result of `framebus bench webrtc`. JSON-able; the WHEP fields are added by the WHEP bench. */
export interface WebRtcBenchResult {
  method: string;
  /** The library the WebRTC transport uses. */
  library: 'node-datachannel';
  libraries: Record<string, WebRtcBenchCase[] | { absent: string }>;
  /** node-datachannel msgs/s at 256 B (goal ≥ 50,000). */
  dc_msgs_per_s_256: number;
  /** node-datachannel Mbit/s at 64 KiB (goal ≥ 400). */
  dc_mbit_per_s_64k: number;
  /** Largest payload node-datachannel delivered intact, bytes (goal ≥ 16 MiB). */
  dc_max_message_bytes: number;
  /** werift msgs/s at 256 B and Mbit/s at 64 KiB, for the choice (NaN when absent). */
  werift_msgs_per_s_256: number;
  werift_mbit_per_s_64k: number;
}

export interface WebRtcBenchOptions {
  sizes?: number[];
  /** Sizes werift is measured at. Default: `sizes`. */
  weriftSizes?: number[];
  /** Longest one throughput run may take, seconds. Default 2. */
  seconds?: number;
  onProgress?: (message: string) => void;
}

function payload(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) out[i] = (seed + i) & 255;
  out[size - 1] = seed & 255;
  return out;
}

/** Whether `promise` settled within `ms` milliseconds (its rejection is rethrown). */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  const settled = promise.then(() => true);
  // Rejected after the time is up (its link closed): nobody waits for it any more.
  settled.catch(() => undefined);
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function measureOrFail(pair: { a: DataChannelPair; b: DataChannelPair }, size: number, seconds: number): Promise<WebRtcBenchCase> {
  try {
    return await measure(pair, size, seconds);
  } catch (error) {
    return { size, sent: 0, msgs_per_s: 0, mb_per_s: 0, mbit_per_s: 0, loss: 1, latency_p50_ms: NaN, latency_p99_ms: NaN, intact: false, error: (error as Error).message };
  }
}

async function measure(pair: { a: DataChannelPair; b: DataChannelPair }, size: number, seconds: number): Promise<WebRtcBenchCase> {
  let received = 0;
  let intact = true;
  let expected: Buffer | undefined;
  let onArrive: ((p: Uint8Array) => void) | undefined;
  const out = new WebRtcLink(pair.a, { message: () => undefined });
  const inbound = new WebRtcLink(pair.b, {
    message: (p) => {
      received++;
      if (expected && !Buffer.from(p.buffer, p.byteOffset, p.byteLength).equals(expected)) intact = false;
      onArrive?.(p);
    },
  });
  try {
    // Bounded in count (200,000) and bytes (512 MiB, at least 3 messages).
    const count = Math.max(3, Math.min(200_000, Math.floor(512 * 2 ** 20 / size)));
    expected = Buffer.from(payload(size, 1));
    const deadline = performance.now() + seconds * 1000;
    const t0 = performance.now();
    let sent = 0;
    while (sent < count && performance.now() < deadline) {
      // A library whose buffer never drains must not hold the run past its time limit.
      const queued = await within(out.publish('bench', expected), deadline - performance.now());
      sent++;
      if (!queued) break;
    }
    // What has not arrived `2 × seconds` (at least 1 s) after sending stopped counts as lost.
    while (received < sent && performance.now() < deadline + Math.max(1000, seconds * 2000)) await sleep(1);
    const elapsed = (performance.now() - t0) / 1000;
    const delivered = received;
    const whole = intact && delivered >= sent;
    const msgs = delivered / elapsed;
    // Throughput-run messages still arriving must not count as the latency probe's.
    expected = undefined;
    // Latency: one message at a time; bounded to 50 samples and the time limit.
    const latencies: number[] = [];
    const latencyDeadline = performance.now() + seconds * 1000;
    for (let i = 0; i < 50 && performance.now() < latencyDeadline; i++) {
      const probe = payload(size, i + 2);
      const arrived = new Promise<void>((resolve) => (onArrive = (p) => p.byteLength === size && p[size - 1] === probe[size - 1] && resolve()));
      const start = performance.now();
      if (!(await within(out.publish('bench', probe), latencyDeadline - performance.now()))) break;
      const ok = await Promise.race([arrived.then(() => true), sleep(Math.max(0, latencyDeadline - performance.now()) + Math.max(1000, seconds * 1000)).then(() => false)]);
      if (!ok) break;
      latencies.push(performance.now() - start);
    }
    onArrive = undefined;
    return {
      size,
      sent,
      msgs_per_s: round(msgs, 0),
      mb_per_s: round((msgs * size) / 1e6, 1),
      mbit_per_s: round((msgs * size * 8) / 1e6, 1),
      loss: round(sent === 0 ? 1 : 1 - Math.min(delivered, sent) / sent, 4),
      latency_p50_ms: latencies.length ? round(quantile(latencies, 0.5), 2) : NaN,
      latency_p99_ms: latencies.length ? round(quantile(latencies, 0.99), 2) : NaN,
      intact: whole,
    };
  } finally {
    out.close();
    inbound.close();
  }
}

/**
 * DataChannel throughput and latency on loopback, node-datachannel (what the WebRTC transport
 * uses) and werift side by side, through framebus's own link (frames, fragments, backpressure).
 * Each library gets a fresh pair of peer connections per size. Bounded: per size and library
 * at most `seconds` of sending and 50 latency samples.
 */
export async function runWebRtcBench(options: WebRtcBenchOptions = {}): Promise<WebRtcBenchResult> {
  const sizes = options.sizes ?? WEBRTC_BENCH_SIZES;
  const seconds = options.seconds ?? 2;
  const libraries: WebRtcBenchResult['libraries'] = {};
  const ndc: WebRtcBenchCase[] = [];
  for (const size of sizes) {
    options.onProgress?.(`node-datachannel ${size} B`);
    const p = await loopbackPeers();
    try {
      ndc.push(await measureOrFail(p, size, seconds));
    } finally {
      p.offerer.close();
      p.answerer.close();
    }
  }
  libraries['node-datachannel'] = ndc;
  const wer: WebRtcBenchCase[] = [];
  let absent: string | undefined;
  for (const size of options.weriftSizes ?? sizes) {
    options.onProgress?.(`werift ${size} B`);
    const p = await weriftPair();
    if (!p) {
      absent = 'werift is not installed (it is a devDependency, used only by this bench): npm install werift@0.24';
      break;
    }
    try {
      wer.push(await measureOrFail(p, size, seconds));
    } finally {
      await p.close();
    }
  }
  libraries.werift = absent ? { absent } : wer;
  const at = (cases: WebRtcBenchCase[], size: number) => cases.find((c) => c.size === size);
  return {
    method: `Loopback, one process, two peer connections per library; each size: send for up to ${seconds} s through framebus's DataChannel link (fragments above 256 KiB, bufferedAmount backpressure), then 50 one-at-a-time messages for latency. Machine shared with other jobs: compare the libraries within one run.`,
    library: 'node-datachannel',
    libraries,
    dc_msgs_per_s_256: at(ndc, 256)?.msgs_per_s ?? NaN,
    dc_mbit_per_s_64k: at(ndc, 65536)?.mbit_per_s ?? NaN,
    dc_max_message_bytes: Math.max(0, ...ndc.filter((c) => c.intact && c.loss === 0).map((c) => c.size)),
    werift_msgs_per_s_256: at(wer, 256)?.msgs_per_s ?? NaN,
    werift_mbit_per_s_64k: at(wer, 65536)?.mbit_per_s ?? NaN,
  };
}
