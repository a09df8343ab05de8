import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { startReplayServer } from '../../src/server/replay-server.js';
import type { ViewerServerHandle } from '../../src/server/viewer-server.js';
import { drawnFrameCode, launchBrowser, waitForStream, type TestBrowser } from './support.js';
import { writeSyntheticRecording, type SyntheticRecording } from './synthetic-recording.js';

let dir: string;
let recording: SyntheticRecording;
let server: ViewerServerHandle;
let browser: TestBrowser;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framebus-replay-'));
  recording = await writeSyntheticRecording(join(dir, 'run.mcap'), { frames: 150, gop: 30, jpegEvery: 10 });
  server = await startReplayServer({ recordingsDir: dir, port: 0 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

function timestampOf(frame: number): string {
  return (recording.start + BigInt(frame) * recording.period).toString();
}

async function openRecording(): Promise<{ page: Page; errors: string[] }> {
  const opened = await browser.open(`${server.url}?recording=run.mcap`);
  // The page shows the first frame as soon as it has loaded the index.
  await waitForStream(opened.page, 'camera', `s.lastTimestampNs === '${timestampOf(0)}'`);
  return opened;
}

/** Moves the timeline to `frame` + half a frame, as a person dragging it would. */
async function scrubTo(page: Page, frame: number): Promise<void> {
  const offsetMs = Number(BigInt(frame) * recording.period + recording.period / 2n) / 1e6;
  await page.evaluate((value) => {
    const timeline = document.querySelector<HTMLInputElement>('input.timeline')!;
    timeline.value = String(value);
    timeline.dispatchEvent(new Event('change'));
  }, offsetMs);
}

async function shows(page: Page, frame: number): Promise<void> {
  const state = await waitForStream(page, 'camera', `s.lastTimestampNs === '${timestampOf(frame)}'`);
  assert.equal(state.waiting, false);
  assert.equal(await drawnFrameCode(page, 'camera'), frame, `the canvas shows frame ${frame}`);
}

test('the replay page lists the recordings of the folder', async () => {
  const { page, errors } = await browser.open(server.url);
  await page.waitForSelector('ul.recordings a');
  assert.deepEqual(await page.$$eval('ul.recordings a', (links) => links.map((a) => a.textContent)), ['run.mcap']);
  assert.deepEqual(errors, []);
  await page.close();
});

test('scrubbing to a time draws exactly the frame at that time, decoded from the key frame before it', async () => {
  const { page, errors } = await openRecording();
  const marks = await page.$$eval('.marks span', (spans) => spans.length);
  assert.equal(marks, 5, 'one keyframe mark per GOP of 30 frames');
  for (const frame of [46, 59, 12, 90, 149, 31]) {
    await scrubTo(page, frame);
    await shows(page, frame);
  }
  const replay = await page.evaluate(() => window.framebus.replay);
  assert.equal(replay?.positionNs, timestampOf(31));
  const snapshot = await waitForStream(page, 'snapshot', `s.lastTimestampNs === '${timestampOf(30)}'`);
  assert.equal(snapshot.codec, 'jpeg');
  assert.equal(await drawnFrameCode(page, 'snapshot'), 30, 'the JPEG stream shows its image at or before the time');
  assert.deepEqual(errors, []);
  await page.close();
});

test('frame step moves by exactly one frame, forward and back, across a GOP boundary', async () => {
  const { page, errors } = await openRecording();
  await scrubTo(page, 28);
  await shows(page, 28);
  for (const frame of [29, 30, 31]) {
    await page.click('button[data-action="step-forward"]');
    await shows(page, frame);
  }
  for (const frame of [30, 29, 28]) {
    await page.click('button[data-action="step-back"]');
    await shows(page, frame);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('play advances frame by frame and pause stops', async () => {
  const { page, errors } = await openRecording();
  await page.click('button[data-action="play-pause"]');
  await waitForStream(page, 'camera', `BigInt(s.lastTimestampNs) >= ${timestampOf(20)}n`);
  await page.click('button[data-action="play-pause"]');
  await page.waitForFunction(() => window.framebus.replay?.playing === false);
  const code = await drawnFrameCode(page, 'camera');
  assert.ok(code >= 20, `played to frame ${code}`);
  const stopped = await page.evaluate(() => window.framebus.streams.find((s) => s.topic === 'camera')!.framesDrawn);
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => window.framebus.streams.find((s) => s.topic === 'camera')!.framesDrawn), stopped, 'nothing is drawn while paused');
  assert.deepEqual(errors, []);
  await page.close();
});
