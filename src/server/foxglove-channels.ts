import { CompressedImage as CompressedImageSchema, CompressedVideo as CompressedVideoSchema } from '@foxglove/schemas/jsonschema.js';
import type { Channel } from '@foxglove/ws-protocol';
import type { CompressedImage } from '../core/compressed-image.js';
import type { VideoPacket } from '../core/packet.js';

/** Foxglove schema name of video packets. */
export const COMPRESSED_VIDEO_SCHEMA = 'foxglove.CompressedVideo';
/** Foxglove schema name of JPEG/PNG images. */
export const COMPRESSED_IMAGE_SCHEMA = 'foxglove.CompressedImage';

/** A channel as advertised to viewers (the server assigns the id). */
export type ChannelDefinition = Omit<Channel, 'id'>;

/**
 * The channel of a video topic: `foxglove.CompressedVideo` messages, JSON encoded with the
 * JSON Schema from `@foxglove/schemas`, so the Foxglove app decodes them without plugins.
 */
export function videoChannel(topic: string): ChannelDefinition {
  return {
    topic,
    encoding: 'json',
    schemaName: COMPRESSED_VIDEO_SCHEMA,
    schemaEncoding: 'jsonschema',
    schema: JSON.stringify(CompressedVideoSchema),
  };
}

/** The channel of an image topic: `foxglove.CompressedImage` messages, JSON encoded. */
export function imageChannel(topic: string): ChannelDefinition {
  return {
    topic,
    encoding: 'json',
    schemaName: COMPRESSED_IMAGE_SCHEMA,
    schemaEncoding: 'jsonschema',
    schema: JSON.stringify(CompressedImageSchema),
  };
}

/** A channel of JSON messages described by `schema` (a JSON Schema object). */
export function jsonChannel(topic: string, schemaName: string, schema: object): ChannelDefinition {
  return { topic, encoding: 'json', schemaName, schemaEncoding: 'jsonschema', schema: JSON.stringify(schema) };
}

/** Foxglove's `time` value of a timestamp in ns since the Unix epoch. */
export function foxgloveTime(ns: bigint): { sec: number; nsec: number } {
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

function base64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

/**
 * One `foxglove.CompressedVideo` message (UTF-8 JSON) carrying `packet` unchanged: Annex B
 * access unit, `format` the codec name, `timestamp` the packet's presentation time, and
 * `frame_id` the coordinate frame (Foxglove's meaning), which is `frameId` here.
 */
export function compressedVideoMessage(packet: VideoPacket, frameId: string): Uint8Array {
  return encodeJson({
    timestamp: foxgloveTime(packet.timestamp),
    frame_id: frameId,
    data: base64(packet.data),
    format: packet.codec,
  });
}

/** One `foxglove.CompressedImage` message (UTF-8 JSON) carrying the image file unchanged. */
export function compressedImageMessage(image: CompressedImage, frameId: string): Uint8Array {
  return encodeJson({
    timestamp: foxgloveTime(image.timestamp),
    frame_id: frameId,
    data: base64(image.data),
    format: image.format,
  });
}
