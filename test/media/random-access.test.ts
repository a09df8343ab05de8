import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeVideoFrames, VideoDecoderCache } from '../../src/media/decode-video-frames.js';
import { makeVideo, pyavFrames, yuvDigest } from './dataset-peers.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'framebus-random-access-'));
let h264: string;
let gap: string;

before(async () => {
  h264 = await makeVideo(join(dir, 'h264.mp4'), { seconds: 2, codec: 'h264', gop: 30 });
  // Frames 0–14 at 30 fps, then half a second without frames: a timestamp in the gap is
  // nearest to a frame decoded long after the ones around it.
  gap = join(dir, 'gap.mp4');
  await exec('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '1.5',
    '-vf', "setpts='if(gte(N,15),PTS+15,PTS)'", '-fps_mode', 'passthrough',
    '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-g', '30', '-crf', '30', '-pix_fmt', 'yuv420p', gap,
  ]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function compare(path: string, requests: number[][], toleranceS: number): Promise<void> {
  const cache = new VideoDecoderCache(1);
  try {
    const ours = [];
    for (const ts of requests) ours.push(...(await decodeVideoFrames(path, ts, { format: 'yuv420p', cache, toleranceS })));
    const theirs = await pyavFrames(path, requests.flat());
    ours.forEach((frame, i) => {
      const t = requests.flat()[i];
      assert.ok(Math.abs(Number(frame.timestamp) / 1e9 - theirs[i].time) < 1e-6, `${t} s: frame at ${Number(frame.timestamp) / 1e9} s, PyAV's nearest at ${theirs[i].time} s`);
      assert.equal(yuvDigest(frame), theirs[i].digest, `${t} s: planes differ from PyAV's`);
    });
  } finally {
    await cache.clear();
  }
}

test('random requests between frames (B-frames, decoders drained after the target) get the nearest frame, as PyAV', async () => {
  let s = 11;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  // Up to 0.49 frame either side of a frame, in random order; then pairs and a batch of 6.
  const singles = Array.from({ length: 16 }, () => [Math.max(0, (Math.floor(rand() * 60) + (rand() - 0.5) * 0.98) / 30)]);
  const batches = [[0.5, 0.52], [1.2, 1.1], [25, 26, 27, 28, 29, 30].map((k) => (k + 0.3) / 30)];
  await compare(h264, [...singles, ...batches], 0.02);
});

test('one frame per request moving forward (every 4th, then every 13th frame: decoders kept going) gets the frames PyAV gets', async () => {
  const requests = [];
  for (let k = 1; k < 30; k += 4) requests.push([k / 30]);
  for (let k = 31; k < 60; k += 13) requests.push([k / 30]);
  await compare(h264, requests, 1e-4);
});

test('requests near the end of the file, each after the one before, get the frames PyAV gets', async () => {
  await compare(h264, [50, 59, 53, 58, 55, 59, 56, 58, 57, 59, 58, 59].map((k) => [k / 30]), 1e-4);
});

test('a timestamp in a gap between frames gets the nearest frame on either side, as PyAV', async () => {
  await compare(gap, [[0.6], [0.8], [0.95], [0.3], [0.75, 0.9], [0.35, 0.8], [1.2]], 1);
});
