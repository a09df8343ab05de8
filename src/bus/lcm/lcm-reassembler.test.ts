import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { patternData } from '../../../test/lcm/liblcm.js';
import { encodeLcmChannel, lcmDatagrams } from './lcm-datagram.js';
import { LcmReassembler, type LcmDropKind, type LcmReassemblerOptions } from './lcm-reassembler.js';

const join = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

function fragmentsOf(sequence: number, channel: string, payload: Uint8Array): Uint8Array[] {
  return lcmDatagrams(sequence, encodeLcmChannel(channel), payload).map(join);
}

function reassembler(options: LcmReassemblerOptions = {}): { r: LcmReassembler; drops: Record<LcmDropKind, string[]> } {
  const drops: Record<LcmDropKind, string[]> = { malformed: [], incomplete: [] };
  return { r: new LcmReassembler(options, (kind, reason) => drops[kind].push(reason)), drops };
}

test('fragments arriving in any order complete the exact message once', () => {
  const payload = patternData(1, 300_000);
  const fragments = fragmentsOf(9, 'CAM', payload);
  const { r, drops } = reassembler();
  const order = [3, 0, 4, 2, 1];
  const results = order.map((i) => r.accept('10.0.0.1:5000', fragments[i], 0));
  assert.deepEqual(results.slice(0, 4), [undefined, undefined, undefined, undefined]);
  assert.equal(results[4]?.channel, 'CAM');
  assert.equal(results[4]?.sequence, 9);
  assert.ok(Buffer.from(results[4]!.payload).equals(payload));
  assert.equal(r.bufferedBytes, 0);
  assert.deepEqual(drops, { malformed: [], incomplete: [] });
});

test('interleaved messages of two senders with the same sequence do not mix', () => {
  const a = fragmentsOf(1, 'A', patternData(1, 100_000));
  const b = fragmentsOf(1, 'B', patternData(2, 100_000));
  const { r } = reassembler();
  assert.equal(r.accept('h:1', a[0], 0), undefined);
  assert.equal(r.accept('h:2', b[0], 0), undefined);
  assert.ok(Buffer.from(r.accept('h:2', b[1], 0)!.payload).equals(patternData(2, 100_000)));
  assert.ok(Buffer.from(r.accept('h:1', a[1], 0)!.payload).equals(patternData(1, 100_000)));
});

test('a message that never completes is dropped as incomplete after the stale timeout', () => {
  const fragments = fragmentsOf(1, 'CAM', patternData(1, 200_000));
  const { r, drops } = reassembler({ staleAfterMs: 1000 });
  r.accept('s:1', fragments[0], 0);
  r.accept('s:1', fragments[1], 500);
  r.expire(1400);
  assert.equal(r.pendingMessages, 1);
  r.expire(1501);
  assert.equal(r.pendingMessages, 0);
  assert.equal(r.bufferedBytes, 0);
  assert.deepEqual(drops.incomplete, ['Dropped LCM message 1 from s:1 (2 of 4 fragments): no fragment for 1001 ms.']);
});

test('a sender that moves on frees its oldest unfinished messages', () => {
  const { r, drops } = reassembler({ maxMessagesPerSender: 2 });
  for (let seq = 0; seq < 5; seq++) r.accept('s:1', fragmentsOf(seq, 'CAM', patternData(seq, 100_000))[0], seq);
  assert.equal(r.pendingMessages, 2);
  assert.equal(drops.incomplete.length, 3);
  assert.match(drops.incomplete[0], /message 0 from s:1 \(1 of 2 fragments\): s:1 started newer messages/);
});

test('the total byte cap evicts the least recently active message', () => {
  const { r, drops } = reassembler({ maxBufferedBytes: 150_000 });
  const first = fragmentsOf(1, 'A', patternData(1, 140_000));
  const second = fragmentsOf(1, 'B', patternData(2, 140_000));
  r.accept('a:1', first[0], 0);
  r.accept('a:1', first[1], 1);
  assert.ok(r.bufferedBytes > 130_000);
  // B's claim fits the cap on its own; A must go to make room.
  assert.equal(r.accept('b:1', second[0], 2), undefined);
  assert.ok(r.bufferedBytes <= 150_000);
  assert.match(drops.incomplete[0], /message 1 from a:1 \(2 of 3 fragments\): the 150000-byte reassembly buffer is full/);
  r.accept('b:1', second[1], 3);
  assert.ok(Buffer.from(r.accept('b:1', second[2], 4)!.payload).equals(patternData(2, 140_000)));
  // A message larger than the cap is refused at its first fragment.
  r.accept('a:1', fragmentsOf(2, 'A', patternData(1, 300_000))[0], 5);
  assert.match(drops.malformed[0], /claims a 300000-byte message; the limit is 150000/);
});

