import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { McapIndexedReader, McapWriter } from '@mcap/core';
import { FileHandleReadable, FileHandleWritable } from '@mcap/nodejs';
import { recordSynthetic } from '../store/fixtures.js';
import { cliNodeArgs, runCli } from '../support/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'framebus-safe-outputs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const video = join(dir, 'in.mp4');
const recording = join(dir, 'a.mcap');

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Files in `dir` whose names say they are unfinished writes. */
function partials(): string[] {
  return readdirSync(dir).filter((n) => n.includes('.partial-'));
}

/** Asserts a refusal: exit code 2, one `framebus: …` line, no stack trace. */
function refused(r: { code: number | null; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^framebus: [^\n]*\n$/, `not one line: ${r.stderr}`);
  assert.match(r.stderr, message);
}

/** Asserts a bad numeric option: exit code 1, Commander's line naming the range, no stack trace. */
function badNumber(r: { code: number | null; stderr: string }, range: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, range);
  assert.doesNotMatch(r.stderr, /RangeError|TimeoutOverflowWarning|\n\s+at /);
}

test.before(async () => {
  const r = await runCli(['encode', 'synthetic:160x120@30', '--frames', '90', '--out', video]);
  assert.equal(r.code, 0, r.stderr);
  await recordSynthetic(recording, { frames: 90, width: 160, height: 120, recording: { maxChunkBytes: 8 * 1024 } });
});

test('encode refuses to write over its input (also through a link), and the input is unchanged', async () => {
  const before = sha(video);
  refused(await runCli(['encode', video, '--out', video]), /is the input/);
  const link = join(dir, 'link.mp4');
  symlinkSync(video, link);
  refused(await runCli(['encode', link, '--out', video]), /is the input/);
  refused(await runCli(['encode', video, '--out', link]), /is the input/);
  rmSync(link);
  assert.equal(sha(video), before);
  assert.deepEqual(partials(), []);
});

test('import refuses to write over its input, and the input is unchanged', async () => {
  const before = sha(video);
  refused(await runCli(['import', video, '--out', video]), /is the input/);
  assert.equal(sha(video), before);
  assert.deepEqual(partials(), []);
});

test('export refuses to write over the recording, and the recording is unchanged', async () => {
  const before = sha(recording);
  refused(await runCli(['export', recording, '--out', recording]), /is the input/);
  assert.equal(sha(recording), before);
  assert.deepEqual(partials(), []);
});

test('frames refuses an output that is a file (its input or any other), and the input is unchanged', async () => {
  const before = [sha(video), sha(recording)];
  refused(await runCli(['frames', video, '--at', '1', '--out', video]), /is a file, not a folder/);
  refused(await runCli(['frames', recording, '--at', '1', '--out', recording]), /is a file, not a folder/);
  assert.deepEqual([sha(video), sha(recording)], before);
});

test('record refuses to write over its source file, and the source is unchanged', async () => {
  const before = sha(video);
  refused(await runCli(['record', '--source', video, '--out', video]), /is the input/);
  assert.equal(sha(video), before);
  assert.deepEqual(partials(), []);
});

test('recover refuses an output that is its input under another name, and the input is unchanged', async () => {
  const before = sha(recording);
  const link = join(dir, 'link.mcap');
  symlinkSync(recording, link);
  refused(await runCli(['recover', recording, '--out', link]), /is the input/);
  rmSync(link);
  assert.equal(sha(recording), before);
});

/** A copy of `source` whose message `index` has the same log time as the one before it: legal MCAP that no MP4 can hold. */
async function withRepeatedTimestamp(source: string, target: string, index: number): Promise<void> {
  const input = await open(source);
  const output = await open(target, 'w');
  try {
    const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(input) });
    const writer = new McapWriter({ writable: new FileHandleWritable(output), chunkSize: 8 * 1024 });
    await writer.start({ profile: '', library: 'test' });
    const schemas = new Map<number, number>();
    for (const s of reader.schemasById.values()) schemas.set(s.id, await writer.registerSchema(s));
    const channels = new Map<number, number>();
    for (const c of reader.channelsById.values()) channels.set(c.id, await writer.registerChannel({ ...c, schemaId: schemas.get(c.schemaId)! }));
    let n = 0;
    let previous = 0n;
    for await (const m of reader.readMessages()) {
      const logTime = n === index ? previous : m.logTime;
      await writer.addMessage({ ...m, channelId: channels.get(m.channelId)!, logTime, publishTime: logTime });
      previous = m.logTime;
      n++;
    }
    await writer.end();
  } finally {
    await input.close();
    await output.close();
  }
}

test('an export that fails while writing leaves no file, and a file it would replace is unchanged', async () => {
  const broken = join(dir, 'repeated-time.mcap');
  await withRepeatedTimestamp(recording, broken, 60);
  const fresh = join(dir, 'fresh.mp4');
  const r = await runCli(['export', broken, '--out', fresh]);
  refused(r, /timestamps must rise/);
  assert.equal(existsSync(fresh), false);
  const existing = join(dir, 'existing.mp4');
  writeFileSync(existing, 'an older clip');
  refused(await runCli(['export', broken, '--out', existing]), /timestamps must rise/);
  assert.equal(readFileSync(existing, 'utf8'), 'an older clip');
  assert.deepEqual(partials(), []);
});

