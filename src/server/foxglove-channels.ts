import type { Channel } from '@foxglove/ws-protocol';
import type { CompressedImage } from '../core/compressed-image.js';
import type { VideoPacket } from '../core/packet.js';
import { encodeCompressedImage, encodeCompressedVideo, SCHEMA_NAMES, schemaFor } from '../wire/foxglove-messages.js';

/** Foxglove schema name of video packets. */
export const COMPRESSED_VIDEO_SCHEMA = SCHEMA_NAMES.video;
/** Foxglove schema name of JPEG/PNG images. */
export const COMPRESSED_IMAGE_SCHEMA = SCHEMA_NAMES.image;

/** A channel as advertised to viewers (the server assigns the id). */
export type ChannelDefinition = Omit<Channel, 'id'>;

function protobufChannel(topic: string, kind: 'video' | 'image'): ChannelDefinition {
  const schema = schemaFor(kind);
  // The protocol carries a protobuf schema as a base64 FileDescriptorSet.
  return { topic, encoding: 'protobuf', schemaName: schema.name, schemaEncoding: 'protobuf', schema: Buffer.from(schema.data).toString('base64') };
}

/**
 * The channel of a video topic: `foxglove.CompressedVideo` messages in protobuf, the same
 * schema and encoding recordings use, so the Foxglove app decodes them without plugins.
 */
export function videoChannel(topic: string): ChannelDefinition {
  return protobufChannel(topic, 'video');
}

/** The channel of an image topic: `foxglove.CompressedImage` messages in protobuf. */
export function imageChannel(topic: string): ChannelDefinition {
  return protobufChannel(topic, 'image');
}

/** A channel of JSON messages described by `schema` (a JSON Schema object). */
export function jsonChannel(topic: string, schemaName: string, schema: object): ChannelDefinition {
  return { topic, encoding: 'json', schemaName, schemaEncoding: 'jsonschema', schema: JSON.stringify(schema) };
}

/**
 * One `foxglove.CompressedVideo` message carrying `packet` unchanged: Annex B access unit,
 * `format` the codec name, `timestamp` the packet's presentation time, and `frame_id` the
 * coordinate frame (Foxglove's meaning), which is `coordinateFrame` here.
 */
export function compressedVideoMessage(packet: VideoPacket, coordinateFrame: string): Uint8Array {
  return encodeCompressedVideo({ timestamp: packet.timestamp, frameId: coordinateFrame, data: packet.data, format: packet.codec });
}

/** One `foxglove.CompressedImage` message carrying the image file unchanged. */
export function compressedImageMessage(image: CompressedImage, coordinateFrame: string): Uint8Array {
  return encodeCompressedImage({ timestamp: image.timestamp, frameId: coordinateFrame, data: image.data, format: image.format });
}