test('overlapping, duplicated and inconsistent fragments are malformed', () => {
  const fragments = fragmentsOf(4, 'CAM', patternData(1, 200_000));
  const { r, drops } = reassembler();
  r.accept('s:1', fragments[0], 0);
  r.accept('s:1', fragments[0], 0);
  assert.match(drops.malformed[0], /fragment 0 of message 4 from s:1 arrived twice/);
  const wrongCount = new Uint8Array(fragments[1]);
  new DataView(wrongCount.buffer).setUint16(18, 9);
  r.accept('s:1', wrongCount, 0);
  assert.match(drops.malformed[1], /disagrees with earlier fragments on size or count/);
  // Fragment 2 relabelled as fragment 1: both cover the same bytes.
  const overlap = new Uint8Array(fragments[2]);
  new DataView(overlap.buffer).setUint16(16, 1);
  r.accept('s:1', overlap, 0);
  r.accept('s:1', fragments[2], 0);
  assert.equal(r.accept('s:1', fragments[3], 0), undefined);
  assert.match(drops.malformed[2], /fragments leave a gap or overlap at byte/);
  assert.equal(r.pendingMessages, 0);
});

/** One datagram of the property test: real fragments, mutated fragments, or noise. */
const datagram = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('real' as const),
      sender: fc.integer({ min: 0, max: 3 }),
      sequence: fc.integer({ min: 0, max: 5 }),
      size: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 65_000, max: 400_000 })),
      fragment: fc.nat(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('mutated' as const),
      sender: fc.integer({ min: 0, max: 3 }),
      sequence: fc.integer({ min: 0, max: 5 }),
      size: fc.integer({ min: 65_000, max: 400_000 }),
      fragment: fc.nat(),
      at: fc.integer({ min: 0, max: 40 }),
      value: fc.integer({ min: 0, max: 255 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('noise' as const), sender: fc.integer({ min: 0, max: 3 }), bytes: fc.uint8Array({ maxLength: 64 }) }),
  },
);

const fragmentCache = new Map<string, Uint8Array[]>();
function cachedFragments(sequence: number, size: number): Uint8Array[] {
  const key = `${sequence}/${size}`;
  let f = fragmentCache.get(key);
  if (!f) {
    f = fragmentsOf(sequence, 'PROP', patternData(sequence, size));
    if (fragmentCache.size > 200) fragmentCache.clear();
    fragmentCache.set(key, f);
  }
  return f;
}

test('10,000+ random and mutated datagrams: never throws, stays under its caps, counts every drop', () => {
  const options = { maxBufferedBytes: 300_000, maxMessagesPerSender: 2, staleAfterMs: 50 };
  let total = 0;
  fc.assert(
    fc.property(fc.array(fc.tuple(datagram, fc.integer({ min: 0, max: 30 })), { minLength: 100, maxLength: 130 }), (steps) => {
      const { r, drops } = reassembler(options);
      let now = 0;
      for (const [d, dt] of steps) {
        now += dt;
        total++;
        let bytes: Uint8Array;
        if (d.kind === 'noise') {
          bytes = d.bytes;
        } else {
          const fragments = cachedFragments(d.sequence, d.size);
          bytes = fragments[d.fragment % fragments.length];
          if (d.kind === 'mutated') {
            bytes = new Uint8Array(bytes);
            bytes[d.at % bytes.length] = d.value;
          }
        }
        const before = drops.malformed.length;
        const noise = d.kind === 'noise' && (bytes.length < 8 || ![0x32, 0x33].includes(bytes[3]) || bytes[0] !== 0x4c);
        const message = r.accept(`10.0.0.${d.sender}:7667`, bytes, now);
        if (noise) assert.equal(drops.malformed.length, before + 1, 'noise is counted as malformed');
        if (message && d.kind === 'real') {
          const expected = patternData(message.sequence, message.payload.byteLength);
          if (message.channel === 'PROP') assert.ok(Buffer.from(message.payload).equals(expected));
        }
        assert.ok(r.bufferedBytes <= options.maxBufferedBytes, `buffered ${r.bufferedBytes}`);
        assert.ok(r.pendingMessages <= 4 * options.maxMessagesPerSender);
      }
      r.expire(now + 1000);
      assert.equal(r.pendingMessages, 0);
      assert.equal(r.bufferedBytes, 0);
    }),
    { numRuns: 100 },
  );
  assert.ok(total >= 10_000, `${total} datagrams`);
});
