import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VideoPacket } from '../../core/packet.js';
import { GopQueue } from './gop-queue.js';

function packet(sequence: number, key: boolean, size = 10): VideoPacket {
  return { kind: 'video-packet', codec: 'h264', data: new Uint8Array(size), key, timestamp: 0n, sequence, frameId: sequence, width: 64, height: 64 };
}

function drain(q: GopQueue): number[] {
  const out: number[] = [];
  for (let p = q.shift(); p; p = q.shift()) out.push(p.sequence);
  return out;
}

test('when full, drops the rest of the GOP and resumes at the next key packet', () => {
  const q = new GopQueue({ maxPackets: 3 });
  const accepted = [0, 1, 2, 3, 4, 5].map((s) => q.push(packet(s, s === 0)));
  assert.deepEqual(accepted, [true, true, true, false, false, false]);
  assert.deepEqual(drain(q), [0, 1, 2]);
  assert.equal(q.push(packet(6, false)), false, 'room again, but 6 needs the dropped 3..5');
  assert.equal(q.push(packet(7, true)), true);
  assert.equal(q.push(packet(8, false)), true);
  assert.deepEqual(drain(q), [7, 8]);
  assert.equal(q.dropped, 4);
});

test('a key packet arriving while full replaces the stale packets queued before it', () => {
  const q = new GopQueue({ maxPackets: 2 });
  q.push(packet(0, true));
  q.push(packet(1, false));
  assert.equal(q.push(packet(2, true)), true);
  assert.deepEqual(drain(q), [2]);
  assert.equal(q.dropped, 2);
});

test('the byte bound holds too, and the delivered stream always stays decodable', () => {
  const q = new GopQueue({ maxPackets: 1000, maxBytes: 100 });
  const delivered: VideoPacket[] = [];
  for (let s = 0; s < 200; s++) {
    q.push(packet(s, s % 20 === 0, 30));
    assert.ok(q.bytes <= 100 && q.length <= 4);
    if (s % 3 === 0) {
      const p = q.shift();
      if (p) delivered.push(p);
    }
  }
  for (let i = 1; i < delivered.length; i++) {
    const p = delivered[i];
    assert.ok(p.key || p.sequence === delivered[i - 1].sequence + 1, `packet ${p.sequence} follows ${delivered[i - 1].sequence} without a key`);
  }
  assert.ok(q.dropped > 0);
});
