import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../core/errors.js';
import type { VideoCodec, VideoPacket } from '../../core/packet.js';
import { PacketGuard, type GuardVerdict } from './packet-guard.js';
import type { PacketOrigin } from './packet-sequencer.js';

const S = 1_000_000_000n;
/** A receive clock reading in 2023, ns since the Unix epoch. */
const NOW = 1_700_000_000n * S;
const MS = 1_000_000n;

/** H.264 Annex B of `bytes` bytes (at least 16): SPS, PPS and IDR for a key packet, one slice otherwise. */
function accessUnit(key: boolean, bytes: number): Uint8Array {
  const head = key ? [0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65] : [0, 0, 0, 1, 0x41];
  const data = new Uint8Array(Math.max(16, bytes)).fill(0x55);
  data.set(head);
  return data;
}

function packet(sequence: number, timestamp: bigint, o: { key?: boolean; codec?: VideoCodec; width?: number; height?: number; bytes?: number } = {}): VideoPacket {
  const key = o.key ?? sequence % 30 === 0;
  return {
    kind: 'video-packet',
    codec: o.codec ?? 'h264',
    data: accessUnit(key, o.bytes ?? 100),
    key,
    timestamp,
    sequence,
    frameId: sequence,
    width: o.width ?? 320,
    height: o.height ?? 240,
  };
}

/** What a subscriber passes on: each packet that passes, and the packets a switch releases. */
class Run {
  readonly passed: VideoPacket[] = [];
  readonly verdicts: GuardVerdict[] = [];
  constructor(readonly guard = new PacketGuard()) {}
  offer(p: VideoPacket, receivedAt: bigint, origin: PacketOrigin = 'live'): GuardVerdict {
    const v = this.guard.offer(p, origin, receivedAt);
    this.verdicts.push(v);
    if (v === 'pass') this.passed.push(p);
    if (v === 'switch') this.passed.push(...this.guard.released);
    return v;
  }
}

/** 30 fps from `start`, received 5 ms after capture on a clock `offset` ns ahead of the publisher's. */
function stream(n: number, o: { first?: number; start?: bigint; offset?: bigint; width?: number } = {}): { p: VideoPacket; at: bigint }[] {
  const start = o.start ?? NOW;
  return Array.from({ length: n }, (_, i) => {
    const timestamp = start + BigInt(i) * 33n * MS;
    return { p: packet((o.first ?? 0) + i, timestamp, { key: i % 30 === 0, width: o.width }), at: timestamp + (o.offset ?? 0n) + 5n * MS };
  });
}

