import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapIndexedReader } from '@mcap/core';
import { FileHandleReadable } from '@mcap/nodejs';
import { runCli } from '../support/run-cli.js';

/**
 * Runs `body` with `full`, a folder on a new tmpfs of `size` (mounting needs root; the test is
 * skipped, with why, where it is not permitted), and `roomy`, a folder on the usual disk.
 */
async function onSmallDisk(t: TestContext, size: string, body: (full: string, roomy: string) => Promise<void>): Promise<void> {
  const full = mkdtempSync(join(tmpdir(), 'framebus-full-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', full], { stdio: 'pipe' });
  } catch (error) {
    rmSync(full, { recursive: true, force: true });
    return t.skip(`mounting a ${size} tmpfs is not permitted here (${(error as Error).message.split('\n')[0]}); run the tests as root`);
  }
  const roomy = mkdtempSync(join(tmpdir(), 'framebus-full-disk-roomy-'));
  try {
    await body(full, roomy);
  } finally {
    execFileSync('umount', [full]);
    rmSync(full, { recursive: true, force: true });
    rmSync(roomy, { recursive: true, force: true });
  }
}

test('a recording that fills the disk stops with "the disk is full", keeps what it wrote and names the recover command, which makes it whole', (t) =>
  onSmallDisk(t, '512k', async (full, roomy) => {
    const out = join(full, 'run.mcap');
    const r = await runCli(['record', '--source', 'synthetic', '--out', out, '--codec', 'h264', '--size', '640x480', '--frames', '3000', '--fps', '120'], { timeoutMs: 120_000 });
    assert.equal(r.code, 2, r.stderr);
    const [partial, ...more] = readdirSync(full).filter((n) => /^run\.partial-[0-9a-f]{8}\.mcap$/.test(n));
    assert.equal(more.length, 0);
    assert.ok(partial, `no partial file in ${readdirSync(full).join(', ')}`);
    const kept = join(full, partial);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines.at(-1)!, /^framebus: Writing .*run\.partial-[0-9a-f]{8}\.mcap failed: the disk is full\. What was written before is kept in /);
    assert.ok(lines.at(-1)!.includes(`framebus recover ${kept} --out ${out}`), lines.at(-1));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');

    // Recovered onto a disk with room, as the message says (with another --out).
    const recovered = join(roomy, 'run.mcap');
    const rec = await runCli(['recover', kept, '--out', recovered]);
    assert.equal(rec.code, 0, rec.stderr);
    const handle = await open(recovered);
    try {
      const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) });
      let frames = 0;
      for await (const m of reader.readMessages({ validateCrcs: true })) if (reader.channelsById.get(m.channelId)?.topic === 'camera') frames++;
      process.stdout.write(`# a 512 KiB disk filled: ${frames} frames recovered from ${partial}\n`);
      // 512 KiB holds about 250 frames of this stream; all but the last chunk's reach the file.
      assert.ok(frames > 50, `${frames} frames recovered`);
      assert.match(rec.stdout, new RegExp(`recovered, ${frames} messages kept`));
    } finally {
      await handle.close();
    }
  }));

test('an MP4 written per camera onto a full disk: "the disk is full", no half-written MP4 left, and the recording beside it on another disk is whole', (t) =>
  onSmallDisk(t, '256k', async (full, roomy) => {
    const out = join(roomy, 'cams.mcap');
    const r = await runCli(['record', '--source', 'synthetic', '--out', out, '--mp4-dir', full, '--codec', 'h264', '--size', '640x480', '--frames', '3000', '--fps', '120'], { timeoutMs: 120_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim().split('\n').at(-1)!, /^framebus: .*Cannot write packet \d+ to .*camera\.mp4: the disk is full\.$/);
    assert.deepEqual(readdirSync(full), []);
    const handle = await open(out);
    try {
      const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) });
      assert.ok(Number(reader.statistics?.messageCount) > 0);
    } finally {
      await handle.close();
    }
  }));

test('export and concat onto a full disk: "the disk is full", and nothing left behind', (t) =>
  onSmallDisk(t, '40k', async (full, roomy) => {
    const episode = join(roomy, 'episode.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=640x480:rate=30', '-t', '4', '-c:v', 'libx264', episode]);
    const concat = await runCli(['concat', episode, episode, '--out', join(full, 'all.mp4')]);
    assert.equal(concat.code, 2, concat.stderr);
    assert.match(concat.stderr.trim(), /^framebus: (Cannot finish|Writing) .*all\.mp4.*: the disk is full\.$/);
    assert.deepEqual(readdirSync(full), []);

    const recording = join(roomy, 'run.mcap');
    const rec = await runCli(['record', '--source', 'synthetic', '--out', recording, '--codec', 'h264', '--size', '640x480', '--frames', '60', '--fps', '120']);
    assert.equal(rec.code, 0, rec.stderr);
    const exported = await runCli(['export', recording, '--out', join(full, 'clip.mp4')]);
    assert.equal(exported.code, 2, exported.stderr);
    assert.match(exported.stderr.trim(), /^framebus: .*clip\.mp4.*: the disk is full\.$/);
    assert.deepEqual(readdirSync(full), []);
  }));
