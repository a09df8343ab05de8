import assert from 'node:assert/strict';
import { copyFile, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { McapIndexedReader } from '@mcap/core';
import { FileHandleReadable } from '@mcap/nodejs';
import { FramebusError, MalformedDataError, NotFoundError } from '../core/errors.js';
import { recordSynthetic, T0, tempDir } from '../../test/store/fixtures.js';
import { recover } from './recover.js';
import { RecordingReader } from './recording-reader.js';

let dir: string;
let cleanup: () => Promise<void>;
/** A 60-frame H.264 recording in many small chunks. */
let multiChunk: string;
/** A small recording to mutate. */
let small: Buffer;
const FRAME_NS = 33_333_333n;
const quiet = { warn: () => {} };

before(async () => {
  ({ dir, cleanup } = await tempDir());
  multiChunk = join(dir, 'multi.mcap');
  await recordSynthetic(multiChunk, { frames: 60, streamOptions: { encoder: { gop: 10 } }, recording: { maxChunkBytes: 6 * 1024 } });
  const smallPath = join(dir, 'small.mcap');
  await recordSynthetic(smallPath, { frames: 12, width: 96, height: 64, streamOptions: { encoder: { gop: 4 } }, recording: { maxChunkBytes: 2 * 1024 } });
  small = await readFile(smallPath);
});
after(() => cleanup());

async function chunkOffsets(path: string): Promise<{ offset: number; length: number; start: bigint; end: bigint }[]> {
  const handle = await open(path);
  try {
    const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) });
    return reader.chunkIndexes.map((c) => ({ offset: Number(c.chunkStartOffset), length: Number(c.chunkLength), start: c.messageStartTime, end: c.messageEndTime }));
  } finally {
    await handle.close();
  }
}

describe('bad files', () => {
  test('a missing file and a file that is not MCAP', async () => {
    await assert.rejects(RecordingReader.open(join(dir, 'absent.mcap')), (e: Error) => e instanceof NotFoundError && /Recording not found/.test(e.message));
    const text = join(dir, 'notes.txt');
    await writeFile(text, 'these are not the frames you are looking for\n');
    await assert.rejects(RecordingReader.open(text), (e: Error) => e instanceof MalformedDataError && /is not an MCAP file/.test(e.message));
    await writeFile(join(dir, 'empty.mcap'), '');
    await assert.rejects(RecordingReader.open(join(dir, 'empty.mcap')), MalformedDataError);
    await assert.rejects(recover(text, { output: join(dir, 'never.mcap') }), /is not an MCAP file/);
  });

  test('random bytes in a chunk: that chunk fails with a typed error, the rest stays readable, recover skips it', async () => {
    const path = join(dir, 'hit.mcap');
    await copyFile(multiChunk, path);
    const chunks = await chunkOffsets(path);
    assert.ok(chunks.length >= 6, `${chunks.length} chunks`);
    const hit = chunks[3];
    const bytes = await readFile(path);
    for (let i = 0; i < 32; i++) bytes[hit.offset + Math.floor(hit.length / 2) + i] ^= 0x5a + i;
    await writeFile(path, bytes);

    const reader = await RecordingReader.open(path, quiet);
    try {
      assert.equal(reader.indexed, true);
      assert.equal((await reader.stream('camera')).frames, 60);
      const early = await reader.frameAt('camera', chunks[0].start);
      assert.equal(early.timestamp, T0);
      await assert.rejects(reader.frameAt('camera', hit.start), (e: Error) => e instanceof MalformedDataError && new RegExp(`chunk at byte ${hit.offset} is damaged`).test(e.message));
      const late = T0 + 59n * FRAME_NS;
      assert.equal((await reader.frameAt('camera', late)).timestamp, late);
      await assert.rejects(async () => {
        for await (const p of reader.packets('camera')) void p;
      }, MalformedDataError);
    } finally {
      await reader.close();
    }

    const summary = await recover(path, { output: join(dir, 'hit-recovered.mcap') });
    assert.match(summary.problems.join(), new RegExp(`skipped the chunk at byte ${hit.offset}`));
    assert.ok(summary.messages > 40 && summary.messages < 60);
    const fixed = await RecordingReader.open(join(dir, 'hit-recovered.mcap'));
    try {
      assert.equal((await fixed.stream('camera')).frames, summary.messages);
      assert.equal((await fixed.frameAt('camera', T0 + 59n * FRAME_NS)).timestamp, T0 + 59n * FRAME_NS);
    } finally {
      await fixed.close();
    }
  });

  test('a truncated file opens by scanning with a warning and serves what it holds', async () => {
    const path = join(dir, 'truncated.mcap');
    const bytes = await readFile(multiChunk);
    await writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const warnings: string[] = [];
    const reader = await RecordingReader.open(path, { warn: (m) => warnings.push(m) });
    try {
      assert.equal(reader.indexed, false);
      assert.match(warnings.join(), /not finished/);
      const info = await reader.stream('camera');
      assert.equal(info.indexed, false);
      assert.ok(info.frames > 10 && info.frames < 60);
      assert.equal((await reader.frameAt('camera', info.end)).timestamp, info.end);
      await assert.rejects(reader.frameAt('camera', T0 + 59n * FRAME_NS, { tolerance: 1_000_000n }), /nearest frame is at/);
    } finally {
      await reader.close();
    }
  });
});

/** Everything a user might do with a file; only framebus's typed errors may come out. */
async function exercise(path: string): Promise<void> {
  const attempt = async (task: () => Promise<unknown>) => {
    try {
      await task();
    } catch (error) {
      if (!(error instanceof FramebusError)) throw error;
    }
  };
  await attempt(async () => {
    const reader = await RecordingReader.open(path, quiet);
    try {
      for (const name of reader.streamNames) {
        await attempt(() => reader.stream(name));
        for (const t of [T0, T0 + 5n * FRAME_NS, T0 + 11n * FRAME_NS]) await attempt(() => reader.frameAt(name, t));
        await attempt(async () => {
          for await (const p of reader.packets(name)) void p;
        });
      }
    } finally {
      await reader.close();
    }
  });
  const out = `${path}.recovered`;
  await attempt(() => recover(path, { output: out }));
  await rm(out, { force: true });
}

describe('property: mutated files', () => {
  test('200 mutations of a small recording give only typed errors, never a crash or hang', { timeout: 120_000 }, async () => {
    const path = join(dir, 'mutant.mcap');
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), bytes: fc.constant(new Uint8Array()) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        let bytes = Buffer.from(small);
        for (const m of mutations) {
          const at = m.at % (bytes.length + 1);
          if (m.kind === 'overwrite') bytes.set(m.bytes.subarray(0, bytes.length - at), at);
          else if (m.kind === 'truncate') bytes = bytes.subarray(0, at);
          else bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        }
        await writeFile(path, bytes);
        await exercise(path);
      }),
      { numRuns: 200 },
    );
  });
});
