import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { concatVideos } from '../../src/media/concat-videos.js';
import { sampleVideoPath } from '../../src/source/sample-video.js';
import { decodeVideoFrames, VideoDecoderCache } from '../../src/media/decode-video-frames.js';
import { runCli } from '../support/run-cli.js';
import { ffprobeCount, makeVideo, pyavFrames, yuvDigest } from './dataset-peers.js';

const dir = mkdtempSync(join(tmpdir(), 'framebus-concat-'));
const cache = new VideoDecoderCache(8);
let episodes: string[];

before(async () => {
  // Three episodes of different lengths, H.264 with B-frames (an edit list each) as LeRobot writes them.
  episodes = await Promise.all([1, 0.5, 1.5].map((s, i) => makeVideo(join(dir, `episode_${i}.mp4`), { seconds: s, codec: 'h264', gop: 15 })));
});
after(async () => {
  await cache.clear();
  rmSync(dir, { recursive: true, force: true });
});

test("concat: one MP4 without re-encoding; each episode's from/to; ffprobe counts the frames and duration; PyAV sees each episode's frames at from + t", async () => {
  const out = join(dir, 'all.mp4');
  const r = await runCli(['concat', ...episodes, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(
    s.segments.map((g: { from: number; to: number; frames: number }) => [g.from, g.to, g.frames]),
    [
      [0, 1, 30],
      [1, 1.5, 15],
      [1.5, 3, 45],
    ],
  );
  assert.deepEqual([s.frames, s.duration], [90, 3]);
  assert.deepEqual(await ffprobeCount(out), { frames: 90, duration: 3 });
  // Frames at random offsets into each episode: PyAV on the joined file, framebus on the
  // joined file and framebus on the episode itself all give the same picture.
  const picks = s.segments.flatMap((g: { from: number; frames: number }, e: number) => [0, 7, g.frames - 1].map((k) => ({ e, t: k / 30, at: g.from + k / 30 })));
  const theirs = await pyavFrames(out, picks.map((p: { at: number }) => p.at));
  const joined = await decodeVideoFrames(out, picks.map((p: { at: number }) => p.at), { format: 'yuv420p', cache });
  for (const [i, p] of picks.entries()) {
    const [own] = await decodeVideoFrames(episodes[p.e], [p.t], { format: 'yuv420p', cache });
    assert.ok(Math.abs(theirs[i].time - p.at) < 1e-6, `PyAV's frame for ${p.at} s is at ${theirs[i].time} s`);
    assert.equal(yuvDigest(joined[i]), theirs[i].digest, `episode ${p.e} at ${p.t} s: framebus and PyAV decode the joined file alike`);
    assert.equal(yuvDigest(own), theirs[i].digest, `episode ${p.e} at ${p.t} s: the joined file holds the episode's own picture`);
  }
});

test('concat refuses inputs that differ, naming the first difference and the files, and writes nothing', async () => {
  const wide = await makeVideo(join(dir, 'wide.mp4'), { seconds: 0.5, codec: 'h264', gop: 15, size: '352x240' });
  const yuv444 = await makeVideo(join(dir, 'yuv444.mp4'), { seconds: 0.5, codec: 'h264', gop: 15, pixFmt: 'yuv444p' });
  const av1 = await makeVideo(join(dir, 'av1.mp4'), { seconds: 0.5, codec: 'av1', gop: 2 });
  const rate = await makeVideo(join(dir, 'rate25.mp4'), { seconds: 0.5, codec: 'h264', gop: 15, rate: 25 });
  const out = join(dir, 'refused.mp4');
  const cases: [string, RegExp][] = [
    [wide, /wide\.mp4 after .*episode_0\.mp4 without re-encoding: size 352x240 ≠ 320x240/],
    [yuv444, /yuv444\.mp4 after .*episode_0\.mp4 without re-encoding: pixel format yuv444p ≠ yuv420p/],
    [av1, /av1\.mp4 after .*episode_0\.mp4 without re-encoding: codec av1 ≠ h264/],
    [rate, /rate25\.mp4 after .*episode_0\.mp4 without re-encoding: (time base 1\/12800 ≠ 1\/15360|codec configuration)/],
  ];
  for (const [other, message] of cases) {
    await assert.rejects(concatVideos([episodes[0], other], out), (e: unknown) => e instanceof InvalidArgumentError && message.test(e.message));
  }
  const cli = await runCli(['concat', episodes[0], episodes[1], wide, '--out', out]);
  assert.equal(cli.code, 2);
  assert.match(cli.stderr, /size 352x240 ≠ 320x240/);
  assert.ok(!existsSync(out), 'no output file');
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.partial-')), [], 'no partial file left');
});

test('concat of a codec MP4 cannot hold (vtest.avi, MS-MPEG4 v3) says so and what to do, and leaves no file', async () => {
  const out = join(dir, 'avi.mp4');
  await assert.rejects(concatVideos([sampleVideoPath()], out), (error: Error) => {
    assert.match(error.message, /MP4 does not hold msmpeg4v3 video .*framebus encode/);
    return true;
  });
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('avi')), []);
});
