import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FramePool } from '../../src/codec/frame-pool.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { framePackedBytes, type Frame } from '../../src/core/frame.js';
import { decodeVideoFrames, VideoDecoderCache } from '../../src/media/decode-video-frames.js';
import { makeVideo, pyavFrames, yuvDigest } from './dataset-peers.js';

const dir = mkdtempSync(join(tmpdir(), 'framebus-frame-pool-'));
let h264: string;
let av1: string;
let odd: string;

before(async () => {
  [h264, av1, odd] = await Promise.all([
    makeVideo(join(dir, 'h264.mp4'), { seconds: 2, codec: 'h264', gop: 30 }),
    makeVideo(join(dir, 'av1.mp4'), { seconds: 1, codec: 'av1', gop: 2 }),
    // Rows that are no multiple of swscale's SIMD blocks: pooled RGB frames have padded strides.
    makeVideo(join(dir, 'odd.mp4'), { seconds: 0.5, codec: 'h264', gop: 15, size: '322x242' }),
  ]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

for (const [name, file, frames] of [
  ['H.264 GOP 30', () => h264, 60],
  ['AV1 GOP 2', () => av1, 30],
] as const) {
  test(`${name}: pooled yuv420p frames, released after each request, equal PyAV's; a frame kept keeps its pixels`, async () => {
    const path = file();
    const cache = new VideoDecoderCache(1);
    const pool = new FramePool();
    try {
      // Random singles, then a forward run of 12 frames: both cursors write into reused memory.
      const requests = [[17], [3], [frames - 1], [8], [9], [40 % frames]].map((r) => r.map((k) => k / 30));
      requests.push(Array.from({ length: 12 }, (_, k) => (frames - 14 + k) / 30));
      const digests: string[] = [];
      let kept: { frame: Frame; digest: string } | undefined;
      for (const ts of requests) {
        const got = await decodeVideoFrames(path, ts, { format: 'yuv420p', cache, pool });
        digests.push(...got.map(yuvDigest));
        if (!kept) kept = { frame: got[0], digest: digests[0] };
        else pool.release(got);
      }
      const theirs = await pyavFrames(path, requests.flat());
      assert.deepEqual(digests, theirs.map((t) => t.digest));
      assert.ok(pool.freeBytes > 0, 'released frames wait for reuse');
      // The first frame was never released: every later frame went into other memory.
      assert.equal(yuvDigest(kept!.frame), kept!.digest);
      await cache.clear();
      pool.clear();
      assert.equal(yuvDigest(kept!.frame), kept!.digest, 'a kept frame outlives its decoder and the pool');
    } finally {
      await cache.clear();
    }
  });
}

test('released memory is what the next frames are written into; foreign or twice-released frames are ignored', async () => {
  const cache = new VideoDecoderCache(1);
  const pool = new FramePool();
  try {
    const [a] = await decodeVideoFrames(h264, [0.5], { format: 'yuv420p', cache, pool });
    assert.equal(pool.freeBytes, 0);
    const memory = a.planes[0].data.buffer;
    pool.release([a, a]);
    const bytes = pool.freeBytes;
    assert.ok(bytes >= 320 * 240 * 1.5, `one 320x240 yuv420p frame kept for reuse, got ${bytes} bytes`);
    pool.release(a);
    assert.equal(pool.freeBytes, bytes, 'a second release is ignored');
    const [unpooled] = await decodeVideoFrames(h264, [0.6], { format: 'yuv420p', cache });
    pool.release(unpooled);
    assert.equal(pool.freeBytes, bytes, 'a frame from elsewhere is ignored');
    const [b] = await decodeVideoFrames(h264, [0.7], { format: 'yuv420p', cache, pool });
    assert.equal(b.planes[0].data.buffer, memory, 'the next frame reuses the released memory');
    assert.equal(pool.freeBytes, 0);
    assert.equal(b.timestamp, 700_000_000n);

    const none = new FramePool({ maxFreeBytes: 0 });
    none.release(await decodeVideoFrames(h264, [0.8], { format: 'yuv420p', cache, pool: none }));
    assert.equal(none.freeBytes, 0, 'nothing kept beyond maxFreeBytes');
    assert.throws(() => new FramePool({ maxFreeBytes: -1 }), InvalidArgumentError);
    await assert.rejects(decodeVideoFrames(h264, [0.8], { cache, pool: {} as FramePool }), InvalidArgumentError);
  } finally {
    await cache.clear();
  }
});

test('pooled rgb24 frames hold the same pixels as fresh ones, also with padded rows (322x242)', async () => {
  for (const path of [h264, odd]) {
    const cache = new VideoDecoderCache(1);
    const pool = new FramePool();
    try {
      const ts = [0, 5 / 30, 11 / 30];
      for (let round = 0; round < 2; round++) {
        const pooled = await decodeVideoFrames(path, ts, { cache, pool });
        const fresh = await decodeVideoFrames(path, ts, { cache });
        pooled.forEach((frame, i) => {
          assert.equal(frame.format, 'rgb24');
          assert.equal(frame.timestamp, fresh[i].timestamp);
          assert.ok(frame.planes[0].stride >= frame.width * 3);
          assert.ok(Buffer.from(framePackedBytes(frame)).equals(Buffer.from(framePackedBytes(fresh[i]))), `${path} frame ${i}, round ${round}: pixels differ`);
        });
        pool.release(pooled);
      }
    } finally {
      await cache.clear();
    }
  }
});
