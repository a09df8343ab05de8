import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/run-cli.js';
import { CORPUS, makeCorpus, type CorpusFile } from './corpus.js';
import { assertLossWarned, assertRefused, assertRising, frameInterval, framesWritten, positionAt, quarterTurn, readRecording, type RecordingView } from './expect.js';
import { ffprobe, pngRgb, psnr, pyav, type FfprobeView, type PyavView, type Rgb } from './reference.js';

const dir = mkdtempSync(join(tmpdir(), 'framebus-corpus-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const corpus = (async () => {
  mkdirSync(join(dir, 'in'));
  return makeCorpus(join(dir, 'in'));
})();

/** `import` keeps H.264 and H.265 packets that need no reordering; it transcodes the rest. */
const remuxable = (f: CorpusFile) => (f.codec === 'h264' || f.codec === 'hevc') && !f.bFrames;

/** framebus encodes with a keyframe every 30 frames. */
const gopKeys = (frames: number) => Array.from({ length: Math.ceil(frames / 30) }, (_, i) => i * 30);

/** Every file-taking command over every corpus file, two files at a time. */
describe('every command over every corpus file', { concurrency: 2 }, () => {
  // One command at a time per file: later steps read what earlier ones wrote.
  for (const f of CORPUS) describe(`${f.name} (${f.about})`, { concurrency: 1 }, () => (f.kind === 'unusable' ? refusedEverywhere(f) : readEverywhere(f)));
});

function refusedEverywhere(f: CorpusFile): void {
  let input: string;
  let work: string;
  before(async () => {
    input = (await corpus).get(f.name)!;
    work = join(dir, f.name);
    mkdirSync(work);
  });
  const cases: [string, (out: string) => string[], string][] = [
    ['encode', (out) => ['encode', input, '--out', out], 'x.mp4'],
    ['record', (out) => ['record', '--source', input, '--out', out], 'r.mcap'],
    ['import', (out) => ['import', input, '--out', out], 'i.mcap'],
    ['frames', (out) => ['frames', input, '--at', '0', '--out', out], 'frames'],
    ['publish', () => ['publish', '--source', input, '--bus', 'memory:', '--topic', 't'], ''],
  ];
  for (const [command, args, output] of cases) {
    test(`${command}: one-line error naming the file, exit code 2, no output left`, async () => {
      const out = join(work, output);
      assertRefused(await runCli(args(out)), input, f.why!, output ? [out] : []);
    });
  }
}

