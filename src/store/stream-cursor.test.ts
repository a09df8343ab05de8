import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { countingSource } from '../../test/store/counting-source.js';
import { recordSynthetic, T0, tempDir } from '../../test/store/fixtures.js';
import { readAll, writeAll } from '../../test/store/mcap-rewrite.js';
import { ChunkCache } from './chunk-cache.js';
import { FrameIdChannels } from './frame-id-channels.js';
import type { McapSource } from './mcap-source.js';
import { StreamCursor } from './stream-cursor.js';

let dir: string;
let cleanup: () => Promise<void>;
let clean: string;
const FRAME_NS = 33_333_333n;
const times = Array.from({ length: 40 }, (_, n) => T0 + BigInt(n) * FRAME_NS);

before(async () => {
  ({ dir, cleanup } = await tempDir());
  clean = join(dir, 'clean.mcap');
  await recordSynthetic(clean, { frames: 40, width: 96, height: 64, streamOptions: { encoder: { gop: 10 } }, recording: { maxChunkBytes: 2 * 1024 } });
});
after(() => cleanup());

/** A cursor over the camera stream of `path`, and the chunk positions it has read. */
async function cursorOf(path: string): Promise<{ cursor: StreamCursor; reads: number[]; source: McapSource }> {
  const { source, reads } = await countingSource(path);
  const channel = [...source.channels.values()].find((c) => c.topic === 'camera')!;
  const cache = new ChunkCache(source, new FrameIdChannels(source.schemas, source.channels), 1 << 24);
  const positions = source.chunks.filter((c) => c.channels.has(channel.id)).map((c) => c.position);
  return { cursor: new StreamCursor('camera', source, cache, channel.id, positions), reads, source };
}

async function walk(cursor: StreamCursor): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let loc = await cursor.locate(0n); loc; loc = await cursor.next(loc)) out.push((await cursor.at(loc)).logTime);
  return out;
}

describe('StreamCursor', () => {
  test('finding a frame reads only the chunk that holds it', async () => {
    const { cursor, reads, source } = await cursorOf(clean);
    try {
      assert.ok(source.chunks.length >= 5, `${source.chunks.length} chunks`);
      const target = times[25];
      const { entry } = await cursor.nearest(target);
      assert.equal(entry.logTime, target);
      const holder = source.chunks.find((c) => c.start <= target && target <= c.end)!;
      assert.deepEqual(reads, [holder.position]);
      assert.deepEqual(await walk(cursor), times);
    } finally {
      await source.close();
    }
  });

  for (const [name, order, chunkSize] of [
    ['newest first, one frame per chunk', (n: number) => 39 - n, 1],
    ['interleaved, chunks overlapping in time', (n: number) => (n % 2 === 0 ? n / 2 : 20 + (n - 1) / 2), 2 * 1024],
  ] as const) {
    test(`walks in time order whatever the file order: ${name}`, async () => {
      const contents = await readAll(clean);
      const path = join(dir, `${name.split(',')[0].replace(/ /g, '-')}.mcap`);
      await writeAll(path, { ...contents, messages: contents.messages.map((_, n) => contents.messages[order(n)]) }, chunkSize);
      const { cursor, reads, source } = await cursorOf(path);
      try {
        assert.deepEqual(await walk(cursor), times);
        assert.equal(new Set(reads).size, reads.length, 'each chunk read once');
        assert.equal((await cursor.nearest(times[7] + 1n)).entry.logTime, times[7]);
        assert.deepEqual(await cursor.span(), { first: times[0], last: times[39] });
        assert.equal(await cursor.covers(times[12]), true);
        assert.equal(await cursor.covers(times[39] + 1n), false);
      } finally {
        await source.close();
      }
    });
  }
});
