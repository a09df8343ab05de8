import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLcmBench } from '../../src/bench/lcm-bench.js';

// Speed is the benchmark's business; this only checks that a short run measures both sides.
test('the LCM benchmark measures framebus and liblcm side by side and reports the 1 KiB ratio', async () => {
  const progress: string[] = [];
  const result = await runLcmBench({
    sizes: [1024, 200_000],
    throughputSeconds: 0.1,
    repetitions: 1,
    latencySeconds: 0.05,
    onProgress: (m) => progress.push(m),
  });
  assert.deepEqual(result.cases.map((c) => c.size), [1024, 200_000]);
  for (const c of result.cases) {
    for (const side of [c.framebus, c.liblcm]) {
      assert.ok(side.sent > 0 && side.received > 0, JSON.stringify(side));
      assert.ok(side.received <= side.sent);
      assert.ok(side.msgs_per_s > 0 && side.latency_p50_us > 0 && side.latency_p99_us >= side.latency_p50_us);
      assert.ok(side.latency_samples >= 5);
    }
    assert.equal(c.ratio, Math.round((c.framebus.msgs_per_s / c.liblcm.msgs_per_s) * 1000) / 1000);
  }
  assert.equal(result.lcm_vs_liblcm, result.cases[0].ratio);
  assert.ok(result.receive_buffer_granted > 0);
  assert.equal(progress.length, 8);
  assert.deepEqual(JSON.parse(JSON.stringify(result)), result, 'the result is plain JSON');
  await assert.rejects(runLcmBench({ sizes: [8] }), { name: 'InvalidArgumentError' });
});
