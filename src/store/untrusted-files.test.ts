import assert from 'node:assert/strict';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { McapIndexedReader } from '@mcap/core';
import { FileHandleReadable } from '@mcap/nodejs';
import { MalformedDataError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import { readFrameCode } from '../source/synthetic-source.js';
import { frameHash, recordSynthetic, T0, tempDir } from '../../test/store/fixtures.js';
import { readAll, writeAll } from '../../test/store/mcap-rewrite.js';
import { recordingInfo } from './recording-info.js';
import { RecordingReader } from './recording-reader.js';
import { STREAM_INDEX_METADATA } from './recording-format.js';

let dir: string;
let cleanup: () => Promise<void>;
/** 90 frames (3 s at 30 fps), GOP 10, in many small chunks. */
let clean: string;
/** Hash of every frame of `clean` as a full sequential decode produces it, by timestamp. */
const reference = new Map<bigint, string>();
const FRAME_NS = 33_333_333n;
const frameTime = (n: number) => T0 + BigInt(n) * FRAME_NS;

before(async () => {
  ({ dir, cleanup } = await tempDir());
  clean = join(dir, 'clean.mcap');
  await recordSynthetic(clean, { frames: 90, width: 160, height: 120, streamOptions: { encoder: { gop: 10 } }, recording: { maxChunkBytes: 4 * 1024 } });
  const reader = await RecordingReader.open(clean);
  const decoder = await VideoDecoder.create({ codec: 'h264' });
  for await (const p of reader.packets('camera')) for (const f of await decoder.decode(p as VideoPacket)) reference.set(f.timestamp, frameHash(f));
  decoder.close();
  await reader.close();
});
after(() => cleanup());

async function chunkRanges(path: string): Promise<{ offset: number; length: number; start: bigint; end: bigint }[]> {
  const handle = await open(path);
  try {
    const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) });
    return reader.chunkIndexes.map((c) => ({ offset: Number(c.chunkStartOffset), length: Number(c.chunkLength + c.messageIndexLength), start: c.messageStartTime, end: c.messageEndTime }));
  } finally {
    await handle.close();
  }
}

/** Every frame of the file through one reader, in a scrambled order, checked against the clean decode. */
async function assertEveryFrame(path: string): Promise<void> {
  const reader = await RecordingReader.open(path, { warn: () => {} });
  try {
    const times = [...reference.keys()].sort((a, b) => Number((a * 7919n) % 90n) - Number((b * 7919n) % 90n));
    const frames = await reader.framesAt('camera', times, { tolerance: 0n });
    frames.forEach((f, i) => assert.equal(frameHash(f), reference.get(times[i]), `frame at ${times[i]}`));
  } finally {
    await reader.close();
  }
}