describe('packet guard', () => {
  test('one packet timestamped a billion seconds ahead is an outlier and does not move the clock', () => {
    const run = new Run();
    const real = stream(60);
    real.slice(0, 30).forEach(({ p, at }) => run.offer(p, at));
    const forged = { ...real[30].p, timestamp: real[30].p.timestamp + 1_000_000_000n * S };
    assert.equal(run.offer(forged, real[29].at + MS), 'hold');
    real.slice(30).forEach(({ p, at }) => assert.equal(run.offer(p, at), 'pass', `real packet ${p.sequence}`));
    assert.deepEqual(run.passed, real.map((r) => r.p));
    assert.equal(run.guard.outliers, 1);
    assert.equal(run.guard.segment, 0);
  });

  test('another size or codec, a sequence jump of a billion, or time going back while the sequence goes on are outliers', () => {
    const run = new Run();
    const real = stream(40);
    real.slice(0, 10).forEach(({ p, at }) => run.offer(p, at));
    const next = real[10];
    const forged = [
      { ...next.p, width: 640 },
      { ...next.p, codec: 'h265' as const },
      { ...next.p, sequence: next.p.sequence + 1_000_000_000 },
      { ...next.p, timestamp: next.p.timestamp - 60n * S },
      packet(0, next.p.timestamp, { key: true }),
    ];
    for (const f of forged) assert.equal(run.offer(f, next.at), 'hold');
    real.slice(10).forEach(({ p, at }) => assert.equal(run.offer(p, at), 'pass'));
    assert.equal(run.guard.outliers, forged.length);
  });

  test('a packet whose bytes are not Annex B or contradict its key flag is dropped at once, so the real packet behind it passes', () => {
    const run = new Run();
    const real = stream(20);
    real.slice(0, 10).forEach(({ p, at }) => run.offer(p, at));
    const next = real[10];
    for (const data of [new Uint8Array(100).fill(7), accessUnit(true, 100)]) assert.equal(run.offer({ ...next.p, data }, next.at), 'drop');
    real.slice(10).forEach(({ p, at }) => assert.equal(run.offer(p, at), 'pass'));
    assert.equal(run.guard.outliers, 2);
  });

  test('a late joiner’s cached GOP, older than the live packet that came first, passes without moving the clock', () => {
    const run = new Run();
    const real = stream(40);
    const at = real[35].at;
    assert.equal(run.offer(real[35].p, at), 'pass');
    for (const { p } of real.slice(30, 36)) assert.equal(run.offer(p, at + MS, 'cache'), 'pass');
    assert.equal(run.offer(real[36].p, real[36].at), 'pass');
    assert.equal(run.guard.outliers, 0);
  });

  test('a 10 s cached GOP that arrives before any live packet starts the stream after three packets, all passed in order', () => {
    const run = new Run();
    const gop = stream(300);
    const at = gop[299].at;
    const verdicts = gop.map(({ p }) => run.offer(p, at, 'cache'));
    assert.deepEqual(verdicts.slice(0, 4), ['hold', 'hold', 'switch', 'pass']);
    const live = stream(301)[300];
    assert.equal(run.offer(live.p, live.at), 'pass');
    assert.deepEqual(run.passed, [...gop.map((g) => g.p), live.p]);
    assert.equal(run.guard.outliers, 0);
  });

  test('a publisher restarted with a new clock is a new segment once three of its packets agree; none of them is lost', () => {
    const run = new Run();
    const before = stream(50);
    before.forEach(({ p, at }) => run.offer(p, at));
    // Simulated time from zero, received right after the old stream stopped.
    const after = stream(40, { start: 0n, offset: before[49].at + 100n * MS });
    const verdicts = after.map(({ p, at }) => run.offer(p, at));
    assert.deepEqual(verdicts.slice(0, 3), ['hold', 'hold', 'switch']);
    assert.ok(verdicts.slice(3).every((v) => v === 'pass'));
    assert.deepEqual(run.passed, [...before, ...after].map((r) => r.p));
    assert.equal(run.guard.segment, 1);
    assert.equal(run.guard.outliers, 0);
  });

  test('a restart on the same clock (sequence from 0) and one a few seconds behind are new segments too', () => {
    for (const shift of [2n * S, -5n * S]) {
      const run = new Run();
      const before = stream(50);
      before.forEach(({ p, at }) => run.offer(p, at));
      const resume = before[49].p.timestamp + shift;
      const after = stream(10, { start: resume, offset: before[49].at + 50n * MS - resume });
      after.forEach(({ p, at }) => run.offer(p, at));
      assert.deepEqual(run.passed, [...before, ...after].map((r) => r.p), `restart ${shift} ns from the old clock`);
      assert.equal(run.guard.segment, 1);
    }
  });

  test('packets of another clock interleaved with the live stream never take it over', () => {
    const run = new Run();
    const real = stream(90);
    const other = stream(90, { start: NOW + 3600n * S, first: 5000 });
    real.forEach(({ p, at }, i) => {
      assert.equal(run.offer(p, at), 'pass');
      assert.equal(run.offer(other[i].p, at + MS), 'hold');
    });
    assert.equal(run.guard.segment, 0);
    run.guard.discardHeld();
    assert.equal(run.guard.outliers, 90);
  });

  test('a first packet far from the receive clock (a forged one, or a replay) waits for confirmation', () => {
    const run = new Run();
    const forged = packet(7, NOW + 1_000_000_000n * S, { key: true });
    assert.equal(run.offer(forged, NOW), 'hold');
    const real = stream(30);
    const verdicts = real.map(({ p, at }) => run.offer(p, at));
    // Near the receive clock: trusted at once, and the forged packet is dropped.
    assert.equal(verdicts[0], 'pass');
    assert.deepEqual(run.passed, real.map((r) => r.p));
    assert.equal(run.guard.outliers, 1);

    const replay = new Run();
    const old = stream(30, { start: NOW - 86_400n * 365n * S, offset: 86_400n * 365n * S });
    assert.deepEqual(old.map(({ p, at }) => replay.offer(p, at)).slice(0, 4), ['hold', 'hold', 'switch', 'pass']);
    assert.deepEqual(replay.passed, old.map((r) => r.p));
    assert.equal(replay.guard.segment, 0, 'a first clock is not a new segment');
  });

  test('held packets stay within the byte bound', () => {
    const guard = new PacketGuard({ maxHeldBytes: 1000 });
    guard.offer(packet(0, NOW, { key: true }), 'live', NOW);
    for (let i = 0; i < 50; i++) guard.offer(packet(10_000 + i * 7, NOW + BigInt(i) * 1000n * S, { bytes: 300 }), 'live', NOW + BigInt(i) * MS);
    assert.ok(guard.held <= 3, `${guard.held} packets held`);
    guard.discardHeld();
    assert.equal(guard.outliers, 50);
  });

  test('bad options are refused with the option named', () => {
    assert.throws(() => new PacketGuard({ toleranceSeconds: 0 }), InvalidArgumentError);
    assert.throws(() => new PacketGuard({ confirmPackets: 1.5 }), /confirmPackets must be a positive whole number/);
    assert.throws(() => new PacketGuard({ maxHeldBytes: Number.NaN }), /maxHeldBytes/);
  });
});

