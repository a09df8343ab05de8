import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { VideoPacket } from '../../src/core/packet.js';
import { Bus } from '../../src/bus/bus.js';
import { WebRtcAnswerer } from '../../src/bus/webrtc/webrtc-answerer.js';
import { recordingInfo } from '../../src/store/recording-info.js';
import { SyntheticSource } from '../../src/source/synthetic-source.js';
import { frameDurationNs } from '../../src/core/time.js';
import { twistMessageType } from '../../src/wire/messages.js';
import { randomMemoryUrl } from '../support/bus-fixtures.js';
import { runCli } from '../support/run-cli.js';
import { startSignalingServer } from '../support/webrtc-signaling.js';

test('--bus webrtc://host:port works in publish, topics and record --bus against an answering server', async (t) => {
  const local = await Bus.open(randomMemoryUrl());
  const answerer = new WebRtcAnswerer(local, { log: () => {} });
  const { port, close } = await startSignalingServer(answerer, 'tok');
  const dir = await mkdtemp(join(tmpdir(), 'framebus-webrtc-cli-'));
  t.after(async () => {
    answerer.close();
    await close();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  });
  const url = `webrtc://127.0.0.1:${port}?token=tok`;

  // publish: a framebus process encodes and publishes; the server's bus receives the packets.
  const got: VideoPacket[] = [];
  local.video('cli-cam').subscribePackets((p) => void got.push(p));
  const pub = await runCli(['publish', '--source', 'synthetic:160x120@30', '--bus', url, '--topic', 'cli-cam', '--duration', '1'], { timeoutMs: 30_000 });
  assert.equal(pub.code, 0, pub.stderr);
  assert.match(pub.stdout, /published \d+ frames/);
  assert.ok(got.length >= 20, `the server's bus got ${got.length} packets`);
  assert.equal(got[0].key, true);

  // topics and record --bus: the server's bus publishes; CLI processes dialed in see and store it.
  const source = new SyntheticSource({ width: 160, height: 120 });
  const video = local.video('cli-rec', { encoder: { gop: 15, fps: 30 } });
  let running = true;
  const feeding = (async () => {
    for (let i = 0; running; i++) {
      await video.publishFrame(source.render(i, BigInt(i) * frameDurationNs(30)));
      await local.topic('cli-state', twistMessageType).publish({ timestamp_ns: BigInt(i), linear: [i, 0, 0], angular: [0, 0, 0] });
      await new Promise((r) => setTimeout(r, 33));
    }
  })();
  const out = join(dir, 'run.mcap');
  const [topics, record] = await Promise.all([
    runCli(['topics', '--bus', url, '--duration', '2', '--json'], { timeoutMs: 30_000 }),
    runCli(['record', '--out', out, '--bus', url, '--topics', 'cli-rec', '--duration', '2'], { timeoutMs: 30_000 }),
  ]);
  running = false;
  await feeding;
  await video.close();
  assert.equal(topics.code, 0, topics.stderr);
  const rows = JSON.parse(topics.stdout) as { topic: string; typeName?: string; messages: number }[];
  const state = rows.find((r) => r.topic === 'cli-state');
  assert.ok(state && state.messages > 5 && state.typeName === twistMessageType.name, topics.stdout);
  assert.equal(record.code, 0, record.stderr);
  const info = await recordingInfo(out);
  assert.ok(info.streams.length >= 1 && info.streams[0].frames > 10, JSON.stringify(info.streams));
});
