import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { VideoPacket } from '../../src/core/packet.js';
import { partialFilesOf } from '../../src/core/output-file.js';
import { RecordingReader } from '../../src/store/recording-reader.js';
import { tempDir } from './fixtures.js';
import { startRecorderChild } from '../support/recorder-child.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

const TRIALS = 8;
/** The promise (README, `flushInterval`'s default): a SIGKILL loses at most this much. */
const PROMISE_MS = 1000;

/**
 * Records the realtime 30 fps scene with the default flush interval, SIGKILLs the recorder at
 * a random moment, and returns how many ms before the kill the oldest frame the file lacks was
 * handed to the recording (0 when nothing handed over was lost).
 */
async function killAndMeasure(path: string, runMs: number): Promise<{ lossMs: number; written: number; stored: number; partial: string }> {
  const child = startRecorderChild(path, 1);
  const { written, exited } = child;
  let partial = '';
  void child.started.then((p) => (partial = p));
  await Promise.race([child.started, exited]);
  await sleep(runMs);
  const killedAt = Date.now();
  child.kill('SIGKILL');
  await exited;
  assert.ok(written.size > 20, `the recorder handed over only ${written.size} frames`);

  const reader = await RecordingReader.open(partial, { warn: () => undefined });
  const stored = new Set<number>();
  try {
    for await (const p of reader.packets('camera')) stored.add((p as VideoPacket).frameId);
  } finally {
    await reader.close();
  }
  const lost = [...written].filter(([id]) => !stored.has(id));
  for (const [id] of lost) assert.ok(![...stored].some((s) => s > id), `frame ${id} is missing but a later one is stored`);
  const lossMs = lost.length === 0 ? 0 : killedAt - Math.min(...lost.map(([, at]) => at));
  return { lossMs, written: written.size, stored: stored.size, partial };
}

test(`SIGKILL loses less than 1 s of handed-over frames (worst of ${TRIALS} kills at random moments)`, async (t) => {
  let worst = 0;
  for (let i = 0; i < TRIALS; i++) {
    const path = join(dir, `killed-${i}.mcap`);
    const r = await killAndMeasure(path, 1200 + Math.random() * 1300);
    t.diagnostic(`trial ${i}: ${r.written} frames handed over, ${r.stored} in the file, loss ${r.lossMs} ms`);
    worst = Math.max(worst, r.lossMs);
    // The killed recording is findable: the only partial file of its destination, which never appeared.
    assert.deepEqual(await partialFilesOf(path), [r.partial]);
  }
  t.diagnostic(`worst loss over ${TRIALS} SIGKILLs: ${worst} ms (promise ${PROMISE_MS} ms)`);
  assert.ok(worst < PROMISE_MS, `a SIGKILL lost ${worst} ms of frames`);
});