/** A real stream with losses, pauses, jitter and a publisher clock `offset` from the receiver's. */
const realStream = fc
  .record({
    n: fc.integer({ min: 4, max: 120 }),
    offset: fc.oneof(fc.bigInt({ min: -1500n * MS, max: 1500n * MS }), fc.bigInt({ min: -NOW + S, max: NOW - S })),
    steps: fc.array(
      fc.record({
        interval: fc.integer({ min: 10, max: 200 }),
        pause: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 100_000 }) }),
        lost: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }) }),
        jitter: fc.integer({ min: 0, max: 50 }),
      }),
      { minLength: 120, maxLength: 120 },
    ),
  })
  .map(({ n, offset, steps }) => {
    const out: { p: VideoPacket; at: bigint }[] = [];
    let t = NOW - offset;
    let seq = 0;
    let at = 0n;
    for (let i = 0; i < n; i++) {
      const s = steps[i];
      if (i > 0) {
        t += BigInt(s.interval + s.pause) * MS;
        seq += 1 + s.lost;
      }
      // Arrival keeps its order; it lags capture by up to 50 ms.
      at = [at, t + offset + BigInt(s.jitter) * MS].reduce((a, b) => (a > b ? a : b));
      out.push({ p: packet(seq, t, { key: i === 0 || seq % 30 === 0 }), at });
    }
    return out;
  });

/** A packet far from the stream at `last`: each kind contradicts it in one way. */
const outlier = fc.oneof(
  fc.record({ kind: fc.constant('future' as const), by: fc.bigInt({ min: 3n * S, max: 10n ** 9n * S }) }),
  fc.record({ kind: fc.constant('past' as const), by: fc.bigInt({ min: 1n, max: 10n ** 9n * S }) }),
  fc.record({ kind: fc.constant('jump' as const), by: fc.bigInt({ min: 10n ** 6n, max: 2n ** 40n }) }),
  fc.record({ kind: fc.constant('size' as const), by: fc.constantFrom(1n, 2n) }),
  fc.record({ kind: fc.constant('restart' as const), by: fc.bigInt({ min: 0n, max: 10n }) }),
);

