import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBusBench } from '../../src/bench/bus-bench.js';

test('the bus benchmark runs every part, bounded, and reports complete figures', async () => {
  const steps: string[] = [];
  const result = await runBusBench({
    sizes: [64, 2 * 2 ** 20],
    throughputSeconds: 0.1,
    maxMessages: 300,
    latencySeconds: 0.05,
    lateJoinTrials: 1,
    streamSeconds: 0.5,
    width: 160,
    height: 120,
    onProgress: (m) => steps.push(m),
  });
  assert.deepEqual(
    result.throughput.map((c) => [c.transport, c.size]),
    [
      ['memory', 64],
      ['memory', 2 * 2 ** 20],
      ['nats', 64],
      ['nats', 2 * 2 ** 20],
    ],
  );
  for (const c of result.throughput) {
    assert.ok(c.sent > 0 && c.sent <= 300, `${c.transport} ${c.size}: ${c.sent} sent`);
    assert.equal(c.loss, 0, `${c.transport} ${c.size} lost messages`);
    assert.ok(c.msgs_per_s > 0 && c.latency_samples > 0 && c.latency_p99_us >= c.latency_p50_us);
  }
  assert.deepEqual(result.late_join.map((c) => c.transport), ['memory', 'lcm', 'nats']);
  for (const c of result.late_join) assert.ok(Number.isFinite(c.late_join_ms) && c.catch_up_ms >= c.late_join_ms, `${c.transport}: no frame decoded`);
  assert.deepEqual(
    result.stream.map((c) => [c.transport, c.sent, c.lost]),
    [
      ['lcm', 15, 0],
      ['nats', 15, 0],
    ],
  );
  assert.ok(steps.length >= 9);
});
