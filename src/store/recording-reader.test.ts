import assert from 'node:assert/strict';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { McapWriter } from '@mcap/core';
import { FileHandleWritable } from '@mcap/nodejs';
import { InvalidArgumentError, NotFoundError, OutOfToleranceError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { VideoPacket } from '../core/packet.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import { readFrameCode, SyntheticSource } from '../source/synthetic-source.js';
import { frameHash, recordSynthetic, T0, tempDir } from '../../test/store/fixtures.js';
import { encodeCompressedVideo, schemaFor } from '../wire/foxglove-messages.js';
import { extractFrames } from './extract-frames.js';
import { RecordingReader } from './recording-reader.js';

let dir: string;
let cleanup: () => Promise<void>;
let path: string;
/** Hash of every frame a full sequential decode produces, by timestamp. */
const reference = new Map<bigint, string>();
const FRAME_NS = 33_333_333n;

before(async () => {
  ({ dir, cleanup } = await tempDir());
  path = join(dir, 'seek.mcap');
  // Small chunks, so seeks cross chunk boundaries.
  await recordSynthetic(path, { frames: 90, streamOptions: { encoder: { gop: 30 } }, recording: { maxChunkBytes: 16 * 1024 } });
  const reader = await RecordingReader.open(path);
  const decoder = await VideoDecoder.create({ codec: 'h264' });
  for await (const p of reader.packets('camera')) for (const f of await decoder.decode(p as VideoPacket)) reference.set(f.timestamp, frameHash(f));
  for (const f of await decoder.flush()) reference.set(f.timestamp, frameHash(f));
  decoder.close();
  await reader.close();
});
after(() => cleanup());

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('frameAt', () => {
  test('returns bit-exactly the frame a full sequential decode produces, for every frame, in random order', async () => {
    assert.equal(reference.size, 90);
    const reader = await RecordingReader.open(path);
    try {
      for (const t of shuffled([...reference.keys()], 7)) {
        const frame = await reader.frameAt('camera', t, { tolerance: 0n });
        assert.equal(frame.timestamp, t);
        assert.equal(frameHash(frame), reference.get(t), `frame at ${t}`);
      }
    } finally {
      await reader.close();
    }
  });

  test('a fresh reader per request gives the same frames (no cache)', async () => {
    for (const t of shuffled([...reference.keys()], 3).slice(0, 8)) {
      const reader = await RecordingReader.open(path);
      assert.equal(frameHash(await reader.frameAt('camera', t)), reference.get(t));
      await reader.close();
    }
  });

  test('picks the nearest frame; out of tolerance names the requested and nearest timestamps', async () => {
    const reader = await RecordingReader.open(path);
    try {
      const f10 = T0 + 10n * FRAME_NS;
      assert.equal((await reader.frameAt('camera', f10 + 10_000_000n)).timestamp, f10);
      assert.equal((await reader.frameAt('camera', f10 + 20_000_000n)).timestamp, f10 + FRAME_NS);
      assert.equal((await reader.frameAt('camera', 0n)).timestamp, T0);
      assert.equal((await reader.frameAt('camera', T0 + 1_000_000_000_000n)).timestamp, T0 + 89n * FRAME_NS);
      const requested = f10 + 5_000_000n;
      await assert.rejects(reader.frameAt('camera', requested, { tolerance: 1_000_000n }), (e: unknown) => {
        assert.ok(e instanceof OutOfToleranceError);
        assert.equal(e.requested, requested);
        assert.equal(e.nearest, f10);
        assert.match(e.message, new RegExp(`${requested} ns .*nearest frame is at ${f10} ns`));
        return true;
      });
    } finally {
      await reader.close();
    }
  });

  test('framesAt decodes a batch in one pass and returns frames in the order asked', async () => {
    const reader = await RecordingReader.open(path);
    try {
      const times = shuffled([...reference.keys()], 11).slice(0, 20);
      const frames = await reader.framesAt('camera', times, { tolerance: 0n });
      assert.deepEqual(frames.map((f) => f.timestamp), times);
      frames.forEach((f, i) => assert.equal(frameHash(f), reference.get(times[i])));
      await assert.rejects(reader.framesAt('camera', [T0, T0 + 5n], { tolerance: 1n }), OutOfToleranceError);
    } finally {
      await reader.close();
    }
  });

  test('frames over a range decode from the key packet before it and match the sequential decode', async () => {
    const reader = await RecordingReader.open(path);
    try {
      const start = T0 + 40n * FRAME_NS;
      const end = T0 + 50n * FRAME_NS;
      const frames: Frame[] = [];
      for await (const f of reader.frames('camera', { start, end })) frames.push(f);
      assert.equal(frames.length, 11);
      assert.equal(frames[0].timestamp, start);
      frames.forEach((f) => assert.equal(frameHash(f), reference.get(f.timestamp)));
      assert.equal(readFrameCode(frames[0].planes[0].data, 320, 240), 40);
    } finally {
      await reader.close();
    }
  });

  test('bad requests: unknown stream, negative or NaN time, wrong types', async () => {
    const reader = await RecordingReader.open(path);
    try {
      await assert.rejects(reader.frameAt('nope', T0), (e: Error) => e instanceof NotFoundError && /No stream named "nope".*streams: camera/.test(e.message));
      await assert.rejects(reader.frameAt('camera', -1n), (e: Error) => e instanceof InvalidArgumentError && /must not be negative/.test(e.message));
      await assert.rejects(reader.frameAt('camera', 1.5 as never), /must be a bigint/);
      await assert.rejects(reader.timeAt('camera', Number.NaN), (e: Error) => e instanceof InvalidArgumentError && /must be a number of seconds from .* got NaN/.test(e.message));
      await assert.rejects(reader.timeAt('camera', -2), /must not be negative, got -2 s/);
      assert.equal(await reader.timeAt('camera', 1), T0 + 1_000_000_000n);
      await assert.rejects(async () => {
        for await (const p of reader.packets('camera', { start: -3n })) void p;
      }, InvalidArgumentError);
    } finally {
      await reader.close();
    }
  });
});

describe('streams of other kinds and files from other tools', () => {
  test('JPEG stream: frameAt decodes the nearest image', async () => {
    const jpegPath = join(dir, 'jpeg.mcap');
    await recordSynthetic(jpegPath, { frames: 12, streamOptions: { codec: 'jpeg', quality: 95 } });
    const reader = await RecordingReader.open(jpegPath);
    try {
      const frame = await reader.frameAt('camera', T0 + 7n * FRAME_NS + 1_000n, { tolerance: 1_000_000n });
      assert.equal(frame.timestamp, T0 + 7n * FRAME_NS);
      assert.equal(readFrameCode(frame.planes[0].data, 320, 240), 7);
    } finally {
      await reader.close();
    }
  });

  test('a file without framebus metadata (another tool): index rebuilt by scanning, seeks still exact', async () => {
    const foreign = join(dir, 'foreign.mcap');
    const handle = await open(foreign, 'w');
    const writer = new McapWriter({ writable: new FileHandleWritable(handle), chunkSize: 8 * 1024 });
    await writer.start({ profile: '', library: 'another tool' });
    const schemaId = await writer.registerSchema(schemaFor('video'));
    const channelId = await writer.registerChannel({ schemaId, topic: '/front', messageEncoding: 'protobuf', metadata: new Map() });
    const encoder = await VideoEncoder.create({ width: 192, height: 144, gop: 12, log: () => {} });
    const packets: VideoPacket[] = [];
    for await (const f of new SyntheticSource({ width: 192, height: 144, frames: 30, startTimestamp: T0 })) packets.push(...(await encoder.encode(f)));
    packets.push(...(await encoder.flush()));
    encoder.close();
    for (const p of packets) {
      // Another writer: sequence numbers left at zero.
      await writer.addMessage({ channelId, sequence: 0, logTime: p.timestamp, publishTime: p.timestamp, data: encodeCompressedVideo({ timestamp: p.timestamp, frameId: 'cam', data: p.data, format: 'h264' }) });
    }
    await writer.end();
    await handle.close();

    const reader = await RecordingReader.open(foreign);
    try {
      const [info] = await reader.streams();
      assert.deepEqual([info.name, info.codec, info.frames, info.keyframeCount, info.width, info.height, info.indexed], ['/front', 'h264', 30, 3, 192, 144, false]);
      const decoder = await VideoDecoder.create({ codec: 'h264' });
      const expected = new Map<bigint, string>();
      for (const [i, p] of packets.entries()) for (const f of await decoder.decode({ ...p, sequence: i })) expected.set(f.timestamp, frameHash(f));
      decoder.close();
      for (const t of shuffled([...expected.keys()], 5)) assert.equal(frameHash(await reader.frameAt('/front', t)), expected.get(t));
    } finally {
      await reader.close();
    }
  });

  test('extractFrames writes PNGs of the frames at times given in seconds', async () => {
    const out = join(dir, 'png');
    await import('node:fs/promises').then((fs) => fs.mkdir(out));
    const written = await extractFrames(path, 'camera', [0, 1, 2.5], out);
    assert.deepEqual(written.map((w) => w.requested), [0, 1, 2.5]);
    assert.deepEqual(written.map((w) => Math.round(w.actual * 30)), [0, 30, 75]);
    assert.equal((await readdir(out)).filter((f) => f.endsWith('.png')).length, 3);
    const sharp = (await import('sharp')).default;
    const { data, info } = await sharp(written[1].file).raw().toBuffer({ resolveWithObject: true });
    assert.equal(readFrameCode(data, info.width, info.height, info.channels), 30);
    await assert.rejects(extractFrames(path, 'camera', [-1], out), InvalidArgumentError);
    await assert.rejects(extractFrames(path, 'camera', [Number.NaN], out), InvalidArgumentError);
  });
});
