import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VideoPacket } from '../../core/packet.js';
import { GopCache } from './gop-cache.js';

function packet(sequence: number, key: boolean, size = 10): VideoPacket {
  return { kind: 'video-packet', codec: 'h264', data: new Uint8Array(size), key, timestamp: 0n, sequence, frameId: sequence, width: 64, height: 64 };
}

test('holds the last key packet and the deltas after it', () => {
  const cache = new GopCache();
  assert.deepEqual(cache.packets(), []);
  cache.push(packet(0, false));
  assert.deepEqual(cache.packets(), [], 'a delta without its key packet is of no use to a late joiner');
  for (let s = 1; s <= 5; s++) cache.push(packet(s, s === 1 || s === 4));
  assert.deepEqual(cache.packets().map((p) => p.sequence), [4, 5]);
  assert.equal(cache.bytes, 20);
});

test('a hole in the sequence or a GOP beyond the bounds empties the cache until the next key packet', () => {
  const cache = new GopCache({ maxPackets: 3 });
  cache.push(packet(0, true));
  cache.push(packet(2, false));
  assert.deepEqual(cache.packets(), []);
  cache.push(packet(3, false));
  assert.deepEqual(cache.packets(), []);
  for (let s = 4; s <= 7; s++) cache.push(packet(s, s === 4));
  assert.deepEqual(cache.packets(), [], 'four packets exceed maxPackets 3');
  cache.push(packet(8, true));
  assert.deepEqual(cache.packets().map((p) => p.sequence), [8]);
  const small = new GopCache({ maxBytes: 25 });
  for (let s = 0; s < 3; s++) small.push(packet(s, s === 0));
  assert.equal(small.bytes, 0);
});
