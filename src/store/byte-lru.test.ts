import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../core/errors.js';
import { ByteLru } from './byte-lru.js';

describe('ByteLru', () => {
  test('evicts the least recently used first; a read counts as a use', () => {
    const lru = new ByteLru<string, number>(30);
    lru.set('a', 1, 10);
    lru.set('b', 2, 10);
    lru.set('c', 3, 10);
    assert.equal(lru.get('a'), 1);
    lru.set('d', 4, 10);
    assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => lru.has(k)), [true, false, true, true]);
    assert.equal(lru.bytes, 30);
  });

  test('an entry larger than the limit is not kept, and nothing is evicted for it', () => {
    const lru = new ByteLru<string, number>(30);
    lru.set('a', 1, 20);
    lru.set('huge', 2, 31);
    assert.equal(lru.has('huge'), false);
    assert.equal(lru.get('a'), 1);
    assert.equal(lru.bytes, 20);
  });

  test('replacing an entry counts only its new size; a limit must be a whole number ≥ 0', () => {
    const lru = new ByteLru<string, number>(30);
    lru.set('a', 1, 20);
    lru.set('a', 2, 5);
    assert.equal(lru.bytes, 5);
    assert.equal(lru.get('a'), 2);
    assert.throws(() => new ByteLru(-1), InvalidArgumentError);
    assert.throws(() => new ByteLru(1.5), /whole number of bytes/);
  });

  test('property: bytes held equal the sizes of the entries held and never exceed the limit', () => {
    fc.assert(
      fc.property(fc.nat(200), fc.array(fc.tuple(fc.nat(20), fc.nat(120), fc.boolean())), (limit, ops) => {
        const lru = new ByteLru<number, number>(limit);
        const sizes = new Map<number, number>();
        for (const [key, bytes, read] of ops) {
          if (read) lru.get(key);
          else {
            lru.set(key, key, bytes);
            sizes.set(key, bytes);
          }
          let held = 0;
          for (const [k, b] of sizes) if (lru.has(k)) held += b;
          assert.equal(lru.bytes, held);
          assert.ok(lru.bytes <= limit);
        }
      }),
      { seed: 10 },
    );
  });
});
