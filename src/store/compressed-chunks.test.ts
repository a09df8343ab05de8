import assert from 'node:assert/strict';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import zstd from '@foxglove/wasm-zstd';
import { McapIndexedReader, McapWriter } from '@mcap/core';
import { FileHandleReadable, FileHandleWritable } from '@mcap/nodejs';
import { packetsOf, recordSynthetic, tempDir } from '../../test/store/fixtures.js';
import { recover } from './recover.js';
import { RecordingReader } from './recording-reader.js';

let dir: string;
let cleanup: () => Promise<void>;
let plain: string;
before(async () => {
  ({ dir, cleanup } = await tempDir());
  plain = join(dir, 'plain.mcap');
  await recordSynthetic(plain, { frames: 90 });
});
after(() => cleanup());

/** `from` rewritten the way other tools write MCAP: chunks of `chunkBytes`, zstd-compressed, with every record kept. */
async function zstdCopy(from: string, to: string, chunkBytes: number): Promise<void> {
  await zstd.isLoaded;
  const input = await open(from);
  const output = await open(to, 'w');
  try {
    const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(input) });
    const writer = new McapWriter({
      writable: new FileHandleWritable(output),
      chunkSize: chunkBytes,
      compressChunk: (data) => ({ compression: 'zstd', compressedData: zstd.compress(data, 3) }),
    });
    await writer.start({ profile: '', library: 'another tool' });
    const schemas = new Map<number, number>();
    const channels = new Map<number, number>();
    for (const [id, s] of reader.schemasById) schemas.set(id, await writer.registerSchema({ name: s.name, encoding: s.encoding, data: s.data }));
    for (const [id, c] of reader.channelsById) {
      channels.set(id, await writer.registerChannel({ topic: c.topic, messageEncoding: c.messageEncoding, schemaId: schemas.get(c.schemaId) ?? 0, metadata: c.metadata }));
    }
    for await (const m of reader.readMessages()) await writer.addMessage({ ...m, channelId: channels.get(m.channelId)! });
    for await (const m of reader.readMetadata()) await writer.addMetadata(m);
    await writer.end();
  } finally {
    await input.close();
    await output.close();
  }
}

const bytesOf = (packets: { data: Uint8Array }[]) => packets.map((p) => Buffer.from(p.data).toString('base64'));

test('a recording with zstd-compressed chunks (as the Foxglove SDK and Python\'s mcap write by default) reads like the plain one: packets and frames', async () => {
  const compressed = join(dir, 'zstd.mcap');
  await zstdCopy(plain, compressed, 16 * 1024);
  const expected = await packetsOf(plain, 'camera');
  assert.deepEqual(bytesOf(await packetsOf(compressed, 'camera')), bytesOf(expected));
  const reader = await RecordingReader.open(compressed);
  try {
    const frame = await reader.frameAt('camera', expected[45].timestamp);
    assert.equal(frame.timestamp, expected[45].timestamp);
  } finally {
    await reader.close();
  }
});

test('an unfinished zstd recording is read by scanning, and recover keeps every message of its whole chunks', async () => {
  const compressed = join(dir, 'zstd-for-cut.mcap');
  await zstdCopy(plain, compressed, 16 * 1024);
  const bytes = await readFile(compressed);
  const cut = join(dir, 'zstd-cut.mcap');
  await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.8)));
  const expected = bytesOf(await packetsOf(plain, 'camera'));
  const scanned = bytesOf(await packetsOf(cut, 'camera'));
  assert.ok(scanned.length >= 50 && scanned.length < 90, `${scanned.length} packets read from the cut file`);
  assert.deepEqual(scanned, expected.slice(0, scanned.length));

  const recovered = join(dir, 'zstd-recovered.mcap');
  const summary = await recover(cut, { output: recovered });
  assert.equal(summary.messages, scanned.length);
  assert.deepEqual(bytesOf(await packetsOf(recovered, 'camera')), scanned);

  // A whole compressed file is complete as it is: recover loses nothing.
  const whole = await recover(compressed, { output: join(dir, 'zstd-whole-recovered.mcap') });
  assert.equal(whole.wasComplete, true);
  assert.equal(whole.messages, 90);
});