test('folders, special files and unwritable places get one line each, and nothing hangs', async () => {
  const folder = join(dir, 'folder');
  mkdirSync(folder);
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const cases: [string[], RegExp][] = [
    [['encode', 'synthetic:160x120@30', '--frames', '5', '--out', folder], /is a folder/],
    [['export', recording, '--out', folder], /is a folder/],
    [['import', video, '--out', folder], /is a folder/],
    [['record', '--source', 'synthetic:160x120@30', '--frames', '5', '--out', folder], /is a folder/],
    [['encode', 'synthetic:160x120@30', '--frames', '5', '--out', fifo], /not a regular file/],
    [['encode', 'synthetic:160x120@30', '--frames', '5', '--out', '/dev/null'], /not a regular file/],
    [['encode', 'synthetic:160x120@30', '--frames', '5', '--out', '/proc/nope.mp4'], /special file system/],
    [['encode', 'synthetic:160x120@30', '--frames', '5', '--out', '/sys/nope.mp4'], /permission denied|not permitted/],
    [['frames', recording, '--at', '1', '--out', '/proc/nope'], /special file system/],
    [['frames', recording, '--at', '1', '--out', '/sys/nope'], /permission denied|not permitted/],
    [['frames', recording, '--at', '1', '--out', join(video, 'sub')], /is a file/],
    [['info', tmpdir()], /is a folder/],
    [['info', fifo], /not a regular file/],
    [['recover', tmpdir()], /is a folder/],
    [['recover', recording, '--out', folder], /is a folder/],
    [['export', recording, '--out', join(dir, 'no', 'such', 'clip.mp4')], /folder does not exist/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, { timeoutMs: 60_000 });
    assert.notEqual(r.code, null, `framebus ${args.join(' ')} hung`);
    refused(r, message);
  }
  assert.deepEqual(readdirSync(folder), []);
  assert.deepEqual(partials(), []);
});

test('numeric options out of range are refused with the range, before BigInt or a timer sees them', async () => {
  badNumber(await runCli(['frames', recording, '--at', '1e300', '--out', join(dir, 'f')]), /--at.*from 0 to 18446744073/);
  badNumber(await runCli(['frames', recording, '--at', '-1', '--out', join(dir, 'f')]), /--at.*from 0 to 18446744073/);
  badNumber(await runCli(['frames', recording, '--at', '1', '--tolerance', '1e300', '--out', join(dir, 'f')]), /--tolerance.*from 0 to 18446744073/);
  badNumber(await runCli(['export', recording, '--from', '1e300', '--out', join(dir, 'x.mp4')]), /--from.*from 0 to 18446744073/);
  badNumber(await runCli(['export', recording, '--to', '1e300', '--out', join(dir, 'x.mp4')]), /--to.*from 0 to 18446744073/);
  badNumber(await runCli(['record', '--source', 'synthetic:160x120@30', '--duration', '1e300', '--out', join(dir, 'r.mcap')]), /--duration.*> 0 and ≤ 2147483\.647/);
  badNumber(await runCli(['encode', 'synthetic:160x120@30', '--fps', '1e-300', '--out', join(dir, 'x.mp4')]), /--fps.*from 0\.001 to 1000/);
  badNumber(await runCli(['play', recording, '--bus', 'memory:', '--speed', '1e-300']), /--speed.*from 0\.001 to 1000/);
  badNumber(await runCli(['encode', 'synthetic:160x120@30', '--gop', '1e300', '--out', join(dir, 'x.mp4')]), /--gop.*from 1 to 10000/);
  badNumber(await runCli(['record', '--source', 'synthetic', '--size', '99999999x2', '--out', join(dir, 'r.mcap')]), /from 1 to 16384/);
  assert.equal(existsSync(join(dir, 'x.mp4')) || existsSync(join(dir, 'r.mcap')) || existsSync(join(dir, 'f')), false);
});

test('a killed record leaves its recording under a partial name that info points to and recover completes', async () => {
  const out = join(dir, 'killed.mcap');
  const child = spawn(process.execPath, [...cliNodeArgs(), 'record', '--source', 'synthetic:160x120@30', '--out', out], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // Wait until a chunk (flushed within half a second of its frames) has reached the partial file.
  for (let i = 0; i < 600 && partials().every((n) => !n.startsWith('killed.') || readFileSync(join(dir, n)).length < 4096); i++) await sleep(50);
  await sleep(700);
  child.kill('SIGKILL');
  await exited;
  assert.equal(existsSync(out), false, 'an unfinished recording never takes the final name');
  const [partial] = partials().filter((n) => n.startsWith('killed.'));
  assert.match(partial, /^killed\.partial-[0-9a-f]{8}\.mcap$/);
  const info = await runCli(['info', out]);
  refused(info, new RegExp(`${partial.replaceAll('.', '\\.')} is an unfinished recording of it .*framebus recover .*--out`));
  const r = await runCli(['recover', join(dir, partial), '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const done = await runCli(['info', out, '--json']);
  assert.equal(done.code, 0, done.stderr);
  assert.ok(JSON.parse(done.stdout).streams[0].frames > 0);
  rmSync(join(dir, partial));
});
