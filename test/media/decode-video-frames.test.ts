import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { FramebusError, FrameTimestampError, InvalidArgumentError } from '../../src/core/errors.js';
import { decodeVideoFrames, VideoDecoderCache } from '../../src/media/decode-video-frames.js';
import { getVideoInfo } from '../../src/media/video-info.js';
import { readFrameCode, SyntheticSource } from '../../src/source/synthetic-source.js';
import { Recording } from '../../src/store/recording.js';
import { makeVideo, pyavFrames, pyavInfo, yuvDigest } from './dataset-peers.js';

const dir = mkdtempSync(join(tmpdir(), 'framebus-decode-frames-'));
let h264: string;
let av1: string;
const cache = new VideoDecoderCache(4);

before(async () => {
  // 3 s of 30 fps H.264 with B-frames (GOP 30) and 1 s of GOP-2 AV1: LeRobot's two layouts.
  [h264, av1] = await Promise.all([makeVideo(join(dir, 'h264.mp4'), { seconds: 3, codec: 'h264', gop: 30 }), makeVideo(join(dir, 'av1.mp4'), { seconds: 1, codec: 'av1', gop: 2 })]);
});
after(async () => {
  await cache.clear();
  rmSync(dir, { recursive: true, force: true });
});

function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('the nearest frame answers; farther than the tolerance is a FrameTimestampError naming requested and nearest', async () => {
  const [near] = await decodeVideoFrames(h264, [1 / 30 + 0.004], { toleranceS: 0.005, cache });
  assert.equal(near.timestamp, 33_333_333n);
  assert.equal([near.width, near.height, near.format, near.planes.length].join(), '320,240,rgb24,1');
  // Just short of halfway between two frames: the earlier; just past it: the later.
  const [early, late] = await decodeVideoFrames(h264, [1.49 / 30, 1.51 / 30], { toleranceS: 0.02, cache });
  assert.deepEqual([early.timestamp, late.timestamp], [33_333_333n, 66_666_666n]);
  // LeRobot's rule is distance < tolerance: a frame exactly at the tolerance does not answer.
  // (Binary fractions, so the distance is exact: the frame at 0.5 s is 2^-7 s away.)
  await assert.rejects(decodeVideoFrames(h264, [0.5 + 2 ** -7], { toleranceS: 2 ** -7, cache }), FrameTimestampError);
  assert.equal((await decodeVideoFrames(h264, [0.5 + 2 ** -7], { toleranceS: 2 ** -7 + 1e-9, cache }))[0].timestamp, 500_000_000n);
  const error = await decodeVideoFrames(h264, [0.05], { cache }).then(
    () => assert.fail('expected a FrameTimestampError'),
    (e: unknown) => e as FrameTimestampError,
  );
  assert.ok(error instanceof FrameTimestampError);
  assert.equal(error.code, 'out-of-tolerance');
  assert.equal(error.requestedS, 0.05);
  assert.ok(Math.abs(error.nearestS - 1 / 30) < 1e-9 || Math.abs(error.nearestS - 2 / 30) < 1e-9);
  assert.match(error.message, /h264\.mp4: no frame within 0\.0001 s of the requested timestamp 0\.05 s; the nearest frame is at 0\.0(33|66)\d* s \(0\.01666\d s away\)/);
  await assert.rejects(decodeVideoFrames(h264, [Number.NaN], { cache }), InvalidArgumentError);
  await assert.rejects(decodeVideoFrames(h264, [], { cache }), InvalidArgumentError);
});

