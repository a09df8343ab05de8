import assert from 'node:assert/strict';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { McapIndexedReader } from '@mcap/core';
import { FileHandleReadable } from '@mcap/nodejs';
import protobufjs from 'protobufjs';
import { InvalidArgumentError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import { FileSource } from '../source/file-source.js';
import { sampleVideoPath } from '../source/sample-video.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import { frameHash, recordSynthetic, T0, tempDir } from '../../test/store/fixtures.js';
import { Recording } from './recording.js';
import { RecordingReader } from './recording-reader.js';
import { recordingInfo } from './recording-info.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

/**
 * Per-message cost MCAP and Foxglove's schema impose whatever the writer does: the Message
 * record header (31 bytes), its message-index entry (16 bytes) and the CompressedVideo
 * fields around the data (timestamp, format, tags: ~23 bytes).
 */
const PER_MESSAGE_FLOOR = 70;

async function recordVtest(path: string, codec: 'h264' | 'jpeg', size: { width: number; height: number }) {
  const source = await FileSource.open(sampleVideoPath(), { ...size, frames: 150, startTimestamp: T0 });
  const recording = await Recording.create(path);
  const stream = recording.addStream('vtest', { codec, quality: 90, encoder: { fps: source.info.fps } });
  for await (const frame of source) await stream.writeFrame(frame);
  return recording.close();
}

function overhead(summary: { fileBytes: number; streams: { bytes: number }[] }): number {
  return summary.fileBytes / summary.streams[0].bytes - 1;
}

describe('recording vtest', () => {
  test('H.264 at 320x240: container overhead is the per-message floor plus a few KiB', async (t) => {
    const summary = await recordVtest(join(dir, 'vtest-h264.mcap'), 'h264', { width: 320, height: 240 });
    const [s] = summary.streams;
    assert.equal(s.frames, 150);
    const extra = summary.fileBytes - s.bytes;
    t.diagnostic(`H.264 320x240: ${summary.fileBytes} bytes for ${s.bytes} packet bytes: overhead ${(overhead(summary) * 100).toFixed(2)}% (${(extra / s.frames).toFixed(1)} bytes per frame)`);
    assert.ok(extra <= PER_MESSAGE_FLOOR * s.frames + 4096, `overhead ${extra} bytes for ${s.frames} frames`);
  });

  test('H.264 at full size (768x576): overhead ≤ 3%', async (t) => {
    const summary = await recordVtest(join(dir, 'vtest-h264-full.mcap'), 'h264', { width: 768, height: 576 });
    t.diagnostic(`H.264 768x576: overhead ${(overhead(summary) * 100).toFixed(2)}%`);
    assert.ok(summary.fileBytes <= 1.03 * summary.streams[0].bytes);
  });

  test('JPEG q90 at 320x240: overhead ≤ 3%', async (t) => {
    const summary = await recordVtest(join(dir, 'vtest-jpeg.mcap'), 'jpeg', { width: 320, height: 240 });
    t.diagnostic(`JPEG q90 320x240: overhead ${(overhead(summary) * 100).toFixed(2)}%`);
    assert.equal(summary.streams[0].keyframeCount, 150);
    assert.ok(summary.fileBytes <= 1.03 * summary.streams[0].bytes);
  });

  test('info reports frames, keyframes, bytes, start and end per stream', async () => {
    const info = await recordingInfo(join(dir, 'vtest-h264.mcap'));
    assert.equal(info.complete, true);
    assert.equal(info.streams.length, 1);
    const [s] = info.streams;
    assert.equal(s.name, 'vtest');
    assert.equal(s.codec, 'h264');
    assert.equal(s.frames, 150);
    assert.equal(s.keyframes, 5);
    assert.equal(s.start, String(T0));
    assert.equal(s.end, String(T0 + 149n * 100_000_000n));
    assert.equal(s.duration, 14.9);
    assert.equal(s.indexed, true);
    assert.equal(s.bytes, (await recordingInfo(join(dir, 'vtest-h264.mcap'))).streams[0].bytes);
    assert.deepEqual(JSON.parse(JSON.stringify(info)), info);
  });
});

describe('file format', () => {
  test('@mcap/core indexed reader validates the file; schemas are Foxglove protobuf; chunks uncompressed', async () => {
    const path = join(dir, 'two-streams.mcap');
    const recording = await Recording.create(path);
    const video = recording.addStream('/cam/video');
    const jpeg = recording.addStream('/cam/jpeg', { codec: 'jpeg' });
    const raw = recording.addStream('/cam/raw', { codec: 'raw' });
    const { SyntheticSource } = await import('../source/synthetic-source.js');
    for await (const f of new SyntheticSource({ width: 160, height: 120, frames: 40, startTimestamp: T0 })) {
      await video.writeFrame(f);
      await jpeg.writeFrame(f);
      await raw.writeFrame(f);
    }
    await recording.close();

    const handle = await open(path);
    try {
      const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) });
      const schemas = [...reader.schemasById.values()];
      assert.deepEqual(schemas.map((s) => s.name).sort(), ['foxglove.CompressedImage', 'foxglove.CompressedVideo', 'foxglove.RawImage']);
      assert.ok(schemas.every((s) => s.encoding === 'protobuf'));
      assert.deepEqual([...reader.channelsById.values()].map((c) => c.topic).sort(), ['/cam/jpeg', '/cam/raw', '/cam/video']);
      assert.ok(reader.chunkIndexes.length > 0);
      assert.ok(reader.chunkIndexes.every((c) => c.compression === '' && c.messageIndexOffsets.size > 0));
      assert.equal(reader.statistics?.messageCount, 120n);
      const types = new Map(schemas.map((s) => [s.id, protobufjs.Root.fromDescriptor(s.data).lookupType(s.name)]));
      let count = 0;
      for await (const m of reader.readMessages({ validateCrcs: true })) {
        const channel = reader.channelsById.get(m.channelId)!;
        const decoded = types.get(channel.schemaId)!.toObject(types.get(channel.schemaId)!.decode(m.data), { longs: String });
        const stamp = BigInt(decoded.timestamp.seconds) * 1_000_000_000n + BigInt(decoded.timestamp.nanos ?? 0);
        assert.equal(stamp, m.logTime);
        if (channel.topic === '/cam/video') assert.equal(decoded.format, 'h264');
        if (channel.topic === '/cam/jpeg') assert.equal(decoded.format, 'jpeg');
        if (channel.topic === '/cam/raw') assert.equal(decoded.encoding, 'rgb8');
        count++;
      }
      assert.equal(count, 120);
      const indexes = [];
      for await (const m of reader.readMetadata({ name: 'framebus.stream-index' })) indexes.push(m.metadata.get('stream'));
      assert.deepEqual(indexes.sort(), ['/cam/jpeg', '/cam/raw', '/cam/video']);
    } finally {
      await handle.close();
    }

    const reader = await RecordingReader.open(path);
    try {
      const streams = await reader.streams();
      assert.deepEqual(
        streams.map((s) => [s.name, s.codec, s.frames, s.keyframeCount, s.width, s.height]),
        [
          ['/cam/video', 'h264', 40, 2, 160, 120],
          ['/cam/jpeg', 'jpeg', 40, 40, 160, 120],
          ['/cam/raw', 'raw', 40, 40, 160, 120],
        ],
      );
      const rawFrame = await reader.frameAt('/cam/raw', T0);
      const { SyntheticSource } = await import('../source/synthetic-source.js');
      assert.equal(frameHash(rawFrame), frameHash(new SyntheticSource({ width: 160, height: 120 }).render(0, T0)));
    } finally {
      await reader.close();
    }
  });

  test('ready packets are stored byte for byte, with their sequence numbers and frame ids', async () => {
    const path = join(dir, 'packets.mcap');
    const encoder = await VideoEncoder.create({ width: 160, height: 120, gop: 10, log: () => {} });
    const { SyntheticSource } = await import('../source/synthetic-source.js');
    const packets: VideoPacket[] = [];
    for await (const f of new SyntheticSource({ width: 160, height: 120, frames: 25, startTimestamp: T0 })) packets.push(...(await encoder.encode(f)));
    packets.push(...(await encoder.flush()));
    encoder.close();
    // As a bus publisher that started earlier would send them: sequence and frame id of its own.
    const published = packets.map((p, i) => ({ ...p, sequence: 1000 + i, frameId: 7 * i }));
    const recording = await Recording.create(path);
    const stream = recording.addStream('cam');
    for (const p of published) await stream.writePacket(p);
    await recording.close();

    const reader = await RecordingReader.open(path);
    try {
      const back: VideoPacket[] = [];
      for await (const item of reader.packets('cam')) back.push(item as VideoPacket);
      assert.equal(back.length, published.length);
      back.forEach((p, i) => {
        assert.deepEqual(Buffer.from(p.data), Buffer.from(published[i].data));
        assert.equal(p.sequence, published[i].sequence);
        assert.equal(p.frameId, published[i].frameId);
        assert.equal(p.timestamp, published[i].timestamp);
        assert.equal(p.key, published[i].key);
        assert.equal(p.width, 160);
      });
      const frame = await reader.frameAt('cam', published[13].timestamp);
      assert.equal(frame.frameId, published[13].frameId);
    } finally {
      await reader.close();
    }
  });

  test('bad input to the writer: typed errors with clear messages', async () => {
    const path = join(dir, 'bad.mcap');
    await recordSynthetic(path, { frames: 2 });
    await assert.rejects(Recording.create(path), (e: Error) => e instanceof InvalidArgumentError && /already exists/.test(e.message));
    await assert.rejects(Recording.create(join(dir, 'no/such/folder.mcap')), /folder does not exist/);
    await assert.rejects(Recording.create(join(dir, 'x.mcap'), { flushInterval: 0 }), /flushInterval/);
    const recording = await Recording.create(join(dir, 'bad2.mcap'));
    assert.throws(() => recording.addStream(''), InvalidArgumentError);
    assert.throws(() => recording.addStream('a', { codec: 'mpeg2' as never }), /Unknown stream codec "mpeg2"/);
    const s = recording.addStream('a', { codec: 'jpeg' });
    assert.throws(() => recording.addStream('a'), /already has a stream named "a"/);
    const { SyntheticSource } = await import('../source/synthetic-source.js');
    const src = new SyntheticSource({ width: 64, height: 64 });
    await s.writeFrame(src.render(0, 10n));
    await assert.rejects(s.writeFrame(src.render(1, 10n)), /timestamps must rise/);
    await assert.rejects(s.writeFrame(src.render(1, -5n)), /timestamps must be bigint ns/);
    await assert.rejects(s.writePacket({ kind: 'video-packet', codec: 'h264' } as VideoPacket), /holds jpeg; got a h264 packet/);
    await recording.close();
    assert.ok((await stat(join(dir, 'bad2.mcap'))).size > 0);
  });
});
