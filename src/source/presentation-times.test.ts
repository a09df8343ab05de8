import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PresentationTimes } from './presentation-times.js';

function run(times: (number | undefined)[], depth: number, fps = 25): { seconds: number[]; repaired: number; firstRepair?: number } {
  let firstRepair: number | undefined;
  const clock = new PresentationTimes<number>({ fps, depth, onFirstRepair: (i) => (firstRepair ??= i) });
  const out = times.flatMap((t, i) => clock.push(i, t));
  out.push(...clock.flush());
  assert.deepEqual(out.map((o) => o.item), times.map((_, i) => i), 'pictures keep their order');
  return { seconds: out.map((o) => o.seconds), repaired: clock.repaired, firstRepair };
}

test('decode-order times (pts = dts with B-frames) are sorted back onto presentation order', () => {
  // What a B-frame MP4 with pts = dts hands the decoder's pictures (in 1/25 s ticks).
  const ticks = [0, 1, 3, 4, 2, 6, 7, 5, 9, 10, 8, 11];
  assert.deepEqual(run(ticks.map((t) => t / 25), 4).seconds, ticks.map((_, i) => i / 25));
});

test('missing, repeated and backwards times are derived from the frame rate, with one report', () => {
  const r = run([0, 0.04, undefined, 0.12, 0.12, 0.16, 0.0, 0.2], 0);
  assert.deepEqual(r.seconds.map((s) => Math.round(s * 100) / 100), [0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.24, 0.28]);
  // The missing time is the first report; a repeat pushes the times after it a frame on.
  assert.equal(r.firstRepair, 2);
  assert.equal(r.repaired, 5);
});

test('property: times always rise; rising input (variable frame rate too) passes through unchanged', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(undefined)), { maxLength: 200 }), fc.integer({ min: 0, max: 6 }), (times, depth) => {
      const { seconds } = run(times, depth);
      for (let i = 1; i < seconds.length; i++) assert.ok(seconds[i] > seconds[i - 1], `${seconds[i]} after ${seconds[i - 1]}`);
    }),
  );
  fc.assert(
    fc.property(fc.array(fc.double({ min: 1e-4, max: 2, noNaN: true }), { maxLength: 200 }), fc.integer({ min: 0, max: 6 }), (gaps, depth) => {
      const rising = gaps.map((_, i) => gaps.slice(0, i + 1).reduce((a, b) => a + b, 0));
      const r = run(rising, depth);
      assert.deepEqual(r.seconds, rising);
      assert.equal(r.repaired, 0);
    }),
  );
});
