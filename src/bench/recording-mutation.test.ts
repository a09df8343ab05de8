import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { McapIndexedReader, type IReadable } from '@mcap/core';
import { recordSynthetic, tempDir } from '../../test/store/fixtures.js';
import { mutateRecording, recordingLayout, type RecordingLayout } from './recording-mutation.js';

let cleanup: () => Promise<void>;
let bytes: Buffer;
let layout: RecordingLayout;

function readable(b: Uint8Array): IReadable {
  return { size: async () => BigInt(b.length), read: async (offset, length) => b.subarray(Number(offset), Number(offset + length)) };
}

async function open(b: Uint8Array): Promise<McapIndexedReader> {
  return McapIndexedReader.Initialize({ readable: readable(b) });
}

async function logTimes(reader: McapIndexedReader): Promise<bigint[]> {
  const out: bigint[] = [];
  for await (const m of reader.readMessages({ validateCrcs: true })) out.push(m.logTime);
  return out;
}

before(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir());
  const path = join(dir, 'small.mcap');
  await recordSynthetic(path, { frames: 24, width: 160, height: 120, streamOptions: { encoder: { gop: 8 } }, recording: { maxChunkBytes: 2 * 1024 } });
  bytes = await readFile(path);
  layout = recordingLayout(bytes);
});
after(() => cleanup());

describe('recording mutations', () => {
  test('the layout finds each chunk where the summary says it is', async () => {
    const reader = await open(bytes);
    assert.ok(layout.chunkBlocks.length >= 5, `${layout.chunkBlocks.length} chunks`);
    assert.deepEqual(
      layout.chunkBlocks.map(([s]) => s),
      reader.chunkIndexes.map((c) => Number(c.chunkStartOffset)),
    );
    assert.equal(layout.chunkIndexes.length, reader.chunkIndexes.length);
    assert.equal(layout.streamIndexes.length, 1);
  });

  test('reversed chunks with a re-sealed summary are a valid file whose chunks run backwards in time', async () => {
    const out = mutateRecording(bytes, layout, { kind: 'reverse-chunks', fixSummary: true });
    assert.equal(out.length, bytes.length);
    const reader = await open(out);
    const starts = [...reader.chunkIndexes].sort((a, b) => Number(a.chunkStartOffset - b.chunkStartOffset)).map((c) => c.messageStartTime);
    assert.deepEqual(starts, [...starts].sort((a, b) => (a < b ? 1 : -1)));
    assert.equal((await logTimes(reader)).length, 24);
  });

  test('swapped chunks without a re-sealed summary leave the index pointing at the wrong bytes', async () => {
    const out = mutateRecording(bytes, layout, { kind: 'swap-chunks', a: 0, b: 2, fixSummary: false });
    const reader = await open(out);
    await assert.rejects(logTimes(reader));
  });

  test('an altered chunk index field is trusted only when the summary CRC is re-sealed', async () => {
    const delta = 1_000_000_000n;
    const sealed = await open(mutateRecording(bytes, layout, { kind: 'chunk-index-field', chunk: 1, field: 'messageStartTime', delta, fixSummary: true }));
    const clean = await open(bytes);
    assert.equal(sealed.chunkIndexes[1].messageStartTime, clean.chunkIndexes[1].messageStartTime + delta);
    await assert.rejects(open(mutateRecording(bytes, layout, { kind: 'chunk-index-field', chunk: 1, field: 'messageStartTime', delta, fixSummary: false })), /summary CRC/);
  });

  test('an altered stream index changes one digit of its value and nothing else', () => {
    const out = mutateRecording(bytes, layout, { kind: 'stream-index-field', field: 'start', digit: 3, value: 7 });
    const changed = [...out.keys()].filter((i) => out[i] !== bytes[i]);
    assert.equal(changed.length, 1);
    const [start, end] = layout.streamIndexes[0];
    assert.ok(changed[0] >= start && changed[0] < end);
    assert.match(String.fromCharCode(out[changed[0]]), /\d/);
  });

  test('bit flips, zeroed ranges and truncations stay inside the file', () => {
    assert.equal(mutateRecording(bytes, layout, { kind: 'bit-flip', at: 0.999, bit: 7 }).length, bytes.length);
    assert.equal(mutateRecording(bytes, layout, { kind: 'zero-range', at: 0.99, length: 4096 }).length, bytes.length);
    assert.equal(mutateRecording(bytes, layout, { kind: 'truncate', at: 0.5 }).length, Math.floor(bytes.length / 2));
  });
});
