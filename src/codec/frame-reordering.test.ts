import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Demuxer } from 'node-av/api';
import { Packet } from 'node-av/lib';
import { InvalidArgumentError } from '../core/errors.js';
import type { VideoCodec, VideoPacket } from '../core/packet.js';
import { Bus } from '../bus/bus.js';
import { Recording } from '../store/recording.js';
import { FrameReorderCheck } from './frame-reordering.js';

/** Writes bits and Exp-Golomb codes, to build H.264 headers the test controls field by field. */
class BitWriter {
  private readonly bits: number[] = [];
  u(n: number, value: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push((value >> i) & 1);
    return this;
  }
  ue(value: number): this {
    const code = value + 1;
    const len = Math.floor(Math.log2(code));
    return this.u(len, 0).u(len + 1, code);
  }
  /** The NAL unit: header byte, the fields, rbsp trailing bits; with a start code in front. */
  nal(header: number): Uint8Array {
    const bits = [...this.bits, 1];
    while (bits.length % 8) bits.push(0);
    const bytes = [0, 0, 0, 1, header];
    for (let i = 0; i < bits.length; i += 8) bytes.push(bits.slice(i, i + 8).reduce((v, b) => v * 2 + b, 0));
    return new Uint8Array(bytes);
  }
}

/** A main-profile SPS with POC type 0 (6-bit lsb) and no VUI: reordering shows only in the POCs. */
const sps = new BitWriter().u(8, 77).u(8, 0).u(8, 30).ue(0).ue(0).ue(0).ue(2).ue(2).u(1, 0).ue(19).ue(14).u(1, 1).u(1, 1).u(1, 0).u(1, 0).nal(0x67);
const pps = new BitWriter().ue(0).ue(0).u(1, 0).u(1, 0).nal(0x68);
const idr = (poc: number) => concat(sps, pps, new BitWriter().ue(0).ue(7).ue(0).u(4, 0).ue(0).u(6, poc).nal(0x65));
const slice = (frameNum: number, poc: number, reference: boolean, type: number) =>
  new BitWriter().ue(0).ue(type).ue(0).u(4, frameNum).u(6, poc).nal(reference ? 0x41 : 0x01);

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

test('H.264 without VUI: picture order counts that go back are reordering; rising ones are not', () => {
  const inOrder = new FrameReorderCheck('h264');
  for (const au of [idr(0), slice(1, 2, true, 5), slice(2, 4, true, 5), slice(3, 6, false, 5), idr(0), slice(1, 2, true, 5)]) {
    assert.equal(inOrder.inspect(au), undefined);
  }
  const bFrames = new FrameReorderCheck('h264');
  assert.equal(bFrames.inspect(idr(0)), undefined);
  assert.equal(bFrames.inspect(slice(1, 4, true, 5)), undefined);
  assert.match(bFrames.inspect(slice(2, 2, false, 6)) ?? '', /picture order count goes back from 4 to 2/);
});

test('H.264 POC lsb wrap-around is not reordering', () => {
  const check = new FrameReorderCheck('h264');
  assert.equal(check.inspect(idr(0)), undefined);
  // 6-bit lsb: 0, 16, 32, 48, then 0 and 16 again mean 64 and 80.
  for (const [n, poc] of [[1, 16], [2, 32], [3, 48], [4, 0], [5, 16], [6, 32]]) {
    assert.equal(check.inspect(slice(n, poc, true, 5)), undefined, `poc lsb ${poc}`);
  }
});

/** Access units of a raw Annex B file the Debian ffmpeg CLI encodes. */
async function accessUnits(codec: VideoCodec, bFrames: number): Promise<Uint8Array[]> {
  const dir = mkdtempSync(join(tmpdir(), 'framebus-reorder-'));
  const file = join(dir, codec === 'h264' ? 'v.h264' : 'v.h265');
  try {
    const encoder = codec === 'h264' ? ['-c:v', 'libx264', '-bf', String(bFrames)] : ['-c:v', 'libx265', '-x265-params', `log-level=none:bframes=${bFrames}`];
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '1', '-pix_fmt', 'yuv420p', ...encoder, file]);
    const demuxer = await Demuxer.open(file);
    const packet = new Packet();
    packet.alloc();
    const out: Uint8Array[] = [];
    const format = demuxer.getFormatContext();
    while ((await format.readFrame(packet)) >= 0) {
      out.push(Buffer.from(packet.data!));
      packet.unref();
    }
    packet.free();
    await demuxer.close();
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function firstReason(codec: VideoCodec, units: Uint8Array[]): string | undefined {
  const check = new FrameReorderCheck(codec);
  for (const au of units) {
    const why = check.inspect(au);
    if (why) return why;
  }
  return undefined;
}

test('real libx264 and libx265 streams: B-frames are found from the SPS, streams without them pass', async () => {
  assert.match(firstReason('h264', await accessUnits('h264', 2)) ?? '', /H\.264 SPS allows 2 reordered frames/);
  assert.equal(firstReason('h264', await accessUnits('h264', 0)), undefined);
  assert.match(firstReason('h265', await accessUnits('h265', 3)) ?? '', /H\.265 SPS allows \d+ reordered picture/);
  assert.equal(firstReason('h265', await accessUnits('h265', 0)), undefined);
});

test('a recording refuses packets that need reordering, naming framebus import', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'framebus-reorder-'));
  try {
    const recording = await Recording.create(join(dir, 'r.mcap'));
    const stream = recording.addStream('video', { codec: 'h264' });
    const packets: VideoPacket[] = [idr(0), slice(1, 4, true, 5), slice(2, 2, false, 6)].map((data, i) => ({
      kind: 'video-packet', codec: 'h264', data, key: i === 0, timestamp: BigInt(i + 1) * 40_000_000n, sequence: i, frameId: i, width: 320, height: 240,
    }));
    await stream.writePacket(packets[0]);
    await stream.writePacket(packets[1]);
    await assert.rejects(stream.writePacket(packets[2]), (error: Error) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.match(error.message, /Stream video: packet 2 needs frame reordering.*framebus import/);
      return true;
    });
    const summary = await recording.close();
    assert.equal(summary.streams[0].frames, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a video topic refuses to publish packets that need reordering, naming framebus import', async () => {
  const bus = await Bus.open('memory:reorder-test');
  try {
    const topic = bus.video('camera');
    const packets: VideoPacket[] = [idr(0), slice(1, 4, true, 5), slice(2, 2, false, 6)].map((data, i) => ({
      kind: 'video-packet', codec: 'h264', data, key: i === 0, timestamp: BigInt(i + 1) * 40_000_000n, sequence: i, frameId: i, width: 320, height: 240,
    }));
    await topic.publishPacket(packets[0]);
    await topic.publishPacket(packets[1]);
    await assert.rejects(topic.publishPacket(packets[2]), (error: Error) => error instanceof InvalidArgumentError && /Topic camera: packet 2 needs frame reordering.*framebus import/.test(error.message));
  } finally {
    await bus.close();
  }
});
