import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ServerClock } from '../../src/web/server-clock.js';

const ms = (n: number) => BigInt(Math.round(n * 1e6));

test('one-way samples alone read low by their delay; a round trip bounds the offset from above', () => {
  const trueOffset = ms(5000);
  const clock = new ServerClock();
  assert.equal(clock.offsetNs, 0n);
  // Time messages delayed 30 and 25 ms (a busy page): the best still reads 25 ms low.
  clock.heard(ms(1000) + trueOffset, ms(1030));
  clock.heard(ms(2000) + trueOffset, ms(2025));
  assert.equal(clock.offsetNs, trueOffset - ms(25));
  assert.equal(clock.uncertaintyNs, undefined);
  // A 4 ms round trip, the server reading its clock 1 ms in: within 1 ms of the truth.
  clock.roundTrip(ms(3000), ms(3001) + trueOffset, ms(3004));
  assert.ok(clock.offsetNs - trueOffset <= ms(1) && trueOffset - clock.offsetNs <= ms(1), `${clock.offsetNs - trueOffset} ns off`);
  assert.equal(clock.uncertaintyNs, ms(2));
});

test('the estimate stays within the bounds that every sample proves, whatever the delays', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -1e9, max: 1e9 }),
      fc.array(fc.record({ oneWay: fc.boolean(), there: fc.integer({ min: 0, max: 50_000_000 }), back: fc.integer({ min: 0, max: 50_000_000 }) }), { minLength: 1, maxLength: 20 }),
      (offset, samples) => {
        const clock = new ServerClock();
        let t = ms(1_000_000);
        // The truth minus the tightest bounds the samples prove: one-way ones read low by their delay
        // back; a round trip reads at most its delay there too high.
        let lowest = -Infinity;
        let highest = 0;
        let roundTrips = 0;
        for (const s of samples) {
          t += ms(100);
          const serverNs = t + BigInt(s.there) + BigInt(offset);
          const answered = t + BigInt(s.there) + BigInt(s.back);
          if (s.oneWay) clock.heard(serverNs, answered);
          else {
            clock.roundTrip(t, serverNs, answered);
            highest = roundTrips++ === 0 ? s.there : Math.min(highest, s.there);
          }
          lowest = Math.max(lowest, -s.back);
        }
        const error = Number(clock.offsetNs - BigInt(offset));
        assert.ok(error <= highest, `error ${error} ns above the smallest delay there (${highest})`);
        assert.ok(error >= lowest, `error ${error} ns below minus the smallest delay back (${lowest})`);
      },
    ),
  );
});

test('bounds that contradict (the page clock was stepped) start over from the newest sample', () => {
  const clock = new ServerClock();
  clock.roundTrip(ms(0), ms(1), ms(2)); // offset in [-1, 1] ms
  clock.roundTrip(ms(100), ms(101) + ms(500), ms(102)); // offset in [499, 501] ms: the page clock went back 500 ms
  assert.equal(clock.offsetNs, ms(500));
  clock.roundTrip(ms(200), ms(200), ms(200) - 1n); // answered before asked: ignored
  assert.equal(clock.offsetNs, ms(500));
});
