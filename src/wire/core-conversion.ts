/**
 * Conversions between core values and their wire messages. Wire → core validates, since the
 * message came from outside; core → wire checks only what the wire cannot carry.
 */

import type { CompressedImage } from '../core/compressed-image.js';
import { IMAGE_FORMATS } from '../core/compressed-image.js';
import { InvalidArgumentError, MalformedDataError } from '../core/errors.js';
import { VIDEO_CODECS, isVideoCodec, type VideoPacket } from '../core/packet.js';
import type { CompressedImageMessage, VideoPacketMessage } from './messages.js';

function safeInteger(value: bigint, what: string, min: number): number {
  if (value < BigInt(min) || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new MalformedDataError(`${what} ${value} is outside [${min}, ${Number.MAX_SAFE_INTEGER}].`);
  }
  return Number(value);
}

function positiveSize(value: number, what: string): number {
  if (value < 1) throw new MalformedDataError(`${what} ${value} must be a positive number of pixels.`);
  return value;
}

/**
 * The `VideoPacket` a received `video_packet_t` carries. `data` stays a view of the message.
 * @throws MalformedDataError for an unknown codec, a negative sequence, a frame id beyond
 *   the safe integer range, or a non-positive size.
 */
export function toVideoPacket(message: VideoPacketMessage): VideoPacket {
  if (!isVideoCodec(message.codec)) {
    throw new MalformedDataError(
      `video_packet_t codec ${JSON.stringify(message.codec)} is not one of ${VIDEO_CODECS.join(', ')}.`,
    );
  }
  return {
    kind: 'video-packet',
    codec: message.codec,
    data: message.data,
    key: message.key,
    timestamp: message.timestamp_ns,
    sequence: safeInteger(message.sequence, 'video_packet_t sequence', 0),
    frameId: safeInteger(message.frame_id, 'video_packet_t frame_id', Number.MIN_SAFE_INTEGER),
    width: positiveSize(message.width, 'video_packet_t width'),
    height: positiveSize(message.height, 'video_packet_t height'),
  };
}

/**
 * The `video_packet_t` that carries `packet` (no copy of `data`).
 * @throws InvalidArgumentError for an unknown codec or a non-integer sequence or frame id.
 */
export function fromVideoPacket(packet: VideoPacket): VideoPacketMessage {
  if (!isVideoCodec(packet.codec)) {
    throw new InvalidArgumentError(`Unknown codec ${JSON.stringify(packet.codec)}; expected one of ${VIDEO_CODECS.join(', ')}.`);
  }
  for (const [name, v] of [
    ['sequence', packet.sequence],
    ['frameId', packet.frameId],
  ] as const) {
    if (!Number.isSafeInteger(v)) throw new InvalidArgumentError(`VideoPacket ${name} must be an integer, got ${String(v)}.`);
  }
  return {
    codec: packet.codec,
    key: packet.key,
    sequence: BigInt(packet.sequence),
    timestamp_ns: packet.timestamp,
    frame_id: BigInt(packet.frameId),
    width: packet.width,
    height: packet.height,
    data: packet.data,
  };
}

/**
 * The `CompressedImage` a received `compressed_image_t` carries. `data` stays a view.
 * @throws MalformedDataError for an unknown format, a frame id beyond the safe integer
 *   range, or a non-positive size.
 */
export function toCompressedImage(message: CompressedImageMessage): CompressedImage {
  const format = IMAGE_FORMATS.find((f) => f === message.format);
  if (!format) {
    throw new MalformedDataError(
      `compressed_image_t format ${JSON.stringify(message.format)} is not one of ${IMAGE_FORMATS.join(', ')}.`,
    );
  }
  return {
    kind: 'compressed-image',
    format,
    data: message.data,
    timestamp: message.timestamp_ns,
    frameId: safeInteger(message.frame_id, 'compressed_image_t frame_id', Number.MIN_SAFE_INTEGER),
    width: positiveSize(message.width, 'compressed_image_t width'),
    height: positiveSize(message.height, 'compressed_image_t height'),
  };
}

/**
 * The `compressed_image_t` that carries `image` (no copy of `data`).
 * @throws InvalidArgumentError for a non-integer frame id.
 */
export function fromCompressedImage(image: CompressedImage): CompressedImageMessage {
  if (!Number.isSafeInteger(image.frameId)) {
    throw new InvalidArgumentError(`CompressedImage frameId must be an integer, got ${String(image.frameId)}.`);
  }
  return {
    timestamp_ns: image.timestamp,
    frame_id: BigInt(image.frameId),
    format: image.format,
    width: image.width,
    height: image.height,
    data: image.data,
  };
}