function forge(kind: { kind: string; by: bigint }, last: VideoPacket): VideoPacket {
  const next = { ...last, sequence: last.sequence + 1, timestamp: last.timestamp + 33n * MS, key: false, data: accessUnit(false, 100) };
  switch (kind.kind) {
    case 'future':
      return { ...next, timestamp: last.timestamp + 100_000n * S + kind.by };
    case 'past':
      return { ...next, timestamp: last.timestamp - kind.by };
    case 'jump':
      return { ...next, sequence: last.sequence + Number(kind.by) };
    case 'size':
      // A one-slice H.264 unit reads as a (non-key) parameter set in H.265: a self-consistent packet of another codec.
      return kind.by === 1n ? { ...next, width: 64 } : { ...next, codec: 'h265' };
    default:
      return { ...next, sequence: Math.max(0, last.sequence - Number(kind.by)), key: true, data: accessUnit(true, 100) };
  }
}

describe('packet guard properties', () => {
  test('property: with up to two outliers between real packets, every real packet passes in order and every outlier is counted', () => {
    fc.assert(
      fc.property(realStream, fc.array(fc.array(outlier, { maxLength: 2 }), { minLength: 120, maxLength: 120 }), (real, injected) => {
        const run = new Run();
        let forged = 0;
        real.forEach(({ p, at }, i) => {
          if (i > 0) {
            const at = real[i - 1].at + MS;
            for (const o of injected[i]) {
              const f = forge(o, real[i - 1].p);
              // Near the receive clock, a packet may start a stream that has none yet (a documented limit).
              if (f.timestamp - at <= 3n * S && at - f.timestamp <= 3n * S) continue;
              assert.equal(run.offer(f, at), 'hold');
              forged++;
            }
          }
          run.offer(p, at);
        });
        assert.deepEqual(run.passed, real.map((r) => r.p));
        assert.equal(run.guard.segment, 0);
        run.guard.discardHeld();
        assert.equal(run.guard.outliers, forged);
      }),
      { numRuns: 300 },
    );
  });

  test('property: whatever arrives, nothing is lost or duplicated, held bytes stay bounded, and within a segment what moves forward rises in time', () => {
    const arrival = fc.record({
      seq: fc.integer({ min: 0, max: 40 }),
      t: fc.integer({ min: -20, max: 60 }),
      wait: fc.integer({ min: 0, max: 3000 }),
      wide: fc.boolean(),
      key: fc.boolean(),
      bytes: fc.integer({ min: 0, max: 400 }),
      cache: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(arrival, { maxLength: 300 }), fc.integer({ min: 1, max: 5 }), (arrivals, confirmPackets) => {
        const guard = new PacketGuard({ confirmPackets, maxHeldBytes: 1000, toleranceSeconds: 1 });
        let at = NOW;
        let out = 0;
        let segment = 0;
        let top: { p: VideoPacket; at: bigint } | undefined;
        const arrivedAt = new Map<VideoPacket, bigint>();
        const check = (p: VideoPacket) => {
          out++;
          if (guard.segment !== segment) {
            segment = guard.segment;
            top = undefined;
          }
          if (top) {
            assert.deepEqual([p.codec, p.width, p.height], [top.p.codec, top.p.width, top.p.height]);
            if (p.sequence > top.p.sequence) {
              assert.ok(p.timestamp > top.p.timestamp, `sequence ${p.sequence} after ${top.p.sequence} goes back in time`);
              assert.ok(p.timestamp - top.p.timestamp <= arrivedAt.get(p)! - top.at + S, 'it runs ahead of the receive clock');
            } else {
              assert.ok(p.timestamp <= top.p.timestamp, 'an older packet is newer in time');
            }
          }
          if (!top || p.sequence > top.p.sequence) top = { p, at: arrivedAt.get(p)! };
        };
        for (const a of arrivals) {
          at += BigInt(a.wait) * MS;
          const p = packet(a.seq, NOW + BigInt(a.t) * 100n * MS, { key: a.key, width: a.wide ? 640 : 320, bytes: a.bytes });
          arrivedAt.set(p, at);
          const v = guard.offer(p, a.cache ? 'cache' : 'live', at);
          if (v === 'pass') check(p);
          if (v === 'switch') guard.released.forEach(check);
          assert.ok(guard.held <= 4 * (confirmPackets - 1) && guard.heldBytes <= 1000);
        }
        guard.discardHeld();
        assert.equal(out + guard.outliers, arrivals.length);
      }),
      { numRuns: 500 },
    );
  });
});
