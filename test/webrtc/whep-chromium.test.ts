import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { launchHeadlessChromium, type HeadlessChromium } from '../../src/bench/headless-chromium.js';
import { Bus } from '../../src/bus/bus.js';
import { startLiveServer, type LiveServerHandle } from '../../src/server/live-server.js';
import { rtpTimestampOf } from '../../src/server/whep-session.js';
import { keyframeRequestMessageType } from '../../src/wire/messages.js';
import { readFrameCode } from '../../src/source/synthetic-source.js';
import { drawnFrameCode, waitForStream } from '../browser/support.js';
import { startSyntheticCamera, type SyntheticCamera } from '../../src/bench/synthetic-camera.js';
import { startLossyRelay } from './lossy-relay.js';
import { twistSubscriberBinary } from './twist-subscriber.js';

let bus: Bus;
let server: LiveServerHandle;
let browser: HeadlessChromium;
let camera: SyntheticCamera;

before(async () => {
  bus = await Bus.open('memory:whep-chromium-test');
  server = await startLiveServer({ bus, port: 0 });
  camera = startSyntheticCamera(bus, 'camera', { width: 320, height: 240, gop: 30 });
  browser = await launchHeadlessChromium({ args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await camera?.stop();
  await bus?.close();
});

async function openPage(url: string) {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(`${m.text()} (${m.location().url})`));
  page.on('pageerror', (e) => errors.push(e.message));
  const webrtc = new URL(url);
  webrtc.searchParams.set('transport', 'webrtc');
  await page.goto(webrtc.href);
  return { page, errors };
}

async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('the viewer plays a topic over WHEP (?transport=webrtc): frames drawn, the frame counter on the canvas advances, latency shown', async () => {
  const { page, errors } = await openPage(server.url);
  try {
    const first = await waitForStream(page, 'camera', 's.framesDrawn >= 3');
    assert.equal(await page.evaluate(() => window.framebus.transport), 'webrtc');
    assert.equal(server.webrtc?.whep.size, 1, 'one WHEP session for the one video topic');
    assert.equal(first.width, 320);
    assert.equal(first.height, 240);
    const codeA = await drawnFrameCode(page, 'camera');
    const later = await waitForStream(page, 'camera', `s.framesDrawn >= ${first.framesDrawn + 15} && s.latencyMs !== null`);
    const codeB = await drawnFrameCode(page, 'camera');
    assert.ok(codeB > codeA, `the drawn frame number should advance: ${codeA} then ${codeB}`);
    assert.ok(codeB < camera.published, `frame ${codeB} cannot be on screen before it is published (${camera.published})`);
    assert.ok(later.latencyMs !== null && later.latencyMs > 0 && later.latencyMs < 2000, `capture → drawn latency ${later.latencyMs} ms`);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
  await until(() => server.webrtc?.whep.size === 0, 10_000, 'the WHEP session to end when the page closes');
});

test('5% RTP loss towards the player: every drawn frame is the right picture, PLIs become keyframe requests, and drawing resumes at a key frame answering them within 2 s of each loss', async () => {
  const lossy = startSyntheticCamera(bus, 'lossy', { width: 320, height: 240, gop: 90 });
  const frameOfRtp = new Map<number, number>();
  /** When each frame and each key frame was published, and when the server asked for a key frame (the player's PLIs), ms. */
  const publishedAt = new Map<number, number>();
  const keys: { frame: number; at: number }[] = [];
  const requests: number[] = [];
  const watch = bus.video('lossy');
  const subscription = watch.subscribePackets((packet) => {
    frameOfRtp.set(rtpTimestampOf(packet.timestamp), packet.frameId);
    publishedAt.set(packet.frameId, performance.now());
    if (packet.key) keys.push({ frame: packet.frameId, at: performance.now() });
  });
  const requestWatch = bus.topic(watch.channels.control, keyframeRequestMessageType).subscribe((r) => {
    // Not this test's subscription, nor the server's own late join: the requests the player's PLIs made.
    if (r.requester !== subscription.requester && r.reason !== 'late-join') requests.push(performance.now());
  });
  let relay: Awaited<ReturnType<typeof startLossyRelay>> | undefined;
  const page = await browser.context.newPage();
  try {
    await until(() => lossy.published > 10, 10_000, 'the lossy camera');
    // The answer's only candidate (the server) is replaced by the relay's port.
    await page.route('**/whep/lossy', async (route) => {
      const response = await route.fetch();
      const sdp = await response.text();
      const port = Number(/ 127\.0\.0\.1 (\d+) typ host/.exec(sdp)?.[1]);
      relay = await startLossyRelay(port, 0.05);
      await route.fulfill({ response, body: sdp.replace(` 127.0.0.1 ${port} typ host`, ` 127.0.0.1 ${relay.port} typ host`) });
    });
    await page.goto(`${new URL(server.url).origin}/api/info`);
    // cy: the middle row of the synthetic scene's bit strip at 320x240 (see synthetic-source.ts).
    const cellHeight = Math.max(8, Math.floor(240 / 24));
    const stripRow = 240 - cellHeight - 2 + (cellHeight >> 1);
    const publishedAtStart = lossy.published;
    const drawn = await page.evaluate(
      async ({ row }) => {
        const pc = new RTCPeerConnection();
        pc.addTransceiver('video', { direction: 'recvonly' });
        const track = new Promise<MediaStreamTrack>((ok) => (pc.ontrack = (event) => ok(event.track)));
        await pc.setLocalDescription(await pc.createOffer());
        const response = await fetch('/whep/lossy', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription?.sdp });
        await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
        const Processor = (window as unknown as { MediaStreamTrackProcessor: new (i: { track: MediaStreamTrack }) => { readable: ReadableStream<VideoFrame> } })
          .MediaStreamTrackProcessor;
        const reader = new Processor({ track: await track }).readable.getReader();
        const canvas = document.createElement('canvas');
        canvas.width = 320;
        canvas.height = 240;
        const context = canvas.getContext('2d', { willReadFrequently: true })!;
        const frames: { rtp: number; strip: number[] }[] = [];
        const end = performance.now() + 6000;
        while (performance.now() < end) {
          const { value: frame } = await reader.read();
          if (!frame) break;
          context.drawImage(frame, 0, 0, 320, 240);
          const rtp = (frame as VideoFrame & { metadata(): { rtpTimestamp: number } }).metadata().rtpTimestamp;
          frame.close();
          frames.push({ rtp, strip: [...context.getImageData(0, row, 320, 1).data] });
        }
        let pli = 0;
        let nack = 0;
        (await pc.getStats()).forEach((s: { type: string; pliCount?: number; nackCount?: number }) => {
          if (s.type === 'inbound-rtp') {
            pli = s.pliCount ?? 0;
            nack = s.nackCount ?? 0;
          }
        });
        pc.close();
        return { frames, pli, nack };
      },
      { row: stripRow },
    );
    assert.ok(relay && relay.stats.dropped > 0, 'the relay dropped RTP packets');
    const lossRate = relay.stats.dropped / relay.stats.rtp;
    assert.ok(lossRate > 0.02 && lossRate < 0.09, `about 5% of RTP packets dropped, got ${(lossRate * 100).toFixed(1)}%`);
    let checked = 0;
    let lastCode = -1;
    const drawnCodes = new Set<number>();
    for (const frame of drawn.frames) {
      const pixels = new Uint8Array((stripRow + 1) * 320 * 4);
      pixels.set(frame.strip, stripRow * 320 * 4);
      const code = readFrameCode(pixels, 320, 240, 4);
      const expected = frameOfRtp.get(frame.rtp);
      if (expected === undefined) continue; // the cached GOP, sent with packed timestamps
      assert.equal(code, expected, `a drawn frame shows picture ${code} where frame ${expected} belongs: a corrupt frame was drawn`);
      assert.ok(code > lastCode, 'frames are drawn in order');
      lastCode = code;
      drawnCodes.add(code);
      checked++;
    }
    assert.ok(checked >= 60, `enough frames drawn and checked under loss (${checked} of ${drawn.frames.length})`);
    // 6 s of playback at 30 fps: the picture is still moving at the end, not frozen after a loss.
    assert.ok(lastCode >= publishedAtStart + 90, `playback went on under loss: last drawn ${lastCode}, ${publishedAtStart} published at the start`);
    const totals = server.webrtc!.whepTotals;
    process.stdout.write(
      `# 5% loss: ${relay.stats.dropped}/${relay.stats.rtp} RTP dropped, ${checked} frames checked, player PLIs ${drawn.pli}, NACKs ${drawn.nack}; ` +
        `server keyframe requests ${totals.keyframeRequests}, forced key frames ${lossy.keyPackets}\n`,
    );
    // Each PLI the player sent reached the server as one keyframe request (counted when the session ends).
    await until(() => ![...server.webrtc!.whep.values()].some((session) => session.topic === 'lossy'), 10_000, 'the session to end');
    assert.ok(server.webrtc!.whepTotals.keyframeRequests >= drawn.pli, `${drawn.pli} PLIs sent, ${server.webrtc!.whepTotals.keyframeRequests} keyframe requests made`);
    // Per loss event (the player's first PLI → keyframe request, then any repeats until drawing resumes):
    // the key frame whose GOP drawing resumed in, and whether it was the first one published after the
    // first request (the event needed one request) or a later one (the answer did not restore the picture).
    const lastDrawnAt = publishedAt.get(lastCode) ?? 0;
    const resumesDrawing = (key: { frame: number }) => {
      const next = keys.find((k) => k.frame > key.frame)?.frame ?? Infinity;
      return [...drawnCodes].some((c) => c >= key.frame && c < next);
    };
    const events: { key: number; ms: number; requests: number; oneRequest: boolean }[] = [];
    // Forced key frames come at most every 500 ms (the publisher's rate limit): 2 s allows four answers.
    const boundMs = 2000;
    for (let i = 0; i < requests.length && requests[i] < lastDrawnAt - boundMs; ) {
      const answers = keys.filter((k) => k.at > requests[i] && k.at <= lastDrawnAt);
      const resumed = answers.find(resumesDrawing);
      assert.ok(resumed && resumed.at - requests[i] <= boundMs, `drawing resumed within ${boundMs} ms of a loss event's first keyframe request (${JSON.stringify(resumed)})`);
      const next = requests.findIndex((t) => t > resumed.at);
      const made = (next === -1 ? requests.length : next) - i;
      events.push({ key: resumed.frame, ms: Math.round(resumed.at - requests[i]), requests: made, oneRequest: resumed === answers[0] });
      if (next === -1) break;
      i = next;
    }
    process.stdout.write(
      `# loss events: ${events.filter((e) => e.oneRequest).length} of ${events.length} recovered by the first key frame after the first request; ` +
        `${events.map((e) => `drawing resumed at key frame ${e.key}, published ${e.ms} ms after the first request (${e.requests} requests)`).join('; ')}\n`,
    );
  } finally {
    await page.close();
    relay?.close();
    requestWatch.unsubscribe();
    await subscription.unsubscribe();
    await watch.close();
    await lossy.stop();
  }
});

test('the teleop panel sends twist_t commands at 20 Hz while a key is held, zero on release and when the page goes; a liblcm C subscriber receives them', async () => {
  const lcmUrl = 'udpm://239.255.76.67:7691?ttl=0';
  const lcmBus = await Bus.open(`lcm://239.255.76.67:7691?ttl=0`);
  const robotCamera = startSyntheticCamera(lcmBus, 'robot/camera', { width: 320, height: 240, gop: 30 });
  const teleopServer = await startLiveServer({ bus: lcmBus, port: 0, commands: 'robot/cmd_vel' });
  const robot = spawn(await twistSubscriberBinary(), [lcmUrl, 'robot/cmd_vel', '30000']);
  const lines: string[] = [];
  createInterface({ input: robot.stdout }).on('line', (line) => lines.push(line));
  const twists = () => lines.filter((l) => l.startsWith('twist ')).map((l) => l.split(' ').slice(2).map(Number));
  try {
    await until(() => lines.includes('ready'), 10_000, 'the C subscriber');
    const { page, errors } = await openPage(teleopServer.url);
    await waitForStream(page, 'robot/camera', 's.framesDrawn >= 1');
    await page.waitForFunction(() => window.framebus.teleop !== undefined, undefined, { timeout: 10_000 });
    await page.keyboard.down('KeyW');
    await sleep(600);
    await page.keyboard.up('KeyW');
    await until(() => twists().length > 0 && twists().at(-1)!.every((v) => v === 0), 5000, 'a zero command after release');
    const moving = twists().filter((t) => t[0] === 0.5);
    assert.ok(moving.length >= 8 && moving.length <= 16, `about 12 commands in 600 ms at 20 Hz, got ${moving.length}`);
    for (const t of moving) assert.deepEqual(t, [0.5, 0, 0, 0, 0, 0]);
    // Dead-man: the page goes away while turning; the server publishes the zero.
    const before = twists().length;
    await page.keyboard.down('KeyD');
    await until(() => twists().slice(before).some((t) => t[5] === -1), 5000, 'turn commands');
    await page.close({ runBeforeUnload: false });
    await until(() => twists().length > before && twists().at(-1)!.every((v) => v === 0), 10_000, 'a zero command when the page goes');
    assert.ok(teleopServer.commands!.stats.published >= moving.length);
    assert.equal(teleopServer.commands!.stats.malformed, 0);
    assert.deepEqual(errors, []);
  } finally {
    robot.kill();
    await teleopServer.close();
    await robotCamera.stop();
    await lcmBus.close();
  }
});

test('a fake camera published over WHIP becomes a bus topic with verified key packets, decoded by framebus and played back over WHEP', async () => {
  const { page, errors } = await openPage(server.url);
  await page.waitForFunction(() => window.framebus.whip !== undefined, undefined, { timeout: 10_000 });
  const frames: { width: number; height: number }[] = [];
  const video = bus.video('browser-camera');
  const subscription = video.subscribeFrames((frame) => void frames.push({ width: frame.width, height: frame.height }));
  try {
    await page.click('.whip button');
    await page.waitForFunction(() => window.framebus.whip?.publishing === true, undefined, { timeout: 15_000 });
    await until(() => frames.length >= 15, 20_000, 'decoded frames from the browser camera');
    assert.deepEqual(frames[0], { width: 640, height: 480 });
    const session = [...server.webrtc!.whip.values()][0];
    assert.ok(session.stats.published >= 15);
    assert.equal(subscription.stats.corrupt, 0);
    // The viewer lists the new topic and plays it over WHEP: WHIP in, WHEP out, no re-encode.
    await waitForStream(page, 'browser-camera', 's.framesDrawn >= 5', 20_000);
    await page.click('.whip button');
    await until(() => server.webrtc!.whip.size === 0, 10_000, 'the WHIP session to end on stop');
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
    await subscription.unsubscribe();
    await video.close();
  }
});
