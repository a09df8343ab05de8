import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VideoPacket } from '../core/packet.js';
import { VideoForwarder } from './video-forwarder.js';

function packet(sequence: number, key: boolean): VideoPacket {
  return { kind: 'video-packet', codec: 'h264', data: new Uint8Array([0, 0, 0, 1, key ? 0x65 : 0x41]), key, timestamp: BigInt(sequence), sequence, frameId: sequence, width: 2, height: 2 };
}

test('a lagging viewer gets no packets until its socket drains, then resumes at a key packet', () => {
  const sent: number[] = [];
  const sink = { hasRoom: true, send: (_c: number, t: bigint) => sent.push(Number(t)) };
  const forwarder = new VideoForwarder(sink, 1, 'cam');
  forwarder.push(packet(0, false), 0n);
  forwarder.push(packet(1, true), 1n);
  forwarder.push(packet(2, false), 2n);
  sink.hasRoom = false;
  forwarder.push(packet(3, false), 3n);
  sink.hasRoom = true;
  forwarder.push(packet(4, false), 4n);
  forwarder.push(packet(5, true), 5n);
  forwarder.push(packet(6, false), 6n);
  assert.deepEqual(sent, [1, 2, 5, 6], 'starts at a key packet; after lagging, skips to the next key packet');
  assert.equal(forwarder.dropped, 3);
});
