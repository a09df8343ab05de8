import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { VideoPacket } from '../core/packet.js';
import { partialFilesOf } from '../core/output-file.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { writeMp4 } from './mp4-writer.js';

let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'framebus-mp4-writer-'))));
after(() => rm(dir, { recursive: true, force: true }));

test('writeMp4 whose packets fail half way leaves no file, and the file it would replace is intact', async () => {
  const encoder = await VideoEncoder.create({ width: 160, height: 120, log: () => {} });
  const packets: VideoPacket[] = [];
  for await (const frame of new SyntheticSource({ width: 160, height: 120, frames: 40 })) packets.push(...(await encoder.encode(frame)));
  packets.push(...(await encoder.flush()));
  encoder.close();
  const path = join(dir, 'half.mp4');
  await writeFile(path, 'older clip');
  async function* failing() {
    yield* packets.slice(0, 20);
    throw new Error('the recording is damaged');
  }
  await assert.rejects(writeMp4(path, failing()), /damaged/);
  assert.equal(await readFile(path, 'utf8'), 'older clip');
  assert.deepEqual(await partialFilesOf(path), []);
  await rm(path);
  await assert.rejects(writeMp4(path, failing()), /damaged/);
  assert.equal(existsSync(path), false);
  assert.deepEqual(await partialFilesOf(path), []);
});
