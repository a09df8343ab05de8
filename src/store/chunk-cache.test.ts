import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { countingSource } from '../../test/store/counting-source.js';
import { recordSynthetic, tempDir } from '../../test/store/fixtures.js';
import { ChunkCache } from './chunk-cache.js';
import { FrameIdChannels } from './frame-id-channels.js';

let dir: string;
let cleanup: () => Promise<void>;
let path: string;

before(async () => {
  ({ dir, cleanup } = await tempDir());
  path = join(dir, 'chunks.mcap');
  await recordSynthetic(path, { frames: 60, width: 160, height: 120, streamOptions: { encoder: { gop: 10 } }, recording: { maxChunkBytes: 4 * 1024 } });
});
after(() => cleanup());

describe('ChunkCache', () => {
  test('stays within its byte bound while every chunk is read, and answers from memory what it holds', async () => {
    const { source, reads } = await countingSource(path);
    try {
      const channel = [...source.channels.values()].find((c) => c.topic === 'camera')!;
      const sizes = await Promise.all(source.chunks.map(async (c) => (await source.loadChunk(c.position)).reduce((n, m) => n + (m.channelId === channel.id ? m.data.byteLength : 0), 0)));
      reads.length = 0;
      assert.ok(sizes.length >= 8, `${sizes.length} chunks`);
      const limit = Math.max(...sizes) * 3;
      const cache = new ChunkCache(source, new FrameIdChannels(source.schemas, source.channels), limit);
      let frames = 0;
      for (const c of source.chunks) {
        frames += (await cache.entries([c.position], channel.id)).length;
        assert.ok(cache.bytes <= limit, `${cache.bytes} bytes held, limit ${limit}`);
        assert.ok(cache.bytes > 0);
      }
      assert.equal(frames, 60);
      assert.equal(reads.length, source.chunks.length, 'each chunk read once');
      const last = source.chunks.length - 1;
      await cache.entries([last], channel.id);
      assert.equal(reads.length, source.chunks.length, 'a chunk it holds is not read again');
      await cache.entries([0], channel.id);
      assert.equal(reads.length, source.chunks.length + 1, 'an evicted chunk is read again');
    } finally {
      await source.close();
    }
  });

  test('requests for one chunk at the same time read it once; a chunk larger than the bound is served but not kept', async () => {
    const { source, reads } = await countingSource(path);
    try {
      const channel = [...source.channels.values()].find((c) => c.topic === 'camera')!;
      const cache = new ChunkCache(source, new FrameIdChannels(source.schemas, source.channels), 16);
      const lists = await Promise.all([1, 2, 3].map(() => cache.entries([1], channel.id)));
      assert.equal(reads.length, 1);
      assert.ok(lists[0].length > 0);
      assert.equal(cache.bytes, 0);
      await cache.entries([1], channel.id);
      assert.equal(reads.length, 2);
    } finally {
      await source.close();
    }
  });
});
