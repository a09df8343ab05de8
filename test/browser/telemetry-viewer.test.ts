/**
 * A bus recording with video and a typed (LCM) telemetry topic: the telemetry channel carries
 * a JSON Schema, and `framebus view` shows it as a table and plot beside the video.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Bus } from '../../src/bus/bus.js';
import { nowNs } from '../../src/core/time.js';
import { startLiveServer } from '../../src/server/live-server.js';
import { startReplayServer } from '../../src/server/replay-server.js';
import { SyntheticSource } from '../../src/source/synthetic-source.js';
import { BusRecorder } from '../../src/store/bus-recorder.js';
import { openMcapSource } from '../../src/store/mcap-source.js';
import { playRecording } from '../../src/store/play-recording.js';
import { recordingInfo } from '../../src/store/recording-info.js';
import { loadLcmTypes } from '../../src/wire/lcm-types.js';
import { HERE } from '../lcm/liblcm.js';
import { launchBrowser, waitForStream } from './support.js';

const FRAMES = 30;

test('a recording with video and typed telemetry opens in the viewer with the telemetry table and plot', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'framebus-telemetry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'run.mcap');
  const types = await loadLcmTypes([join(HERE, 'types')]);
  const vec3 = types.get('fbgeom.vec3_t');

  const bus = await Bus.open('memory:telemetry-viewer');
  try {
    const recorder = await BusRecorder.start(bus, file, { topics: ['camera', 'pose'], types: types.types });
    const camera = bus.video('camera', { encoder: { gop: 10 } });
    const pose = bus.topic('pose', vec3);
    const start = nowNs();
    let i = 0;
    // Frames stamped with the wall clock and telemetry received between them, as from a robot.
    for await (const frame of new SyntheticSource({ width: 160, height: 120, frames: FRAMES, startTimestamp: start })) {
      await camera.publishFrame(frame);
      await pose.publish({ xyz: [Math.sin(i / 4), i, -2 * i] });
      i++;
      await sleep(Math.max(0, Number(frame.timestamp + 33_333_333n - nowNs()) / 1e6));
    }
    await sleep(50);
    await recorder.stop();
    await camera.close();
    assert.deepEqual(recorder.telemetryStats, { stored: { 'pose (fbgeom.vec3_t)': FRAMES }, dropped: 0 });
  } finally {
    await bus.close();
  }

  // `info` lists the telemetry channel beside the video stream.
  const info = await recordingInfo(file);
  assert.deepEqual(info.streams.map((s) => s.name), ['camera']);
  assert.deepEqual(info.channels, [{ topic: 'pose', schema: 'fbgeom.vec3_t', encoding: 'json', messages: FRAMES }]);

  // The telemetry channel: JSON messages with the JSON Schema of the LCM type.
  const source = await openMcapSource(file);
  try {
    const channel = [...source.channels.values()].find((c) => c.topic === 'pose')!;
    assert.equal(channel.messageEncoding, 'json');
    assert.equal(channel.metadata.get('framebus.lcm_type'), 'fbgeom.vec3_t');
    const schema = source.schemas.get(channel.schemaId)!;
    assert.equal(schema.encoding, 'jsonschema');
    const json = JSON.parse(new TextDecoder().decode(schema.data)) as { title: string; properties: { xyz: { type: string } }; required: string[] };
    assert.equal(json.title, 'fbgeom.vec3_t');
    assert.equal(json.properties.xyz.type, 'array');
    assert.deepEqual(json.required, ['xyz']);
  } finally {
    await source.close();
  }

  // play republishes the telemetry as LCM messages with the video.
  const replayBus = await Bus.open('memory:telemetry-play');
  try {
    const got: number[] = [];
    replayBus.topic('pose', vec3).subscribe((v) => got.push((v.xyz as number[])[1]));
    const summary = await playRecording(file, replayBus, { speed: 4, types: types.types });
    assert.equal(summary.packets, FRAMES);
    assert.equal(summary.telemetry, FRAMES);
    assert.deepEqual(got, Array.from({ length: FRAMES }, (_, k) => k));
  } finally {
    await replayBus.close();
  }

  const server = await startReplayServer({ file, port: 0 });
  const browser = await launchBrowser();
  try {
    const { page, errors } = await browser.open(server.url);
    await waitForStream(page, 'camera', 's.lastTimestampNs !== null');
    await page.click('button[data-action="play-pause"]');
    await page.waitForFunction((n) => (window.framebus.telemetry[0]?.plotted['xyz[1]'] ?? 0) >= n, FRAMES - 2, { timeout: 20_000, polling: 50 });
    const card = await page.evaluate(() => window.framebus.telemetry[0]);
    assert.equal(card.topic, 'pose');
    assert.equal(card.schemaName, 'fbgeom.vec3_t');
    assert.deepEqual(Object.keys(card.fields), ['xyz[0]', 'xyz[1]', 'xyz[2]']);
    assert.ok(Number(card.fields['xyz[1]']) >= FRAMES - 3, JSON.stringify(card.fields));
    // What a person sees: a table row per field and one plotted line per numeric field.
    assert.equal(await page.$$eval('section.telemetry table.fields tr', (rows) => rows.length), 3);
    const lines = await page.$$eval('section.telemetry svg.plot polyline', (ls) => ls.map((l) => (l.getAttribute('points') ?? '').split(' ').length));
    assert.equal(lines.length, 3);
    assert.ok(lines.every((n) => n >= FRAMES - 2), JSON.stringify(lines));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});

test('the live viewer shows a topic of a loaded LCM type as a telemetry card', async (t) => {
  const types = await loadLcmTypes([join(HERE, 'types')]);
  const bus = await Bus.open('memory:telemetry-live');
  const server = await startLiveServer({ bus, port: 0, types: types.types });
  const browser = await launchBrowser();
  let i = 0;
  const pose = bus.topic('pose', types.get('fbgeom.vec3_t'));
  const timer = setInterval(() => void pose.publish({ xyz: [i, i * 2, 0.5] }).then(() => i++), 20);
  t.after(async () => {
    clearInterval(timer);
    await browser.close();
    await server.close();
    await bus.close();
  });
  const { page, errors } = await browser.open(server.url);
  await page.waitForFunction(() => (window.framebus.telemetry[0]?.plotted['xyz[0]'] ?? 0) >= 5, undefined, { timeout: 20_000, polling: 50 });
  const card = await page.evaluate(() => window.framebus.telemetry[0]);
  assert.equal(card.schemaName, 'fbgeom.vec3_t');
  assert.equal(card.fields['xyz[2]'], '0.5');
  assert.equal(Number(card.fields['xyz[1]']), 2 * Number(card.fields['xyz[0]']));
  assert.deepEqual(errors, []);
});

