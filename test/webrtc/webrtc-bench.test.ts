import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runWebRtcBench } from '../../src/bench/webrtc-bench.js';

test('bench webrtc measures node-datachannel and werift side by side and reports the goal fields (short run)', async () => {
  const r = await runWebRtcBench({ sizes: [256, 65536, 600_000], seconds: 0.3, weriftSizes: [65536] });
  const ndc = r.libraries['node-datachannel'];
  const werift = r.libraries.werift;
  assert.ok(Array.isArray(ndc) && Array.isArray(werift), 'both libraries measured');
  assert.deepEqual(ndc.map((c) => c.size), [256, 65536, 600_000]);
  for (const c of ndc) {
    assert.equal(c.loss, 0, `node-datachannel lost messages at ${c.size} B`);
    assert.ok(c.intact && c.sent > 0 && c.msgs_per_s > 0 && c.latency_p50_ms > 0 && c.latency_p99_ms >= c.latency_p50_ms, JSON.stringify(c));
  }
  assert.equal(r.dc_max_message_bytes, 600_000, 'the fragmented message was delivered intact');
  assert.equal(r.dc_msgs_per_s_256, ndc[0].msgs_per_s);
  assert.equal(r.dc_mbit_per_s_64k, ndc[1].mbit_per_s);
  assert.deepEqual(werift.map((c) => c.size), [65536]);
  assert.ok(werift[0].sent > 0 && r.werift_mbit_per_s_64k === werift[0].mbit_per_s);
});
