import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  FragmentReassembler,
  formatFragmentHeader,
  parseFragmentHeader,
  splitIntoFragments,
  type FragmentHeader,
} from './fragment-reassembler.js';

function message(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 255;
  return out;
}

test('fragments reassemble into the exact message, in any order', () => {
  const payload = message(10_000);
  const fragments = splitIntoFragments(payload, 999, 'abc', 7);
  assert.equal(fragments.length, 11);
  const r = new FragmentReassembler();
  const shuffled = [...fragments].reverse();
  const results = shuffled.map((f) => r.accept('s', parseFragmentHeader(formatFragmentHeader(f.header))!, f.chunk.slice()));
  assert.deepEqual(results.slice(0, -1), Array(10).fill(undefined));
  assert.deepEqual(results.at(-1), payload);
  assert.equal(r.pendingBytes, 0);
  assert.deepEqual(r.stats, { completed: 1, incomplete: 0, malformed: 0 });
});

test('a message that stalls is abandoned after the timeout and counted', () => {
  const r = new FragmentReassembler({ timeoutMs: 100 });
  const [first] = splitIntoFragments(message(3000), 1000, 'abc', 1);
  r.accept('s', first.header, first.chunk, 0);
  assert.equal(r.pendingMessages, 1);
  r.expire(50);
  assert.equal(r.pendingMessages, 1);
  r.expire(150);
  assert.equal(r.pendingMessages, 0);
  assert.equal(r.pendingBytes, 0);
  assert.equal(r.stats.incomplete, 1);
});

test('incomplete messages never hold more than maxPendingBytes: the oldest are evicted', () => {
  const r = new FragmentReassembler({ maxPendingBytes: 10_000 });
  for (let id = 0; id < 20; id++) {
    const [first] = splitIntoFragments(message(4000), 1000, 'abc', id);
    r.accept('s', first.header, first.chunk, id);
    assert.ok(r.pendingBytes <= 10_000);
  }
  assert.equal(r.pendingMessages, 2);
  assert.equal(r.stats.incomplete, 18);
});

test('headers that do not describe a fragment are rejected', () => {
  for (const bad of ['', 'a 1 2 3 4', 'a b 0 1 0 1', 'a 1 0 1 0 -1', 'a 1 0 1 0 1e3', 'a 01 0 1 0 1', `${'x'.repeat(33)} 1 0 1 0 1`]) {
    assert.equal(parseFragmentHeader(bad), undefined, bad);
  }
  const r = new FragmentReassembler({ maxMessageBytes: 1000 });
  const h = { sender: 'a', messageId: 1, index: 0, count: 2, offset: 0, total: 100 };
  assert.equal(r.accept('s', { ...h, index: 2 }, message(10)), undefined);
  assert.equal(r.accept('s', { ...h, total: 5000 }, message(10)), undefined);
  assert.equal(r.accept('s', { ...h, offset: 95 }, message(10)), undefined);
  assert.equal(r.accept('s', { ...h, count: 1 }, message(10)), undefined);
  assert.equal(r.stats.malformed, 4);
  r.accept('s', h, message(50));
  assert.equal(r.accept('s', { ...h, index: 1, offset: 50, total: 101 }, message(51)), undefined);
  assert.equal(r.pendingMessages, 0);
});

test('property: 10,000+ mutated fragments never throw, memory stays bounded, and intact messages still arrive', () => {
  const maxPendingBytes = 256 * 1024;
  const r = new FragmentReassembler({ maxPendingBytes, maxMessageBytes: 128 * 1024, timeoutMs: 1000 });
  const field = fc.constantFrom<keyof FragmentHeader>('messageId', 'index', 'count', 'offset', 'total');
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), field, value: fc.oneof(fc.nat(50), fc.nat(300_000), fc.constant(Number.MAX_SAFE_INTEGER)) }),
    fc.record({ kind: fc.constantFrom('drop' as const, 'duplicate' as const) }),
    fc.record({ kind: fc.constant('resize' as const), size: fc.nat(4000) }),
    fc.record({ kind: fc.constant('text' as const), text: fc.string({ maxLength: 40 }) }),
  );
  let clock = 0;
  let fed = 0;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20_000 }),
      fc.integer({ min: 200, max: 3000 }),
      fc.array(fc.tuple(fc.nat(), mutation), { minLength: 1, maxLength: 8 }),
      (size, chunk, mutations) => {
        clock += 50;
        const fragments = splitIntoFragments(message(size, size), chunk, 'm', clock).map((f) => ({ header: f.header as FragmentHeader | undefined, chunk: f.chunk }));
        for (const [at, m] of mutations) {
          const i = at % fragments.length;
          const f = fragments[i];
          if (m.kind === 'set' && f.header) fragments[i] = { ...f, header: { ...f.header, [m.field]: m.value } };
          else if (m.kind === 'drop') fragments.splice(i, 1);
          else if (m.kind === 'duplicate') fragments.splice(i, 0, f);
          else if (m.kind === 'resize') fragments[i] = { ...f, chunk: new Uint8Array(m.size) };
          else if (m.kind === 'text') fragments[i] = { ...f, header: parseFragmentHeader(m.text) };
          if (fragments.length === 0) return;
        }
        for (const f of fragments) {
          fed++;
          if (f.header) r.accept('s', f.header, f.chunk, clock);
          assert.ok(r.pendingBytes <= maxPendingBytes);
        }
        const payload = message(2500, size);
        let out: Uint8Array | undefined;
        for (const f of splitIntoFragments(payload, 1000, 'good', clock)) out = r.accept('t', f.header, f.chunk, clock);
        assert.deepEqual(out, payload);
      },
    ),
    { numRuns: 2000 },
  );
  assert.ok(fed >= 10_000, `only ${fed} mutated fragments`);
  r.expire(clock + 2000);
  assert.equal(r.pendingBytes, 0);
});
