import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/run-cli.js';
import { CORPUS, inParallel, makeCorpus } from './corpus.js';
import { ffprobe, pyav, type FfprobeView, type PyavView } from './reference.js';
import { assertRefused, frameInterval } from './expect.js';

const dir = mkdtempSync(join(tmpdir(), 'framebus-corpus-probe-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

let paths: Map<string, string>;
const refs = new Map<string, { ff: FfprobeView; av: PyavView }>();
before(async () => {
  paths = await makeCorpus(dir);
  await inParallel(
    CORPUS.filter((f) => f.kind !== 'unusable'),
    2,
    async (f) => void refs.set(f.name, { ff: await ffprobe(paths.get(f.name)!), av: await pyav(paths.get(f.name)!) }),
  );
});

describe('the corpus is what it claims to be', () => {
  test('every usable file decodes whole, as ffprobe and PyAV agree', () => {
    for (const f of CORPUS.filter((c) => c.kind === 'usable')) {
      const { ff, av } = refs.get(f.name)!;
      assert.equal(ff.codec, f.codec, f.name);
      assert.equal(av.frames, ff.frames, `${f.name}: PyAV and ffprobe count the same frames`);
    }
  });

  test('MPEG-4 AVIs with B-frames: many packets have no pts, the decoder reorders', () => {
    for (const name of ['mpeg4-dx50.avi', 'xvid-packed.avi']) {
      const { ff } = refs.get(name)!;
      assert.ok(ff.hasBFrames >= 1, name);
      assert.ok(ff.packets.filter((p) => p.pts === null).length > ff.packets.length / 4, `${name}: packets without pts`);
    }
  });

  test('the pts = dts MP4 has B-frames in its bitstream and pts = dts on every packet', () => {
    const { ff } = refs.get('h264-pts-eq-dts.mp4')!;
    assert.ok(ff.hasBFrames >= 1);
    assert.ok(ff.packets.every((p) => p.pts !== null && p.pts === p.dts));
  });

  test('raw elementary streams carry no timestamps', () => {
    for (const name of ['annexb.h264', 'annexb.h265']) assert.ok(refs.get(name)!.ff.packets.every((p) => p.pts === null), name);
  });

  test('the VFR file has uneven frame intervals; the rotated file a display matrix', () => {
    const t = refs.get('vfr.mkv')!.av.times;
    const gaps = new Set(t.slice(1).map((x, i) => Math.round((x - t[i]) * 1000)));
    assert.deepEqual([...gaps].sort((a, b) => a - b), [40, 120]);
    assert.notEqual(refs.get('rotated-90.mp4')!.ff.rotation, 0);
  });

  test('the damaged files lose frames: the truncated one about half, the corrupted one decodes with errors', () => {
    assert.ok(refs.get('truncated.mkv')!.av.frames < 30);
    assert.equal(refs.get('corrupt-gop.ts')!.ff.frames, 50);
  });
});

describe('framebus probe over the corpus', { concurrency: 2 }, () => {
  for (const f of CORPUS) {
    if (f.kind === 'unusable') {
      test(`${f.name} (${f.about}): refused in one line, exit code 2`, async () => {
        assertRefused(await runCli(['probe', paths.get(f.name)!, '--json']), paths.get(f.name)!, f.why!);
      });
      continue;
    }
    test(`${f.name} (${f.about}): frames, keyframes, duration, size and B-frames as ffprobe and PyAV see them`, async () => {
      const { ff, av } = refs.get(f.name)!;
      const r = await runCli(['probe', paths.get(f.name)!, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const v = JSON.parse(r.stdout).video;
      assert.deepEqual([v.width, v.height], [ff.width, ff.height], 'size');
      const tolerance = frameInterval(av);
      if (f.kind === 'usable') {
        assert.equal(v.frames, ff.frames, 'frames (ffprobe -count_frames)');
        assert.equal(v.keyframes, av.keys.length, 'keyframes (PyAV key frames)');
        assert.equal(v.bFrames, f.bFrames, 'B-frames');
        assert.ok(Math.abs(v.duration - ff.duration) <= tolerance, `duration ${v.duration} s, ffprobe says ${ff.duration} s`);
      } else {
        assert.ok(Math.abs(v.frames - ff.frames) <= 1, `frames ${v.frames}, ffprobe -count_frames says ${ff.frames}`);
      }
    });
  }
});
