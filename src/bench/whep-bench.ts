import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { Bus } from '../bus/bus.js';
import { InvalidArgumentError } from '../core/errors.js';
import { startLiveServer } from '../server/live-server.js';
import { startSyntheticCamera, type SyntheticCamera } from './synthetic-camera.js';
import { launchHeadlessChromium } from './headless-chromium.js';
import { quantile, round } from './stats.js';
import type {} from '../web/page-hook.js';

/** Options of {@link runWhepBench}. */
export interface WhepBenchOptions {
  /** Seconds of measured playback per transport, split over two alternating rounds. Default 10. */
  seconds?: number;
  /** Players that join the GOP-300 stream mid-GOP. Default 5. */
  firstFrameTrials?: number;
  /** Chromium executable. Default Debian's `/usr/bin/chromium`. */
  chromium?: string;
}

/** WHEP figures of `framebus bench webrtc --json`, with the WebSocket viewer measured in the same run. */
export interface WhepBenchResult {
  settings: string;
  /** Capture → drawn on the viewer page's canvas over WHEP, ms (median, 95th percentile). */
  whep_glass_to_glass_p50_ms: number;
  whep_glass_to_glass_p95_ms: number;
  /** Frames drawn over WHEP in the measured windows, and frames the camera published meanwhile. */
  whep_frames_drawn: number;
  whep_frames_published: number;
  /** The same over the Foxglove WebSocket (WebCodecs), same camera and browser, alternating with WHEP. */
  websocket_glass_to_glass_p50_ms: number;
  websocket_glass_to_glass_p95_ms: number;
  websocket_frames_drawn: number;
  websocket_frames_published: number;
  /** A player joining a GOP-300 stream mid-GOP: from its POST to its first drawn frame, ms (median). */
  whep_first_frame_ms: number;
  whep_first_frame_max_ms: number;
  whep_first_frame_each_ms: number[];
  goal_whep_p50_ms: number;
  goal_first_frame_ms: number;
}

/** Opens the viewer page with `transport`, lets it settle and returns the capture → drawn samples of `ms` of playback. */
async function measureViewer(page: Page, url: string, transport: 'webrtc' | 'websocket', ms: number, published: () => number): Promise<{ samples: number[]; published: number }> {
  await page.goto(`${url}${url.includes('?') ? '&' : '?'}transport=${transport}`);
  await page.waitForFunction(() => (window.framebus?.streams.find((s) => s.topic === 'camera')?.framesDrawn ?? 0) > 0, undefined, { timeout: 30_000 });
  // The clock offset settles on a few time messages, and the WebRTC jitter buffer on a few frames.
  await sleep(1500);
  await page.evaluate(() => {
    window.framebus.latencySamples.length = 0;
  });
  const before = published();
  await sleep(ms);
  const samples = await page.evaluate(() => window.framebus.latencySamples.filter((s) => s.topic === 'camera').map((s) => s.captureToDrawMs));
  const after = published();
  await page.goto('about:blank');
  return { samples, published: after - before };
}

/** One player joins over WHEP: ms from its POST to its first frame drawn on a canvas. */
async function joinOnce(page: Page, endpoint: string): Promise<number> {
  return page.evaluate(async (url) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    const track = new Promise<MediaStreamTrack>((ok) => {
      pc.ontrack = (event) => ok(event.track);
    });
    await pc.setLocalDescription(await pc.createOffer());
    const posted = performance.now();
    const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription?.sdp });
    if (response.status !== 201) throw new Error(`WHEP answered ${response.status}`);
    const location = response.headers.get('Location') ?? '';
    await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
    for (const receiver of pc.getReceivers()) receiver.jitterBufferTarget = 0;
    const Processor = (window as unknown as { MediaStreamTrackProcessor: new (i: { track: MediaStreamTrack }) => { readable: ReadableStream<VideoFrame> } })
      .MediaStreamTrackProcessor;
    const reader = new Processor({ track: await track }).readable.getReader();
    const { value: frame } = await reader.read();
    if (!frame) throw new Error('the track ended before a frame');
    const canvas = document.createElement('canvas');
    canvas.width = frame.displayWidth;
    canvas.height = frame.displayHeight;
    canvas.getContext('2d')?.drawImage(frame, 0, 0);
    const drawn = performance.now() - posted;
    frame.close();
    await reader.cancel();
    pc.close();
    await fetch(new URL(location, url), { method: 'DELETE' });
    return drawn;
  }, endpoint);
}

