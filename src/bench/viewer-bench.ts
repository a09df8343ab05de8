import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Bus } from '../bus/bus.js';
import { InvalidArgumentError } from '../core/errors.js';
import { startLiveServer } from '../server/live-server.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { launchHeadlessChromium } from './headless-chromium.js';
import { quantile, round } from './stats.js';
import type {} from '../web/page-hook.js';

/** Options of {@link runViewerBench}. */
export interface ViewerBenchOptions {
  /** Seconds of measured playback after the first drawn frame. Default 10. */
  seconds?: number;
  /** Picture size, pixels. Default 640x480. */
  width?: number;
  height?: number;
  /** Frames per second. Default 30. */
  fps?: number;
  /** Chromium executable. Default Debian's `/usr/bin/chromium`. */
  chromium?: string;
  /** Save a screenshot of the viewer page here at the end (PNG). */
  screenshot?: string;
  /** Viewers opened mid-stream to time their first frame. Default 10. */
  lateJoinTrials?: number;
}

/** Median and 95th percentile, ms. */
export interface DrawLatency {
  p50: number;
  p95: number;
}

/** Result of the viewer benchmark. */
export interface ViewerBenchResult {
  settings: string;
  seconds: number;
  frames_published: number;
  frames_drawn: number;
  /** Bus publish (the server receiving the packet) → drawn on the page's canvas, ms. */
  publish_to_draw_ms: DrawLatency;
  /** Frame captured (before the synthetic scene is rendered and encoded) → drawn, ms: glass to glass. */
  capture_to_draw_ms: DrawLatency;
  /** The goal for `publish_to_draw_ms.p50`, ms. */
  goal_p50_ms: number;
  /**
   * Late join: a viewer opened mid-stream, from the start of navigation to its first drawn
   * frame on the page's own clock, ms (page load, WebSocket, cached GOP, decode), median and
   * max over `lateJoinTrials` pages that the driver leaves alone until they have drawn, and
   * each page's figure in order (the first page is also the first of a freshly launched
   * browser). The goal is 200 ms.
   */
  first_frame_ms: { median: number; max: number; trials: number; each: number[] };
  /**
   * As many other pages, opened between those, timed from outside: from asking Playwright to
   * navigate until its polling sees the frame drawn, ms. Adds the driver's round trips and
   * the cost of its polling script in the page.
   */
  first_frame_driver_ms: { median: number; max: number };
  /** Where the screenshot went, when asked. */
  screenshot?: string;
}

function figures(values: number[]): DrawLatency {
  return { p50: round(quantile(values, 0.5), 1), p95: round(quantile(values, 0.95), 1) };
}

/**
 * Glass-to-glass latency of the live viewer on this machine: a real-time synthetic camera is
 * encoded once and published on a memory bus, the live server forwards the packets over the
 * Foxglove WebSocket protocol on loopback, and headless Chromium decodes them with WebCodecs
 * and draws them. The page stamps each drawn frame on the server's clock (offset from the
 * protocol's time messages; one machine, so the clocks agree to well under a millisecond).
 * @throws InvalidArgumentError for bad options; MissingDependencyError when playwright-core or
 *   Chromium is missing.
 */
export async function runViewerBench(options: ViewerBenchOptions = {}): Promise<ViewerBenchResult> {
  const seconds = options.seconds ?? 10;
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  const fps = options.fps ?? 30;
  if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= 600)) throw new InvalidArgumentError(`seconds must be in (0, 600], got ${String(seconds)}.`);
  const browser = await launchHeadlessChromium({ executablePath: options.chromium });
  const bus = await Bus.open('memory:viewer-bench');
  const source = new SyntheticSource({ width, height, fps, realtime: true, frames: Math.ceil((seconds + 30) * fps) });
  const video = bus.video('camera', { encoder: { fps, gop: fps } });
  let published = 0;
  const pump = (async () => {
    for await (const frame of source) {
      await video.publishFrame(frame);
      published++;
    }
  })();
  const server = await startLiveServer({ bus, port: 0 });
  // This bench is about the WebSocket viewer (WebCodecs); WHEP is measured by whep-bench.
  const pageUrl = new URL(server.url);
  pageUrl.searchParams.set('transport', 'websocket');
  try {
    const drawn = () => (window.framebus?.streams[0]?.framesDrawn ?? 0) > 0;
    const firstFrame: number[] = [];
    const firstFrameDriver: number[] = [];
    const trials = options.lateJoinTrials ?? 10;
    for (let i = 0; i < 2 * trials; i++) {
      const late = await browser.context.newPage();
      const t0 = performance.now();
      await late.goto(pageUrl.toString());
      if (i % 2 === 0) {
        // Left alone while it starts: Playwright's polling evaluates its own script in the
        // page, on the main thread the viewer needs (about 16 ms in a trace).
        await sleep(1000);
        await late.waitForFunction(drawn, undefined, { timeout: 30_000 });
        firstFrame.push((await late.evaluate(() => window.framebus?.streams[0]?.firstDrawnMs)) ?? NaN);
      } else {
        await late.waitForFunction(drawn, undefined, { timeout: 30_000, polling: 'raf' });
        firstFrameDriver.push(performance.now() - t0);
      }
      await late.close();
    }
    const page = await browser.context.newPage();
    await page.goto(pageUrl.toString());
    await page.waitForFunction(drawn, undefined, { timeout: 30_000 });
    // Let the clock offset settle on a few time messages, then measure from a clean slate.
    await sleep(1500);
    const startPublished = published;
    await page.evaluate(() => {
      window.framebus.latencySamples.length = 0;
    });
    await sleep(seconds * 1000);
    const samples = await page.evaluate(() => window.framebus.latencySamples);
    const framesPublished = published - startPublished;
    let screenshot: string | undefined;
    if (options.screenshot) {
      await mkdir(dirname(options.screenshot), { recursive: true });
      await page.screenshot({ path: options.screenshot });
      screenshot = options.screenshot;
    }
    return {
      settings: `synthetic ${width}x${height}@${fps}, H.264 veryfast/zerolatency GOP ${fps}, memory bus, loopback WebSocket, Chromium WebCodecs`,
      seconds,
      frames_published: framesPublished,
      frames_drawn: samples.length,
      publish_to_draw_ms: figures(samples.map((s) => s.publishToDrawMs)),
      capture_to_draw_ms: figures(samples.map((s) => s.captureToDrawMs)),
      goal_p50_ms: 50,
      first_frame_ms: {
        median: round(quantile(firstFrame, 0.5), 1),
        max: round(Math.max(...firstFrame), 1),
        trials: firstFrame.length,
        each: firstFrame.map((ms) => round(ms, 1)),
      },
      first_frame_driver_ms: { median: round(quantile(firstFrameDriver, 0.5), 1), max: round(Math.max(...firstFrameDriver), 1) },
      ...(screenshot ? { screenshot } : {}),
    };
  } finally {
    await browser.close();
    await server.close();
    await source.close();
    await pump.catch(() => undefined);
    await video.close();
    await bus.close();
  }
}
