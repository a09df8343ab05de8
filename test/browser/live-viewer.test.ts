import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Bus } from '../../src/bus/bus.js';
import { startLiveServer } from '../../src/server/live-server.js';
import type { ViewerServerHandle } from '../../src/server/viewer-server.js';
import { drawnFrameCode, launchBrowser, publishSynthetic, waitForStream, type SyntheticPublisher, type TestBrowser } from './support.js';

let bus: Bus;
let server: ViewerServerHandle;
let browser: TestBrowser;
let camera: SyntheticPublisher;

before(async () => {
  bus = await Bus.open('memory:live-viewer-test');
  camera = publishSynthetic(bus, 'camera/front', { gop: 30 });
  server = await startLiveServer({ bus, port: 0 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await camera?.stop();
  await bus?.close();
});

test('a live H.264 stream decodes and draws, and the frame counter on the canvas advances', async () => {
  const { page, errors } = await browser.open(server.url);
  const first = await waitForStream(page, 'camera/front', 's.framesDrawn >= 3');
  assert.match(first.codec, /^avc1\.[0-9a-f]{6}$/);
  assert.equal(first.width, 320);
  const codeA = await drawnFrameCode(page, 'camera/front');
  await waitForStream(page, 'camera/front', `s.framesDrawn >= ${first.framesDrawn + 15}`);
  const codeB = await drawnFrameCode(page, 'camera/front');
  assert.ok(codeB > codeA, `the drawn frame number should advance: ${codeA} then ${codeB}`);
  assert.ok(codeB <= camera.published, `frame ${codeB} cannot be drawn before it is published (${camera.published})`);
  assert.deepEqual(errors, []);
  await page.close();
});
