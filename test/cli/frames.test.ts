import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readFrameCode } from '../../src/source/synthetic-source.js';
import { sampleVideoPath } from '../../src/source/sample-video.js';
import { RecordingReader } from '../../src/store/recording-reader.js';
import { runCli } from '../support/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'framebus-frames-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function frameCodeOf(png: string): Promise<number> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return readFrameCode(data, info.width, info.height, info.channels);
}

test('framebus frames on a recording writes the frames nearest the times asked for', async () => {
  const rec = join(dir, 'run.mcap');
  const r = await runCli(['record', '--source', 'synthetic:320x240@30', '--frames', '60', '--out', rec]);
  assert.equal(r.code, 0, r.stderr);
  const f = await runCli(['frames', rec, '--at', '0.5,1.0', '--out', join(dir, 'rec')]);
  assert.equal(f.code, 0, f.stderr);
  const files = f.stdout.trim().split('\n').map((l) => l.split('  ')[0]);
  assert.equal(files.length, 2);
  // A live source stamps frames with the time they were made, which a loaded machine makes
  // uneven: the frames expected are those whose stored timestamps are nearest the times asked.
  const reader = await RecordingReader.open(rec);
  const times: bigint[] = [];
  for await (const packet of reader.packets('camera')) times.push(packet.timestamp);
  await reader.close();
  assert.equal(times.length, 60);
  const nearest = (seconds: number) => {
    const t = times[0] + BigInt(seconds * 1e9);
    const distance = (i: number) => (times[i] > t ? times[i] - t : t - times[i]);
    return times.reduce((best, _, i) => (distance(i) < distance(best) ? i : best), 0);
  };
  assert.deepEqual(await Promise.all(files.map(frameCodeOf)), [nearest(0.5), nearest(1.0)]);
});

test('framebus frames on a video file decodes it directly, and a tolerance miss is a clear error', async () => {
  const f = await runCli(['frames', sampleVideoPath(), '--at', '2,0.25', '--out', join(dir, 'vid')]);
  assert.equal(f.code, 0, f.stderr);
  assert.match(f.stdout, /frame-0000-2\.000s\.png {2}\(asked 2 s, frame at 2\.000000 s\)/);
  assert.match(f.stdout, /frame-0001-0\.200s\.png|frame-0001-0\.300s\.png/);
  const meta = await sharp(join(dir, 'vid', 'frame-0000-2.000s.png')).metadata();
  assert.deepEqual([meta.width, meta.height], [768, 576]);
  const miss = await runCli(['frames', sampleVideoPath(), '--at', '0.25', '--tolerance', '0.01', '--out', join(dir, 'miss')]);
  assert.equal(miss.code, 2);
  assert.match(miss.stderr, /no frame within 0\.01 s of 0\.25 s; the nearest frame is at 0\.[23] s/);
  const neg = await runCli(['frames', sampleVideoPath(), '--at', '-1', '--out', join(dir, 'neg')]);
  assert.equal(neg.code, 1);
  assert.match(neg.stderr, /--at .*expected a number of seconds from 0 to 18446744073, got "-1"/);
});
