import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VideoPacket } from '../../core/packet.js';
import { PacketSequencer, type PacketOrigin } from './packet-sequencer.js';

function packet(sequence: number, key = false): VideoPacket {
  return { kind: 'video-packet', codec: 'h264', data: new Uint8Array(1), key, timestamp: 0n, sequence, frameId: sequence, width: 64, height: 64 };
}

function run(s: PacketSequencer, steps: [number, boolean, PacketOrigin][]): string[] {
  return steps.map(([seq, key, origin]) => s.offer(packet(seq, key), origin));
}

test('a late joiner skips live deltas, starts at the cached key packet, and drops what it gets twice', () => {
  const s = new PacketSequencer();
  const cached = (): [number, boolean, PacketOrigin][] => Array.from({ length: 13 }, (_, i) => [30 + i, i === 0, 'cache']);
  const verdicts = run(s, [[41, false, 'live'], [42, false, 'live'], ...cached(), [43, false, 'live'], ...cached(), [44, false, 'live']]);
  assert.deepEqual(verdicts.slice(0, 2), ['skip', 'skip']);
  assert.deepEqual(verdicts.slice(2, 16), Array(14).fill('accept'), 'the cached GOP 30..42, then live 43');
  assert.deepEqual(verdicts.slice(16, 29), Array(13).fill('duplicate'), 'a second answer to a repeated request');
  assert.equal(verdicts[29], 'accept');
  assert.equal(s.lost, 0);
});

test('after a gap nothing passes until a key packet; the loss is counted', () => {
  const s = new PacketSequencer();
  const verdicts = run(s, [
    [0, true, 'live'],
    [1, false, 'live'],
    [4, false, 'live'],
    [5, false, 'live'],
    [7, false, 'live'],
    [8, true, 'live'],
    [9, false, 'live'],
  ]);
  assert.deepEqual(verdicts, ['accept', 'accept', 'skip', 'skip', 'skip', 'accept', 'accept']);
  assert.equal(s.lost, 3);
  assert.equal(s.gaps, 1);
});

test('a live key packet at or below the last sequence is a restarted publisher', () => {
  const s = new PacketSequencer();
  assert.deepEqual(run(s, [[10, true, 'live'], [11, false, 'live'], [5, false, 'live'], [0, true, 'live'], [1, false, 'live']]), [
    'accept',
    'accept',
    'duplicate',
    'accept',
    'accept',
  ]);
});
