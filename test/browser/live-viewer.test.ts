import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { Bus } from '../../src/bus/bus.js';
import { startLiveServer } from '../../src/server/live-server.js';
import type { ViewerServerHandle } from '../../src/server/viewer-server.js';
import { drawnFrameCode, launchBrowser, waitForStream, type TestBrowser } from './support.js';
import { startSyntheticCamera, type SyntheticCamera } from '../../src/bench/synthetic-camera.js';

let bus: Bus;
let server: ViewerServerHandle;
let browser: TestBrowser;
let front: SyntheticCamera;
let longGop: SyntheticCamera | undefined;

/** The viewer page with video over the WebSocket (WebCodecs), which these tests are about; WHEP is in webrtc.test.ts. */
function websocketUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.set('transport', 'websocket');
  return u.toString();
}

/** Frames from one key frame to the next on the long-GOP camera: 10 s at 30 fps. */
const LONG_GOP = 300;

before(async () => {
  bus = await Bus.open('memory:live-viewer-test');
  server = await startLiveServer({ bus, port: 0 });
  front = startSyntheticCamera(bus, 'camera/front', { gop: 30 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await front?.stop();
  await longGop?.stop();
  await bus?.close();
});

test('a live H.264 stream decodes and draws, and the frame counter on the canvas advances', async () => {
  const { page, errors } = await browser.open(websocketUrl(server.url));
  const first = await waitForStream(page, 'camera/front', 's.framesDrawn >= 3');
  assert.match(first.codec, /^avc1\.[0-9a-f]{6}$/);
  assert.equal(first.width, 320);
  assert.equal(first.height, 240);
  const codeA = await drawnFrameCode(page, 'camera/front');
  await waitForStream(page, 'camera/front', `s.framesDrawn >= ${first.framesDrawn + 15}`);
  const codeB = await drawnFrameCode(page, 'camera/front');
  assert.ok(codeB > codeA, `the drawn frame number should advance: ${codeA} then ${codeB}`);
  assert.ok(codeB < front.published, `frame ${codeB} cannot be on screen before it is published (${front.published} published)`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a viewer that opens mid-GOP draws the current picture at once, from the cached GOP, before the next key frame', async () => {
  // Started here, not with the suite, so a slow earlier test cannot carry it past mid-GOP.
  longGop = startSyntheticCamera(bus, 'camera/long-gop', { gop: LONG_GOP });
  for (let i = 0; i < 200 && longGop.published < 60; i++) await sleep(50);
  const publishedAtOpen = longGop.published;
  assert.ok(publishedAtOpen >= 60 && publishedAtOpen < LONG_GOP / 2, `the test needs to open mid-GOP (at ${publishedAtOpen})`);
  const { page, errors } = await browser.open(websocketUrl(server.url));
  // The GOP's key picture is drawn at once, then the view skips to the live picture.
  await waitForStream(page, 'camera/long-gop', 's.framesDrawn >= 2');
  const keyPacketsAtDraw = longGop.keyPackets;
  const code = await drawnFrameCode(page, 'camera/long-gop');
  assert.equal(keyPacketsAtDraw, 1, 'only the first key frame existed when the viewer drew, so it decoded the cached GOP');
  assert.ok(code >= publishedAtOpen - 1, `the viewer shows the current picture (frame ${code}), not an old one (opened at ${publishedAtOpen})`);
  assert.ok(code < LONG_GOP);
  assert.deepEqual(errors, []);
  await page.close();
});
