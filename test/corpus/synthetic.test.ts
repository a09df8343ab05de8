import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/run-cli.js';
import { assertRising, readRecording } from './expect.js';
import { ffprobe } from './reference.js';

const dir = mkdtempSync(join(tmpdir(), 'framebus-synthetic-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// Bare `synthetic`, exactly as the README documents it, means synthetic:640x480@30.

// The frame rate is checked on the encoded MP4 only: a live recording's timestamps are the
// capture clock's, which a loaded machine stretches.
test('record --source synthetic: 640x480 frames with rising timestamps', async () => {
  const out = join(dir, 'r.mcap');
  const r = await runCli(['record', '--source', 'synthetic', '--frames', '15', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const rec = await readRecording(out);
  assert.deepEqual([rec.width, rec.height, rec.times.length], [640, 480, 15]);
  assertRising(rec.stamps, 'recording');
});

test('encode synthetic: a 640x480 MP4 at 30 fps', async () => {
  const out = join(dir, 'x.mp4');
  const r = await runCli(['encode', 'synthetic', '--frames', '15', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const e = await ffprobe(out);
  assert.deepEqual([e.width, e.height, e.frames, e.fps], [640, 480, 15, 30]);
});

test('publish --source synthetic: publishes 640x480 frames on memory:', async () => {
  const r = await runCli(['publish', '--source', 'synthetic', '--bus', 'memory:', '--topic', 't', '--duration', '0.5']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /640x480/);
  const m = /published (\d+) frames/.exec(r.stdout);
  assert.ok(m && Number(m[1]) >= 10, r.stdout);
});
