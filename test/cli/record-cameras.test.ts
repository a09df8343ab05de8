import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleVideoPath } from '../../src/source/sample-video.js';
import { recordingInfo } from '../../src/store/recording-info.js';
import { runCli } from '../support/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'framebus-record-cameras-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function ffprobeFrames(path: string): number {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  return Number(out.trim());
}

test('record --source a --source b records each camera into one MCAP and, with --mp4-dir, one MP4 each', async () => {
  const out = join(dir, 'run.mcap');
  const mp4s = join(dir, 'mp4');
  const r = await runCli(['record', '--source', 'synthetic:160x120@30', '--source', 'synthetic:192x144@30', '--out', out, '--mp4-dir', mp4s, '--frames', '20']);
  assert.equal(r.code, 0, r.stderr);
  const info = await recordingInfo(out);
  const streams = Object.fromEntries(info.streams.map((s) => [s.name, s]));
  assert.deepEqual(Object.keys(streams).sort(), ['camera0', 'camera1']);
  assert.deepEqual([streams.camera0.width, streams.camera1.width], [160, 192]);
  assert.deepEqual(readdirSync(mp4s).sort(), ['camera0.mp4', 'camera1.mp4']);
  for (const name of ['camera0', 'camera1']) {
    // Live sources may drop frames on a busy machine; what was encoded is in both files, and the report says so.
    const line = new RegExp(`camera ${name}: (\\d+) frames encoded, (\\d+) dropped`).exec(r.stdout);
    assert.ok(line, r.stdout);
    const [encoded, dropped] = [Number(line[1]), Number(line[2])];
    assert.equal(encoded + dropped, 20);
    assert.ok(encoded > 0);
    assert.equal(streams[name].frames, encoded);
    assert.equal(ffprobeFrames(join(mp4s, `${name}.mp4`)), encoded);
  }
});

test('record with several sources refuses image codecs', async () => {
  const r = await runCli(['record', '--source', 'synthetic:64x48', '--source', 'synthetic:64x48', '--codec', 'jpeg', '--out', join(dir, 'x.mcap'), '--frames', '2']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--codec h264, h265, av1 or auto, not jpeg/);
});

test('a video file recorded beside a live camera keeps every frame: the file waits for its encoder, the camera may drop', async () => {
  const out = join(dir, 'mixed.mcap');
  const r = await runCli(['record', '--source', sampleVideoPath(), '--source', 'synthetic:160x120@10', '--out', out, '--frames', '30']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /camera camera0: 30 frames encoded, 0 dropped/);
  const info = await recordingInfo(out);
  assert.equal(info.streams.find((s) => s.name === 'camera0')?.frames, 30);
});
