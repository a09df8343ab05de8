import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { InvalidArgumentError, MalformedDataError, NotFoundError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { psnr } from '../codec/psnr.js';
import { FileSource } from './file-source.js';
import { openSource } from './open-source.js';
import { sampleVideoPath } from './sample-video.js';
import { readFrameCode, SyntheticSource } from './synthetic-source.js';

async function collect(source: AsyncIterable<Frame>): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of source) frames.push(f);
  return frames;
}

test('the synthetic scene is deterministic from its seed and carries a readable frame number', () => {
  const a = new SyntheticSource({ width: 320, height: 240, seed: 7 });
  const b = new SyntheticSource({ width: 320, height: 240, seed: 7 });
  const c = new SyntheticSource({ width: 320, height: 240, seed: 8 });
  assert.equal(psnr(a.render(12, 0n), b.render(12, 0n)), Infinity);
  assert.notEqual(psnr(a.render(12, 0n), c.render(12, 0n)), Infinity);
  assert.notEqual(psnr(a.render(12, 0n), a.render(13, 0n)), Infinity, 'the scene moves');
  for (const n of [0, 1, 255, 4097, 65535]) assert.equal(readFrameCode(a.render(n, 0n).planes[0].data, 320, 240), n);
});

test('source specs: synthetic with size and rate; malformed specs are refused', async () => {
  const s = await openSource('synthetic:160x120@15', { frames: 3 });
  assert.deepEqual([s.info.width, s.info.height, s.info.fps, s.info.frameCount], [160, 120, 15, 3]);
  const frames = await collect(s);
  assert.deepEqual(frames.map((f) => f.timestamp), [0n, 66_666_667n, 133_333_334n]);
  await assert.rejects(openSource('synthetic:160by120'), InvalidArgumentError);
  await assert.rejects(openSource(''), InvalidArgumentError);
});

test('a missing camera device is a NotFoundError that says how to list devices', async () => {
  await assert.rejects(openSource('camera:/dev/video97'), (e) => e instanceof NotFoundError && /Camera device \/dev\/video97 not found; list devices with: ls \/dev\/video\*/.test(e.message));
});

test('a folder of LeRobot-style PNG frames plays in number order at the given rate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'framebus-png-'));
  try {
    const scene = new SyntheticSource({ width: 160, height: 120 });
    for (const i of [2, 0, 10, 1]) {
      const f = scene.render(i, 0n);
      await sharp(f.planes[0].data, { raw: { width: 160, height: 120, channels: 3 } }).png().toFile(join(dir, `frame-${String(i).padStart(6, '0')}.png`));
    }
    writeFileSync(join(dir, 'notes.txt'), 'not a frame');
    const source = await openSource(dir, { fps: 10 });
    const frames = await collect(source);
    assert.deepEqual(frames.map((f) => readFrameCode(f.planes[0].data, 160, 120)), [0, 1, 2, 10]);
    assert.deepEqual(frames.map((f) => f.timestamp), [0n, 100_000_000n, 200_000_000n, 300_000_000n]);
    assert.equal(psnr(frames[0], scene.render(0, 0n)), Infinity, 'PNG is lossless');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(openSource(tmpdir() + '/framebus-no-such-folder/'), NotFoundError);
});

test('a video file: resized, resampled to a new rate, limited in frames', async () => {
  const source = await FileSource.open(sampleVideoPath(), { width: 320, fps: 20, frames: 30 });
  assert.deepEqual([source.info.width, source.info.height, source.info.fps, source.info.frameCount], [320, 240, 20, 30]);
  const frames = await collect(source);
  assert.equal(frames.length, 30);
  assert.equal(frames[29].timestamp, 29n * 50_000_000n);
  assert.equal(psnr(frames[0], frames[1]), Infinity, 'at 2x the 10 fps source rate each picture shows twice');
  await assert.rejects(FileSource.open(join(tmpdir(), 'no-such-video.mp4')), NotFoundError);
  const junk = join(tmpdir(), `framebus-junk-${process.pid}.mp4`);
  writeFileSync(junk, Buffer.from('this is not a video'));
  try {
    await assert.rejects(FileSource.open(junk), MalformedDataError);
  } finally {
    rmSync(junk);
  }
});
