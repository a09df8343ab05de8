import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '../core/errors.js';
import { runDemo } from '../server/demo.js';
import { launchHeadlessChromium } from './headless-chromium.js';
import { median, round } from './stats.js';

/** Result of `framebus bench soak`. */
export interface SoakBenchResult {
  settings: string;
  seconds: number;
  warmup_seconds: number;
  frames: number;
  /** Frames per second actually published over the run. */
  fps: number;
  /** Median RSS of the first minute after warm-up, MB. */
  rss_start_mb: number;
  /** Median RSS of the last minute, MB. */
  rss_end_mb: number;
  /** Growth from start to end, percent; the goal is < 10. */
  rss_growth_pct: number;
  rss_max_mb: number;
  heap_end_mb: number;
  /** RSS samples, MB, one per `sampleSeconds`. */
  rss_samples_mb: number[];
  recording_bytes: number;
}

/**
 * The demo as a user runs it (synthetic 640x480 at 30 fps, encoded once, memory bus, MCAP
 * recording, live server with one Chromium viewer attached) for `seconds`, sampling this
 * process's resident memory, to show memory stays flat: growth from the first minute after
 * warm-up to the last minute.
 */
export async function runSoakBench(options: { seconds?: number; warmupSeconds?: number; sampleSeconds?: number; viewer?: boolean } = {}): Promise<SoakBenchResult> {
  const seconds = options.seconds ?? 600;
  const warmup = options.warmupSeconds ?? 60;
  const every = options.sampleSeconds ?? 5;
  if (!(seconds >= warmup + 120)) throw new InvalidArgumentError(`seconds must leave two minutes after the ${warmup} s warm-up, got ${seconds}.`);
  const dir = await mkdtemp(join(tmpdir(), 'framebus-soak-'));
  const demo = await runDemo({ record: join(dir, 'soak.mcap'), port: 0 });
  const browser = options.viewer === false ? undefined : await launchHeadlessChromium();
  try {
    if (browser) await (await browser.context.newPage()).goto(demo.url);
    const samples: number[] = [];
    const started = performance.now();
    while ((performance.now() - started) / 1000 < seconds) {
      await sleep(every * 1000);
      samples.push(process.memoryUsage().rss / 1e6);
    }
    const perMinute = Math.round(60 / every);
    const afterWarmup = samples.slice(Math.round(warmup / every));
    const start = median(afterWarmup.slice(0, perMinute));
    const end = median(samples.slice(-perMinute));
    const heap = process.memoryUsage().heapUsed / 1e6;
    await browser?.close();
    const summary = await demo.close();
    return {
      settings: 'demo: synthetic 640x480@30, H.264 veryfast/zerolatency GOP 30, memory bus, MCAP recording, live server' + (browser ? ' + 1 Chromium viewer' : ''),
      seconds,
      warmup_seconds: warmup,
      frames: summary.frames,
      fps: round(summary.frames / summary.seconds, 2),
      rss_start_mb: round(start, 1),
      rss_end_mb: round(end, 1),
      rss_growth_pct: round(((end - start) / start) * 100, 2),
      rss_max_mb: round(Math.max(...samples), 1),
      heap_end_mb: round(heap, 1),
      rss_samples_mb: samples.map((s) => round(s, 1)),
      recording_bytes: summary.recording?.fileBytes ?? 0,
    };
  } finally {
    await browser?.close();
    await demo.close();
    await rm(dir, { recursive: true, force: true });
  }
}
