import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { MalformedDataError, NotFoundError } from '../core/errors.js';
import { sampleVideoPath } from '../source/sample-video.js';
import { RecordingReader } from '../store/recording-reader.js';
import { packetsOf, recordSynthetic, tempDir } from '../../test/store/fixtures.js';
import { exportClip } from './export.js';
import { importVideo } from './import.js';

const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir('framebus-import-')));
after(() => cleanup());

describe('import', () => {
  test('H.264 without B-frames is remuxed: the packets are kept byte for byte, with SPS/PPS on key packets', async () => {
    const original = join(dir, 'orig.mcap');
    await recordSynthetic(original, { frames: 45, streamOptions: { encoder: { gop: 15 } } });
    const mp4 = join(dir, 'orig.mp4');
    await exportClip(original, mp4);
    const progress: number[] = [];
    const summary = await importVideo(mp4, join(dir, 'remuxed.mcap'), { stream: 'cam', startTimestamp: 5_000_000_000n, onProgress: (d) => progress.push(d) });
    assert.equal(summary.mode, 'remux');
    assert.equal(progress.at(-1), 45);
    const before = await packetsOf(original, 'camera');
    const after = await packetsOf(join(dir, 'remuxed.mcap'), 'cam');
    assert.equal(after.length, 45);
    after.forEach((p, i) => {
      assert.deepEqual(Buffer.from(p.data), Buffer.from(before[i].data), `packet ${i}`);
      assert.equal(p.key, before[i].key);
      // MP4 keeps time in 90 kHz ticks: equal within one tick.
      const drift = p.timestamp - 5_000_000_000n - (before[i].timestamp - before[0].timestamp);
      assert.ok(drift >= -11_112n && drift <= 11_112n, `packet ${i} is ${drift} ns off`);
    });
    assert.equal(summary.streams[0].keyframeCount, 3);
  });

  test('H.265 without B-frames is remuxed as H.265 (never re-encoded), and every frame decodes', async () => {
    const hevc = join(dir, 'hevc.mp4');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=30', '-frames:v', '30', '-pix_fmt', 'yuv420p', '-c:v', 'libx265', '-x265-params', 'log-level=none:bframes=0:keyint=15', hevc]);
    const summary = await importVideo(hevc, join(dir, 'hevc.mcap'));
    assert.equal(summary.mode, 'remux');
    assert.deepEqual([summary.streams[0].codec, summary.streams[0].frames, summary.streams[0].keyframeCount], ['h265', 30, 2]);
    const reader = await RecordingReader.open(join(dir, 'hevc.mcap'));
    const times = await Promise.all([0, 0.5, 0.95].map((t) => reader.timeAt('video', t)));
    const frames = await reader.framesAt('video', times);
    assert.deepEqual(frames.map((f) => [f.width, f.height]), [[160, 120], [160, 120], [160, 120]]);
    await reader.close();
  });

  test('H.264 with B-frames and other codecs are transcoded once', async () => {
    const bframes = join(dir, 'b.mp4');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=30', '-frames:v', '30', '-c:v', 'libx264', '-x264-params', 'bframes=2:b-adapt=0', '-g', '15', bframes]);
    const b = await importVideo(bframes, join(dir, 'b.mcap'));
    assert.equal(b.mode, 'transcode');
    assert.match(b.reason ?? '', /B-frames/);
    assert.deepEqual([b.streams[0].frames, b.streams[0].width, b.streams[0].height], [30, 160, 120]);

    const progress: (number | undefined)[] = [];
    const vtest = await importVideo(sampleVideoPath(), join(dir, 'vtest.mcap'), { frames: 20, onProgress: (_, total) => progress.push(total) });
    assert.equal(vtest.mode, 'transcode');
    assert.match(vtest.reason ?? '', /neither H\.264 nor H\.265/);
    assert.deepEqual([vtest.streams[0].frames, vtest.streams[0].width, vtest.streams[0].height], [20, 768, 576]);
    assert.equal(progress.length, 20);
    const reader = await RecordingReader.open(join(dir, 'vtest.mcap'));
    const frame = await reader.frameAt('video', await reader.timeAt('video', 1.5));
    assert.equal(frame.timestamp, 1_500_000_000n);
    await reader.close();
  });

  test('missing and unreadable inputs fail with typed errors', async () => {
    await assert.rejects(importVideo(join(dir, 'absent.mp4'), join(dir, 'x.mcap')), NotFoundError);
    const junk = join(dir, 'junk.mp4');
    await writeFile(junk, 'not a video at all');
    await assert.rejects(importVideo(junk, join(dir, 'y.mcap')), (e: Error) => e instanceof MalformedDataError && /cannot read/.test(e.message));
  });
});
