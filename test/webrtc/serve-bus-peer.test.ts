import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VideoPacket } from '../../src/core/packet.js';
import { Bus } from '../../src/bus/bus.js';
import { startLiveServer } from '../../src/server/live-server.js';
import { twistMessageType, type TwistMessage } from '../../src/wire/messages.js';
import { randomMemoryUrl } from '../support/bus-fixtures.js';
import { runCli } from '../support/run-cli.js';

const until = async (check: () => boolean, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
};

test('a live server answers webrtc://host:port: a dialed bus and a publish process join its bus', async (t) => {
  const local = await Bus.open(randomMemoryUrl());
  const server = await startLiveServer({ bus: local, port: 0 });
  t.after(async () => {
    await server.close();
    await local.close();
  });
  const url = `webrtc://127.0.0.1:${new URL(server.url).port}`;

  // Typed messages both ways between the dialed bus and the server's bus.
  const remote = await Bus.open(url);
  t.after(() => remote.close());
  const atServer: TwistMessage[] = [];
  const atRemote: TwistMessage[] = [];
  local.topic('cmd', twistMessageType).subscribe((m) => void atServer.push(m));
  remote.topic('state', twistMessageType).subscribe((m) => void atRemote.push(m));
  await remote.flush?.();
  await remote.topic('cmd', twistMessageType).publish({ timestamp_ns: 7n, linear: [0.5, 0, 0], angular: [0, 0, 0.25] });
  await until(() => atServer.length > 0, 5_000);
  assert.deepEqual(atServer[0], { timestamp_ns: 7n, linear: [0.5, 0, 0], angular: [0, 0, 0.25] });
  for (let i = 0; i < 20 && atRemote.length === 0; i++) {
    await local.topic('state', twistMessageType).publish({ timestamp_ns: BigInt(i), linear: [1, 2, 3], angular: [0, 0, 0] });
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(atRemote.length > 0, 'the dialed bus got the server bus\'s messages');
  assert.deepEqual(atRemote[0].linear, [1, 2, 3]);

  // A framebus process publishing with --bus webrtc://: its packets reach the server's bus.
  const got: VideoPacket[] = [];
  local.video('peer-cam').subscribePackets((p) => void got.push(p));
  const pub = await runCli(['publish', '--source', 'synthetic:160x120@30', '--bus', url, '--topic', 'peer-cam', '--duration', '1'], { timeoutMs: 30_000 });
  assert.equal(pub.code, 0, pub.stderr);
  assert.ok(got.length >= 20, `the server's bus got ${got.length} packets`);
  assert.equal(got[0].key, true);
});

test('POST /webrtc/bus refuses what is not an SDP offer with a clear HTTP error', async (t) => {
  const local = await Bus.open(randomMemoryUrl());
  const server = await startLiveServer({ bus: local, port: 0 });
  t.after(async () => {
    await server.close();
    await local.close();
  });
  const endpoint = new URL('/webrtc/bus', server.url).href.replace(/\?.*$/, '');
  const wrongType = await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'v=0' });
  assert.equal(wrongType.status, 415);
  const garbage = await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'hello' });
  assert.equal(garbage.status, 400);
  assert.match(await garbage.text(), /SDP offer/);
  const put = await fetch(endpoint, { method: 'PUT', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0' });
  assert.equal(put.status, 405);
  assert.match(put.headers.get('allow') ?? '', /POST/);
});
