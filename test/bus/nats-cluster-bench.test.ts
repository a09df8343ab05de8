import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runNatsClusterBench } from '../../src/bench/nats-cluster-bench.js';

test('the NATS cluster benchmark runs bounded and reports failover and many-camera figures', async () => {
  const steps: string[] = [];
  const r = await runNatsClusterBench({ failoverTrials: 1, cameras: 8, seconds: 1, onProgress: (m) => steps.push(m) });
  assert.equal(r.failover.length, 1);
  assert.ok(Number.isFinite(r.failover_gap_ms) && r.failover_gap_ms > 0, `gap ${r.failover_gap_ms} ms`);
  assert.equal(r.corrupt_frames, 0);
  const m = r.many_cameras;
  assert.deepEqual([m.cameras, m.robots, m.width, m.height, m.fps, m.sent], [8, 2, 320, 240, 15, 8 * 15]);
  assert.equal(m.lost, 0, `${m.recorded} of ${m.sent} packets recorded`);
  assert.ok(m.packets_per_s > 0 && m.mbit_per_s > 0 && m.cpu_percent_per_stream > 0);
  assert.deepEqual(steps, ['failover trial 1 of 1', 'many cameras: 8 topics on 2 robots, 1 s']);
});