/**
 * WHEP on this machine: glass-to-glass (capture → drawn on the viewer page in headless
 * Chromium, 640x480 at 30 fps, GOP 30) over WHEP and, alternating in the same run, over the
 * WebSocket; and the first frame of players joining a GOP-300 stream mid-GOP.
 * @throws InvalidArgumentError for bad options; MissingDependencyError when Chromium is missing.
 */
export async function runWhepBench(options: WhepBenchOptions = {}): Promise<WhepBenchResult> {
  const seconds = options.seconds ?? 10;
  const trials = options.firstFrameTrials ?? 5;
  if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= 600)) throw new InvalidArgumentError(`seconds must be in (0, 600], got ${String(seconds)}.`);
  if (!(Number.isInteger(trials) && trials > 0 && trials <= 20)) throw new InvalidArgumentError(`firstFrameTrials must be 1 to 20, got ${String(trials)}.`);
  const fps = 30;
  const browser = await launchHeadlessChromium({ executablePath: options.chromium });
  const bus = await Bus.open('memory:whep-bench');
  const camera = startSyntheticCamera(bus, 'camera', { width: 640, height: 480, fps, gop: fps, frames: Math.ceil((2 * seconds + 60) * fps) });
  const server = await startLiveServer({ bus, port: 0 });
  const origin = new URL(server.url).origin;
  let longGop: SyntheticCamera | undefined;
  try {
    const page = await browser.context.newPage();
    const whep: number[] = [];
    const websocket: number[] = [];
    const published = { webrtc: 0, websocket: 0 };
    for (let round = 0; round < 2; round++) {
      for (const [transport, samples] of [
        ['webrtc', whep],
        ['websocket', websocket],
      ] as const) {
        const window = await measureViewer(page, server.url, transport, (seconds * 1000) / 2, () => camera.published);
        samples.push(...window.samples);
        published[transport] += window.published;
      }
    }
    await page.goto(`${origin}/api/info`);
    const firstFrame: number[] = [];
    // Each trial joins mid-GOP: at least 1.5 s after the stream's only key frame; a stream
    // whose second key frame came (a slow machine) is replaced by a fresh one.
    for (let stream = 0; firstFrame.length < trials && stream < 3 * trials; stream++) {
      await longGop?.stop();
      longGop = startSyntheticCamera(bus, `camera/gop300-${stream}`, { width: 640, height: 480, fps, gop: 300, frames: 600 });
      while (longGop.published < 45) await sleep(50);
      while (firstFrame.length < trials && longGop.published < 240) {
        const ms = await joinOnce(page, `${origin}/whep/camera/gop300-${stream}`);
        if (longGop.keyPackets === 1) firstFrame.push(ms);
        await sleep(300);
      }
    }
    return {
      settings: `synthetic 640x480@${fps}, H.264 veryfast/zerolatency GOP ${fps}, memory bus, loopback; viewer page in headless Chromium, WHEP (node-datachannel → Chromium WebRTC, jitterBufferTarget 0) vs WebSocket (WebCodecs), alternating; first frame on a GOP-300 stream`,
      whep_glass_to_glass_p50_ms: round(quantile(whep, 0.5), 1),
      whep_glass_to_glass_p95_ms: round(quantile(whep, 0.95), 1),
      whep_frames_drawn: whep.length,
      whep_frames_published: published.webrtc,
      websocket_glass_to_glass_p50_ms: round(quantile(websocket, 0.5), 1),
      websocket_glass_to_glass_p95_ms: round(quantile(websocket, 0.95), 1),
      websocket_frames_drawn: websocket.length,
      websocket_frames_published: published.websocket,
      whep_first_frame_ms: round(quantile(firstFrame, 0.5), 1),
      whep_first_frame_max_ms: round(Math.max(...firstFrame), 1),
      whep_first_frame_each_ms: firstFrame.map((ms) => round(ms, 1)),
      goal_whep_p50_ms: 60,
      goal_first_frame_ms: 300,
    };
  } finally {
    await browser.close();
    await server.close();
    await camera.stop();
    await longGop?.stop();
    await bus.close();
  }
}
