import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Bus } from '../../src/bus/bus.js';
import { WebRtcAnswerer } from '../../src/bus/webrtc/webrtc-answerer.js';
import { twistMessageType, videoPacketMessageType, type TwistMessage, type VideoPacketMessage } from '../../src/wire/messages.js';
import { randomMemoryUrl, waitFor } from '../support/bus-fixtures.js';
import { startSignalingServer } from '../support/webrtc-signaling.js';

const PEER = fileURLToPath(new URL('./aiortc_peer.py', import.meta.url));
const LCM_DIR = fileURLToPath(new URL('../../lcm/', import.meta.url));
/** Larger than aiortc's 64 KiB max-message-size, so it travels as fragments both ways. */
const BIG = 200_000;

function bigData(): Uint8Array {
  return Uint8Array.from({ length: BIG }, (_, i) => (i * 7) & 255);
}

test('aiortc (the seed system\'s WebRTC library) exchanges typed LCM messages with framebus over DataChannels both ways, one larger than 64 KiB', async (t) => {
  const gen = await mkdtemp(join(tmpdir(), 'framebus-aiortc-'));
  await promisify(execFile)('lcm-gen', ['-p', '--ppath', gen, join(LCM_DIR, 'twist_t.lcm'), join(LCM_DIR, 'video_packet_t.lcm')]);
  const local = await Bus.open(randomMemoryUrl());
  const answerer = new WebRtcAnswerer(local, { log: () => {} });
  const { port, close } = await startSignalingServer(answerer, 'tok');
  t.after(async () => {
    answerer.close();
    await close();
    await local.close();
    await rm(gen, { recursive: true, force: true });
  });
  const fromPy: TwistMessage[] = [];
  const bigFromPy: VideoPacketMessage[] = [];
  local.topic('from_py/twist', twistMessageType).subscribe((m) => fromPy.push(m));
  local.topic('from_py/big', videoPacketMessageType).subscribe((m) => bigFromPy.push(m));

  const child = spawn('/usr/bin/python3', [PEER, `http://127.0.0.1:${port}/webrtc/bus`, 'tok', gen, String(BIG)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  t.after(() => {
    clearTimeout(killer);
    child.kill('SIGKILL');
  });

  await waitFor(() => (fromPy.length === 3 && bigFromPy.length === 1) || child.exitCode !== null, 'aiortc\'s messages');
  assert.equal(fromPy.length, 3, stderr);
  assert.deepEqual(fromPy, [0, 1, 2].map((i) => ({ timestamp_ns: BigInt(1000 + i), linear: [i, 2.5, -1], angular: [0, 0, 0.25 * i] })));
  assert.equal(bigFromPy[0].data.byteLength, BIG);
  assert.ok(Buffer.from(bigFromPy[0].data).equals(Buffer.from(bigData())), 'the 200 kB packet from aiortc is byte-identical');

  const sent = [0, 1, 2].map((i) => ({ timestamp_ns: BigInt(2000 + i), linear: [i, -i, 0.5], angular: [1, 2, 3] }));
  for (const m of sent) await local.topic('to_py/twist', twistMessageType).publish(m);
  await local.topic('to_py/big', videoPacketMessageType).publish({ codec: 'h264', key: true, sequence: 9n, timestamp_ns: 1n, frame_id: 9n, width: 64, height: 48, data: bigData() });
  assert.equal(await exited, 0, stderr);
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { twists: { timestamp_ns: number; linear: number[]; angular: number[] }[]; bigs: { sequence: number; bytes: number; sha256: string }[]; batches: number };
  assert.deepEqual(report.twists, sent.map((m) => ({ ...m, timestamp_ns: Number(m.timestamp_ns) })));
  assert.deepEqual(report.bigs, [{ sequence: 9, bytes: BIG, sha256: createHash('sha256').update(bigData()).digest('hex') }]);
  // Published in one event-loop turn, the twists after the first share a DataChannel message (dc-frame kind 6).
  assert.ok(report.batches >= 1, `aiortc received ${report.batches} batch frames`);
});