for (const [name, file] of [
  ['H.264 GOP 30 with B-frames', () => h264],
  ['AV1 GOP 2', () => av1],
] as const) {
  test(`${name}: frames at random timestamps equal PyAV's (same frame, identical yuv420p planes), batches in the order asked`, async () => {
    const path = file();
    const frames = path === h264 ? 90 : 30;
    const rand = random(7);
    const singles = Array.from({ length: 12 }, () => Math.floor(rand() * frames) / 30);
    const batch = [2, 5, 3, 1, 4, 0].map((k) => Math.min(frames - 1, 20 + k) / 30).concat([singles[0], singles[0]]);
    const ours = [];
    for (const t of singles) ours.push(...(await decodeVideoFrames(path, [t], { format: 'yuv420p', cache })));
    ours.push(...(await decodeVideoFrames(path, batch, { format: 'yuv420p', cache })));
    const theirs = await pyavFrames(path, [...singles, ...batch]);
    ours.forEach((frame, i) => {
      assert.ok(Math.abs(Number(frame.timestamp) / 1e9 - theirs[i].time) < 1e-6, `request ${i}: frame at ${Number(frame.timestamp) / 1e9} s, PyAV's at ${theirs[i].time} s`);
      assert.equal(yuvDigest(frame), theirs[i].digest, `request ${i} at ${theirs[i].time} s: planes differ from PyAV's`);
    });
    // A rgb24 request converts the same picture.
    const [rgb] = await decodeVideoFrames(path, [batch[0]], { cache });
    assert.equal(rgb.format, 'rgb24');
    assert.equal(rgb.timestamp, ours[singles.length].timestamp);
  });
}

for (const [name, file] of [
  ['H.264 GOP 30 with B-frames', () => h264],
  ['AV1 GOP 2', () => av1],
] as const) {
  test(`${name}: forward runs (the run decoder), a frame after a run, a seek back and frame-by-frame requests equal PyAV's frames`, async () => {
    const path = file();
    const own = new VideoDecoderCache(1);
    try {
      // Runs of 10 consecutive frames across GOP boundaries, then the next frame alone, then back near the start.
      const [first, runs] = path === h264 ? [25, 3] : [2, 2];
      const requests = Array.from({ length: runs }, (_, b) => Array.from({ length: 10 }, (_, k) => (first + b * 10 + k) / 30));
      const single = path === h264 ? 50 : 20;
      requests.push([(first + runs * 10) / 30], [1 / 30], [single / 30], [(single + 1) / 30], [(single + 2) / 30]);
      const ours = [];
      for (const ts of requests) ours.push(...(await decodeVideoFrames(path, ts, { format: 'yuv420p', cache: own })));
      const times = requests.flat();
      const theirs = await pyavFrames(path, times);
      assert.equal(ours.length, times.length);
      ours.forEach((frame, i) => {
        assert.ok(Math.abs(Number(frame.timestamp) / 1e9 - theirs[i].time) < 1e-6, `frame ${i}: at ${Number(frame.timestamp) / 1e9} s, PyAV's at ${theirs[i].time} s`);
        assert.equal(yuvDigest(frame), theirs[i].digest, `frame ${i} at ${theirs[i].time} s: planes differ from PyAV's`);
      });
    } finally {
      await own.clear();
    }
  });
}

test('the decoder cache keeps at most its size, closing the least recently used file', async () => {
  const small = new VideoDecoderCache(2);
  try {
    const third = await makeVideo(join(dir, 'third.mp4'), { seconds: 0.5, codec: 'h264', gop: 15 });
    await decodeVideoFrames(h264, [0], { cache: small });
    await decodeVideoFrames(av1, [0], { cache: small });
    await decodeVideoFrames(h264, [0.5], { cache: small });
    await decodeVideoFrames(third, [0], { cache: small });
    assert.equal(small.size, 2);
    assert.ok(small.has(h264) && small.has(third) && !small.has(av1), 'the least recently used file was closed');
    await small.resize(1);
    assert.equal(small.size, 1);
    assert.ok(small.has(third));
    // A closed file reopens on demand, positioned afresh.
    const [frame] = await decodeVideoFrames(av1, [0.5], { cache: small, format: 'yuv420p' });
    assert.equal(frame.timestamp, 500_000_000n);
  } finally {
    await small.clear();
  }
  assert.equal(small.size, 0);
});

