import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { runGeneratedDemo } from './generated-demo.js';
import { streamSource } from './source-stream.js';
import { sampleVideoPath } from '../source/sample-video.js';

const run = promisify(execFile);

test('demo --generated with a failing segment: the error aborts generation and the stream ends with the cause', async () => {
  const demo = await runGeneratedDemo({ port: 0, width: 160, height: 120, segmentSeconds: 0.5, segments: 50, failSegment: 2 });
  const result = await demo.done;
  await demo.close();
  assert.match(result.cause?.message ?? '', /^Segment 2 has h264 64x64 video; the stream is h264 160x120/);
  assert.equal(result.completed, 2);
  assert.ok(result.abandoned.length <= 2, 'generation stopped instead of running on');
});

test('framebus stream serves a source as one long live MP4 that ffprobe reads, encoded once', async () => {
  const stream = await streamSource('synthetic:160x120@30', { port: 0, segmentSeconds: 0.5 });
  try {
    const { stdout } = await run('ffprobe', ['-v', 'error', '-read_intervals', '%+#20', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height:frame=key_frame', '-of', 'json', stream.liveUrl], { timeout: 20_000 });
    const probed = JSON.parse(stdout) as { streams: { codec_name: string; width: number; height: number }[]; frames: { key_frame: number }[] };
    assert.deepEqual(probed.streams[0], { codec_name: 'h264', width: 160, height: 120 });
    assert.equal(probed.frames.length, 20);
    assert.equal(probed.frames[0].key_frame, 1);
    assert.deepEqual(probed.frames.map((f, i) => (f.key_frame ? i : -1)).filter((i) => i >= 0).slice(0, 2), [0, 15], 'a key frame starts every 0.5 s segment');
  } finally {
    const result = await stream.close();
    assert.equal(result.cause, undefined);
  }
});

test('framebus stream hands a file over at its own frame rate (live), not as fast as it decodes', async () => {
  const stream = await streamSource(sampleVideoPath(), { port: 0, segmentSeconds: 0.5 });
  await new Promise((r) => setTimeout(r, 2000));
  const result = await stream.close();
  // vtest.avi is 10 fps: 2 s of real time is at most 20 frames, 4 segments of 5 (+1 cut short
  // at close); decoded flat out it would be dozens.
  assert.ok(result.completed <= 5, `${result.completed} segments packaged in 2 s`);
  assert.ok(result.completed >= 1, 'the stream produced segments');
});
