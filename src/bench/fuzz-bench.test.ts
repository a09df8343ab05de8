import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFuzzBench } from './fuzz-bench.js';

test('2,000 mutated recordings through info, framesAt, export and recover: no crash, hang, wrong frame or recover shortfall', { timeout: 900_000 }, async (t) => {
  const result = await runFuzzBench({ cases: 2000, seed: 15 });
  const { failures, ...counts } = result;
  t.diagnostic(JSON.stringify(counts));
  for (const f of failures) t.diagnostic(`case ${f.case}: ${f.kind} in ${f.step ?? 'the case'}: ${f.detail}; mutations ${JSON.stringify(f.mutations)}`);
  assert.equal(result.cases, 2000);
  assert.ok(result.chunks >= 5, `the recording has ${result.chunks} chunks`);
  // Recover reads more than the readers on some damage (a broken header, a damaged first chunk): the cases reach it.
  assert.ok(result.recover_gains > 0);
  assert.deepEqual(
    { crashes: result.crashes, hangs: result.hangs, wrong_frames: result.wrong_frames, recover_shortfalls: result.recover_shortfalls },
    { crashes: 0, hangs: 0, wrong_frames: 0, recover_shortfalls: 0 },
    `failing cases (seed ${result.seed}): ${failures.map((f) => `${f.case} ${f.kind}/${f.step}`).join(', ')}`,
  );
});