test('a recording (.mcap): timestamps from the stream start, the selection rule and FrameTimestampError', async () => {
  const path = join(dir, 'run.mcap');
  const recording = await Recording.create(path);
  const stream = recording.addStream('camera', { encoder: { gop: 10, fps: 30 } });
  for await (const frame of new SyntheticSource({ width: 320, height: 240, frames: 40 })) await stream.writeFrame(frame);
  await recording.close();
  const frames = await decodeVideoFrames(path, [1, 0.1, 1 / 30 + 0.00005], { cache, toleranceS: 1e-3 });
  assert.deepEqual(
    frames.map((f) => readFrameCode(f.planes[0].data, f.width, f.height, 3)),
    [30, 3, 1],
  );
  await assert.rejects(decodeVideoFrames(path, [0.05], { cache }), (e: unknown) => e instanceof FrameTimestampError && /stream camera\): no frame within 0\.0001 s of the requested timestamp 0\.05 s/.test(e.message));
});

test("getVideoInfo: LeRobot's keys, as PyAV reads them", async () => {
  const withAudio = join(dir, 'audio.mp4');
  await makeVideo(join(dir, 'plain.mp4'), { seconds: 0.2, codec: 'h264', gop: 2 });
  const { execFile } = await import('node:child_process');
  await new Promise<void>((resolve, reject) =>
    execFile('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', join(dir, 'plain.mp4'), '-f', 'lavfi', '-i', 'sine=duration=0.2', '-c:v', 'copy', '-c:a', 'aac', '-ac', '2', '-shortest', withAudio], (e) => (e ? reject(e) : resolve())),
  );
  const info = await getVideoInfo(av1);
  assert.deepEqual(info, {
    'video.height': 240,
    'video.width': 320,
    'video.codec': 'av1',
    'video.pix_fmt': 'yuv420p',
    'video.fps': 30,
    'video.channels': 3,
    'video.is_depth_map': false,
    has_audio: false,
  });
  const a = await getVideoInfo(withAudio);
  const py = await pyavInfo(withAudio);
  assert.equal(a['video.codec'], 'h264');
  assert.deepEqual(
    [a['video.height'], a['video.width'], a['video.pix_fmt'], a['video.fps'], a['audio.channels'], a['audio.sample_rate'], a['audio.bit_depth'], a['audio.channel_layout'], a['audio.bit_rate']],
    [py.height, py.width, py.pix_fmt, py.fps, py.channels, py.sample_rate, py.bits, py.layout, py.bit_rate],
  );
  assert.equal(a['audio.codec'], 'aac');
  assert.equal(a.has_audio, true);
});

test('damaged files: decodeVideoFrames returns frames or a typed error, never a crash or a hang', async () => {
  const path = join(dir, 'damaged.mp4');
  let n = 0;
  for (const source of [av1, h264]) {
    const clean = readFileSync(source);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat({ max: clean.length - 1 }), byte: fc.nat({ max: 255 }) }), { minLength: 1, maxLength: 20 }),
        fc.option(fc.nat({ max: clean.length }), { nil: undefined }),
        fc.array(fc.double({ min: -1, max: 2, noNaN: true }), { minLength: 1, maxLength: 6 }),
        async (edits, cut, ts) => {
          const bytes = Buffer.from(clean.subarray(0, cut ?? clean.length));
          for (const e of edits) if (e.at < bytes.length) bytes[e.at] = e.byte;
          writeFileSync(path, bytes);
          // A fresh cache per case: each damaged file is a new file.
          const own = new VideoDecoderCache(1);
          try {
            const frames = await decodeVideoFrames(path, ts, { cache: own, toleranceS: 10, format: 'yuv420p' });
            assert.equal(frames.length, ts.length);
            for (const f of frames) assert.equal([f.width, f.height].join(), '320,240');
          } catch (error) {
            assert.ok(error instanceof FramebusError, `untyped error: ${(error as Error)?.stack}`);
          } finally {
            await own.clear();
            n++;
          }
        },
      ),
      { numRuns: 30, seed: 13 },
    );
  }
  assert.equal(n, 60);
});