function readEverywhere(f: CorpusFile): void {
  const damaged = f.kind === 'damaged';
  let input: string;
  let work: string;
  let ff: FfprobeView;
  let av: PyavView;
  let interval: number;
  /** How long the file's decodable frames play: headers may claim more (libxvid's AVI says 2 s for 48 frames). */
  let shown: number;
  let imported: (RecordingView & { mode: string }) | undefined;

  before(async () => {
    input = (await corpus).get(f.name)!;
    work = join(dir, f.name);
    mkdirSync(join(work, 'pyav'), { recursive: true });
    ff = await ffprobe(input);
    av = await pyav(input, join(work, 'pyav'));
    interval = frameInterval(av);
    shown = av.times.at(-1)! + 1 / av.fps;
  });

  /** Intact files: exactly ffprobe's count. Damaged ones: what decodes, give or take the damage. */
  function assertCount(n: number, what: string): void {
    if (!damaged) return assert.equal(n, ff.frames, `${what}: ${n} frames, ffprobe -count_frames says ${ff.frames}`);
    const [fewest, most] = f.lose!;
    assert.ok(n >= av.frames - most && n <= av.frames - fewest, `${what}: ${n} frames, expected ${av.frames - most}–${av.frames - fewest}: PyAV decodes ${av.frames}, ${fewest}–${most} of them broken`);
  }

  function assertSize(width: number, height: number, what: string): void {
    const near = (w: number, h: number) => Math.abs(width - w) <= 1 && Math.abs(height - h) <= 1;
    // A stream with a display rotation may come out as stored or as shown.
    const ok = near(ff.width, ff.height) || (ff.rotation % 180 !== 0 && near(ff.height, ff.width));
    assert.ok(ok, `${what}: ${width}x${height}, the file's picture is ${ff.width}x${ff.height}`);
  }

  function assertRecording(rec: RecordingView, keys: number[], what: string): void {
    assertCount(rec.times.length, what);
    assertRising(rec.stamps, what);
    assertSize(rec.width, rec.height, what);
    if (damaged) return assert.equal(rec.keys[0], 0, `${what}: starts at a key frame`);
    // The file's own presentation times, kept (VFR included), to the millisecond.
    const off = rec.times.findIndex((t, i) => Math.abs(t - av.times[i]) > 0.001);
    assert.equal(off, -1, `${what}: frame ${off} at ${rec.times[off]} s; the file shows it at ${av.times[off]} s`);
    assert.deepEqual(rec.keys, keys, `${what}: key frames at the GOP's positions`);
  }

  /**
   * PSNR of a written PNG against PyAV's frame at output position `i`. A picture one pixel off
   * an odd size is compared where they overlap; a rotated file's picture may come out as stored
   * or as shown.
   */
  async function score(png: string, i: number): Promise<number> {
    const stored = await pngRgb(png);
    const ref: Rgb = { data: await av.rgb(i), width: av.width, height: av.height };
    const candidates = ff.rotation % 180 === 0 ? [ref] : [ref, quarterTurn(ref, true), quarterTurn(ref, false)];
    const fits = candidates.filter((c) => Math.abs(c.width - stored.width) <= 1 && Math.abs(c.height - stored.height) <= 1);
    assert.ok(fits.length > 0, `${png} is ${stored.width}x${stored.height}; the file's picture is ${av.width}x${av.height}`);
    const scores = await Promise.all(fits.map(async (c) => psnr(c.width === stored.width && c.height === stored.height ? stored : await pngRgb(png, c), c)));
    return Math.max(...scores);
  }

  test('encode: every frame once, rising timestamps, keyframes every 30 frames, the same duration', async () => {
    const out = join(work, 'x.mp4');
    const r = await runCli(['encode', input, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assertCount(JSON.parse(r.stdout).frames, 'encode summary');
    const e = await ffprobe(out);
    assertCount(e.frames, 'encoded MP4');
    const pts = e.packets.map((p) => BigInt(p.pts ?? -1));
    assertRising(pts, 'encoded MP4');
    assert.deepEqual(e.packets.flatMap((p, i) => (p.key ? [i] : [])), gopKeys(e.frames), 'encoded MP4 key frames');
    if (!damaged) assert.ok(Math.abs(e.duration - shown) <= interval, `encoded MP4 lasts ${e.duration} s, the file's frames ${shown} s`);
    if (damaged) assertLossWarned(r.stderr, input);
  });

  test('record --source: every frame once at the file\'s times, keyframes every 30 frames', async () => {
    const out = join(work, 'r.mcap');
    const r = await runCli(['record', '--source', input, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const rec = await readRecording(out);
    assertRecording(rec, gopKeys(rec.times.length), 'recording');
    if (damaged) assertLossWarned(r.stderr, input);
  });

  test(`import: ${remuxable(f) ? 'remuxed' : 'transcoded'}, every frame once at the file's times`, async () => {
    const out = join(work, 'i.mcap');
    const r = await runCli(['import', input, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const mode = r.stdout.split(/[ \n]/)[0];
    // Only H.264 that needs no reordering (judged from the bitstream) may be stored as it is.
    if (!damaged) assert.equal(mode, remuxable(f) ? 'remux' : 'transcode', r.stdout);
    const rec = await readRecording(out);
    imported = { ...rec, mode };
    assertRecording(rec, mode === 'remux' ? av.keys : gopKeys(rec.times.length), 'imported recording');
    if (damaged) assertLossWarned(r.stderr, input);
  });

  test('frames <file> --at: the picture PyAV decodes at the same position (PSNR ≥ 45 dB)', async () => {
    // First, a B-frame, past the middle, last; for damaged files two frames of the intact first GOP.
    const positions = damaged ? [0, 5] : [0, 2, (av.frames >> 1) + 1, av.frames - 1];
    const out = join(work, 'frames-file');
    const r = await runCli(['frames', input, '--at', positions.map((i) => av.times[i]).join(','), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const written = framesWritten(r.stdout);
    assert.equal(written.length, positions.length);
    for (const [k, i] of positions.entries()) {
      assert.ok(Math.abs(written[k].actual - av.times[i]) < interval / 2, `asked ${av.times[i]} s, got the frame at ${written[k].actual} s`);
      const db = await score(written[k].file, i);
      assert.ok(db >= 45, `frame ${i} at ${av.times[i]} s: ${db.toFixed(1)} dB against PyAV's`);
    }
  });

  test('frames <import.mcap> at every frame time: each decodes and shows the right picture', async () => {
    assert.ok(imported, 'needs the import above, which failed');
    const out = join(work, 'frames-rec');
    const r = await runCli(['frames', join(work, 'i.mcap'), '--at', imported.times.join(','), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const written = framesWritten(r.stdout);
    assert.equal(written.length, imported.times.length);
    // Remuxed packets decode to PyAV's picture exactly (≥ 45 dB). A transcode (H.264 4:2:0 at
    // crf 23) cannot: on this pattern it lands at 34–36 dB, 30 dB from 4:4:4 (chroma subsampling).
    // There each frame must still be a copy of its own picture (≥ 25 dB; different frames of the
    // pattern are about 20 dB apart) and closer to PyAV's frame at its position than to the
    // frames before and after it.
    for (const w of written) {
      const i = positionAt(av.times, w.actual);
      const db = await score(w.file, i);
      if (imported.mode === 'remux') {
        assert.ok(db >= 45, `frame at ${w.actual} s: ${db.toFixed(1)} dB against PyAV's frame ${i}`);
        continue;
      }
      assert.ok(db >= 25, `frame at ${w.actual} s: ${db.toFixed(1)} dB against PyAV's frame ${i}`);
      for (const j of [i - 1, i + 1].filter((n) => n >= 0 && n < av.frames)) {
        const other = await score(w.file, j);
        assert.ok(db > other, `frame at ${w.actual} s looks more like PyAV's frame ${j} (${other.toFixed(1)} dB) than frame ${i} (${db.toFixed(1)} dB)`);
      }
    }
  });

  test('export of the imported recording: an MP4 with its frames and duration', async () => {
    assert.ok(imported, 'needs the import above, which failed');
    const out = join(work, 'e.mp4');
    const r = await runCli(['export', join(work, 'i.mcap'), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const e = await ffprobe(out);
    assert.equal(e.frames, imported.times.length, 'exported frames');
    if (!damaged) assert.ok(Math.abs(e.duration - shown) <= interval, `exported MP4 lasts ${e.duration} s, the file's frames ${shown} s`);
  });

  test('publish --bus memory:: every frame published once', async () => {
    const r = await runCli(['publish', '--source', input, '--bus', 'memory:', '--topic', 't']);
    assert.equal(r.code, 0, r.stderr);
    const m = /published (\d+) frames/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assertCount(Number(m[1]), 'published');
    if (damaged) assertLossWarned(r.stderr, input);
  });
}
