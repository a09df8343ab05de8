import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { VideoEncoder } from '../codec/video-encoder.js';
import { frameFromPacked } from '../core/frame.js';
import type { VideoPacket } from '../core/packet.js';
import { PacketFmp4Stream } from './packet-fmp4.js';

async function encode(width: number, height: number, count: number, gop: number): Promise<VideoPacket[]> {
  const encoder = await VideoEncoder.create({ width, height, gop, log: () => {} });
  const packets: VideoPacket[] = [];
  for (let i = 0; i < count; i++) {
    const frame = frameFromPacked(new Uint8Array(width * height * 3).fill(i * 20), { width, height, format: 'rgb24', timestamp: 1_000_000_000n + BigInt(i) * 33_333_333n });
    packets.push(...(await encoder.encode(frame)));
  }
  encoder.close();
  return packets;
}

test('bus packets remux to fMP4 from the first key packet; out-of-order, resized and pre-key packets are skipped and counted', async () => {
  const packets = await encode(64, 48, 12, 6);
  const other = await encode(32, 32, 1, 6);
  const out: { kind: string; bytes: Uint8Array }[] = [];
  const stream = new PacketFmp4Stream((kind, bytes) => out.push({ kind, bytes: bytes.slice() }));
  for (const p of packets.slice(3, 6)) stream.push(p); // joined mid-GOP: nothing until the key packet at 6
  stream.push(packets[6]);
  stream.push(packets[7]);
  stream.push(packets[5]); // older than the last one
  stream.push(other[0]); // another size
  for (const p of packets.slice(8)) stream.push(p);
  stream.close();
  assert.equal(stream.skipped, 5);
  assert.deepEqual(out.map((o) => o.kind), ['init', ...Array(5).fill('fragment')]);
  const dir = await mkdtemp(join(tmpdir(), 'framebus-packet-fmp4-'));
  try {
    const file = join(dir, 'remux.mp4');
    await writeFile(file, Buffer.concat(out.map((o) => o.bytes)));
    const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-show_entries', 'frame=pts_time,key_frame', '-of', 'csv=p=0', file]);
    const frames = stdout.trim().split('\n').map((l) => l.split(',').map(Number));
    assert.equal(frames.length, 5, 'the newest packet waits for the next one to know its duration');
    assert.deepEqual(frames.map((f) => Math.round(f[frames[0].length - 1] * 30)), [0, 1, 2, 3, 4]);
    assert.equal(frames[0][0], 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
