import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompressedImage } from '../core/compressed-image.js';
import type { VideoPacket } from '../core/packet.js';
import { fromCompressedImage, fromVideoPacket, toCompressedImage, toVideoPacket } from './core-conversion.js';
import { compressedImageMessageType, videoPacketMessageType } from './messages.js';

const packet: VideoPacket = {
  kind: 'video-packet',
  codec: 'h265',
  data: Uint8Array.of(0, 0, 1, 0x40, 1),
  key: true,
  timestamp: 1_700_000_000_000_000_001n,
  sequence: 41,
  frameId: 99,
  width: 640,
  height: 480,
};

test('a VideoPacket survives the wire unchanged', () => {
  const bytes = videoPacketMessageType.encode(fromVideoPacket(packet));
  assert.deepEqual(toVideoPacket(videoPacketMessageType.decode(bytes)), packet);
});

test('a received video_packet_t with an unknown codec or impossible numbers is MalformedDataError', () => {
  const message = fromVideoPacket(packet);
  const cases: [object, RegExp][] = [
    [{ codec: 'vp8' }, /codec "vp8" is not one of h264, h265, av1/],
    [{ sequence: -1n }, /sequence -1 is outside/],
    [{ sequence: 1n << 60n }, /sequence 1152921504606846976 is outside/],
    [{ frame_id: -(1n << 60n) }, /frame_id -1152921504606846976 is outside/],
    [{ width: 0 }, /width 0 must be a positive number of pixels/],
    [{ height: -5 }, /height -5 must be a positive/],
  ];
  for (const [change, message_] of cases) {
    assert.throws(() => toVideoPacket({ ...message, ...change }), { name: 'MalformedDataError', message: message_ });
  }
});

test('fromVideoPacket refuses what the wire cannot say', () => {
  assert.throws(() => fromVideoPacket({ ...packet, codec: 'mjpeg' as 'h264' }), { name: 'InvalidArgumentError', message: /Unknown codec "mjpeg"/ });
  assert.throws(() => fromVideoPacket({ ...packet, sequence: 1.5 }), { name: 'InvalidArgumentError', message: /sequence must be an integer/ });
});

test('a CompressedImage survives the wire unchanged; an unknown format is MalformedDataError', () => {
  const image: CompressedImage = {
    kind: 'compressed-image',
    format: 'jpeg',
    data: Uint8Array.of(0xff, 0xd8, 0xff, 0xd9),
    timestamp: 5n,
    frameId: -3,
    width: 2,
    height: 2,
  };
  const wire = compressedImageMessageType.decode(compressedImageMessageType.encode(fromCompressedImage(image)));
  assert.deepEqual(toCompressedImage(wire), image);
  assert.throws(() => toCompressedImage({ ...wire, format: 'gif' }), { name: 'MalformedDataError', message: /format "gif" is not one of jpeg, png/ });
});