describe('the reader trusts nothing it can check', () => {
  test('chunks out of time order (valid MCAP): --at 0.5 is the frame at 0.5 s, and every frame is right', async () => {
    const contents = await readAll(clean);
    const reversed = join(dir, 'reversed.mcap');
    // One message per chunk, newest first: every chunk is out of time order.
    await writeAll(reversed, { ...contents, messages: [...contents.messages].reverse() }, 1);
    const ranges = await chunkRanges(reversed);
    assert.ok(ranges[0].start > ranges[ranges.length - 1].start, 'the file really has its chunks newest first');

    const reader = await RecordingReader.open(reversed);
    try {
      const frame = await reader.frameAt('camera', await reader.timeAt('camera', 0.5));
      assert.equal(frame.timestamp, frameTime(15));
      assert.equal(readFrameCode(frame.planes[0].data, 160, 120), 15);
      const times: bigint[] = [];
      for await (const p of reader.packets('camera')) times.push(p.timestamp);
      assert.deepEqual(times, [...reference.keys()]);
      assert.equal((await reader.stream('camera')).indexed, true, 'the stored index agrees with this file, so it is used');
    } finally {
      await reader.close();
    }
    await assertEveryFrame(reversed);
  });

  test('chunks whose times overlap (messages interleaved across chunks): every frame is right', async () => {
    const contents = await readAll(clean);
    const half = Math.ceil(contents.messages.length / 2);
    const interleaved = contents.messages.slice(0, half).flatMap((m, i) => [m, ...(contents.messages[half + i] ? [contents.messages[half + i]] : [])]);
    const path = join(dir, 'interleaved.mcap');
    await writeAll(path, { ...contents, messages: interleaved }, 8 * 1024);
    const ranges = await chunkRanges(path);
    assert.ok(ranges.length > 2 && ranges[1].start < ranges[0].end, 'chunks overlap in time');
    await assertEveryFrame(path);
  });

  test('an altered start time in the stored index does not shift answers, and info does not trust it', async () => {
    const bytes = await readFile(clean);
    // The index record's `start` value, same length, one second later: a valid file whose index lies.
    const field = (t: bigint) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(String(t).length);
      return Buffer.concat([Buffer.from('start'), length, Buffer.from(String(t))]);
    };
    const at = bytes.indexOf(field(T0));
    assert.ok(at > 0, 'the stream index record is in the file');
    field(T0 + 1_000_000_000n).copy(bytes, at);
    const path = join(dir, 'altered-start.mcap');
    await writeFile(path, bytes);

    const warnings: string[] = [];
    const reader = await RecordingReader.open(path, { warn: (m) => warnings.push(m) });
    try {
      assert.equal(reader.indexed, true);
      const frame = await reader.frameAt('camera', await reader.timeAt('camera', 2.5));
      assert.equal(frame.timestamp, frameTime(75));
      assert.equal(readFrameCode(frame.planes[0].data, 160, 120), 75);
      assert.match(warnings.join('\n'), /stored index disagrees with the file \(it starts at .* where the first message is at/);
    } finally {
      await reader.close();
    }
    const info = await recordingInfo(path, { warn: () => {} });
    assert.deepEqual([info.streams[0].start, info.streams[0].frames, info.streams[0].keyframes, info.streams[0].indexed], [String(T0), 90, 9, false]);
    await assertEveryFrame(path);
  });

  test('an altered key packet time in the stored index is caught when used: the index is rebuilt and the frame is right', async () => {
    const keyTimes = JSON.stringify(Array.from({ length: 9 }, (_, k) => Number(frameTime(10 * k) - T0)));
    // Key packet 1 moved 1 ns (no packet there), then onto frame 11 (a delta packet): both inside the stream's chunks.
    for (const moved of [Number(frameTime(10) - T0) + 1, Number(frameTime(11) - T0)]) {
      const bytes = await readFile(clean);
      const at = bytes.indexOf(Buffer.from(keyTimes));
      assert.ok(at > 0, 'the key packet times are in the file');
      const altered = keyTimes.replace(String(Number(frameTime(10) - T0)), String(moved));
      assert.equal(altered.length, keyTimes.length);
      Buffer.from(altered).copy(bytes, at);
      const path = join(dir, `altered-key-${moved}.mcap`);
      await writeFile(path, bytes);

      const warnings: string[] = [];
      const reader = await RecordingReader.open(path, { warn: (m) => warnings.push(m) });
      try {
        assert.equal((await reader.stream('camera')).indexed, true, 'the alteration passes the checks at open');
        const frame = await reader.frameAt('camera', frameTime(15), { tolerance: 0n });
        assert.equal(frameHash(frame), reference.get(frameTime(15)));
        assert.match(warnings.join('\n'), /index names a key packet at .* Rebuilding the stream's index/);
        assert.equal((await reader.stream('camera')).indexed, false);
      } finally {
        await reader.close();
      }
      await assertEveryFrame(path);
    }
  });

  test('info on a file with a chunk cut out counts the frames that are there, not what its index claims', async () => {
    const bytes = await readFile(clean);
    const ranges = await chunkRanges(clean);
    const cut = ranges[2];
    const path = join(dir, 'cut.mcap');
    await writeFile(path, Buffer.concat([bytes.subarray(0, cut.offset), bytes.subarray(cut.offset + cut.length)]));

    const reader = await RecordingReader.open(path, { warn: () => {} });
    let present = 0;
    try {
      assert.equal(reader.indexed, false, 'the summary no longer matches, so the file is scanned');
      for await (const p of reader.packets('camera')) if (p) present++;
    } finally {
      await reader.close();
    }
    assert.ok(present > 0 && present < 90, `${present} frames present`);
    const info = await recordingInfo(path, { warn: () => {} });
    assert.equal(info.streams[0].frames, present);
    assert.equal(info.streams[0].indexed, false);
  });

  test('concurrent framesAt on a file without a stored index: every run, every frame right', async () => {
    const contents = await readAll(clean);
    const path = join(dir, 'no-index.mcap');
    await writeAll(path, { ...contents, metadata: contents.metadata.filter((m) => m.name !== STREAM_INDEX_METADATA) }, 4 * 1024);
    const all = [...reference.keys()];
    for (let run = 0; run < 6; run++) {
      const reader = await RecordingReader.open(path, { warn: () => {} });
      try {
        const batches = Array.from({ length: 6 }, (_, b) => all.filter((_, i) => (i + run) % 6 === b));
        const results = await Promise.all(batches.map((times) => reader.framesAt('camera', times, { tolerance: 0n })));
        results.forEach((frames, b) => frames.forEach((f, i) => assert.equal(frameHash(f), reference.get(batches[b][i]), `run ${run}, frame at ${batches[b][i]}`)));
        assert.equal((await reader.stream('camera')).indexed, false);
      } finally {
        await reader.close();
      }
    }
  });

  test('a damaged chunk blocks only the frames that need it: every frame whose key packet is in intact chunks decodes', async () => {
    // One frame per chunk, so a key packet can start the chunk right after the damaged one.
    const perFrame = join(dir, 'per-frame.mcap');
    await writeAll(perFrame, await readAll(clean), 1);
    const ranges = await chunkRanges(perFrame);
    assert.equal(ranges.length, 90);
    // The first key packet's chunk, and the chunk just before the key packet of frame 50.
    for (const hit of [0, 49]) {
      const bytes = await readFile(perFrame);
      const damaged = ranges[hit];
      for (let i = 0; i < 16; i++) bytes[damaged.offset + 64 + i] ^= 0xa5;
      const path = join(dir, `damaged-${hit}.mcap`);
      await writeFile(path, bytes);

      const reader = await RecordingReader.open(path, { warn: () => {} });
      try {
        let decoded = 0;
        // Latest first, so the first request is not one that needs the damaged chunk.
        for (let n = 89; n >= 0; n--) {
          const needsDamaged = frameTime(n - (n % 10)) <= damaged.end && frameTime(n) >= damaged.start;
          const request = reader.frameAt('camera', frameTime(n), { tolerance: 0n });
          if (needsDamaged) {
            await assert.rejects(request, MalformedDataError, `frame ${n} needs the damaged chunk ${hit}`);
          } else {
            assert.equal(frameHash(await request), reference.get(frameTime(n)), `frame ${n} (chunk ${hit} damaged)`);
            decoded++;
          }
        }
        assert.equal(decoded, hit === 0 ? 80 : 89);
      } finally {
        await reader.close();
      }
    }
  });
});
