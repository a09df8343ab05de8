/**
 * framebus's network messages, one per `lcm/*.lcm` file (package `framebus`). Property names
 * are the LCM member names, as every `lcm-gen` language binding spells them; array length
 * members (`data_size`) are left out and derived from the arrays. Times are integer
 * nanoseconds since the Unix epoch; byte arrays decoded from the wire are views into the
 * received bytes.
 */

import type { LcmStruct } from './lcm-schema.js';
import { lcmMessageType, type LcmMessageType } from './lcm-struct-codec.js';

/** `framebus.video_packet_t`: one encoded access unit (see `VideoPacket` in core). */
export interface VideoPacketMessage {
  /** `'h264'`, `'h265'` or `'av1'`. */
  codec: string;
  /** True when the packet decodes on its own. */
  key: boolean;
  /** Position in the stream, 0-based and consecutive. */
  sequence: bigint;
  /** Presentation time, ns since the Unix epoch. */
  timestamp_ns: bigint;
  frame_id: bigint;
  /** Coded width in pixels. */
  width: number;
  /** Coded height in pixels. */
  height: number;
  /** Annex B (H.264/H.265) or low-overhead OBUs (AV1). */
  data: Uint8Array;
}

/** `framebus.compressed_image_t`: one JPEG or PNG picture. */
export interface CompressedImageMessage {
  /** Capture time, ns since the Unix epoch. */
  timestamp_ns: bigint;
  frame_id: bigint;
  /** `'jpeg'` or `'png'`. */
  format: string;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** The whole image file. */
  data: Uint8Array;
}

/** `framebus.raw_image_t`: raw pixels, planes back to back. */
export interface RawImageMessage {
  /** Capture time, ns since the Unix epoch. */
  timestamp_ns: bigint;
  frame_id: bigint;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Pixel layout, e.g. `'rgb24'`, `'bgr24'`, `'rgba'`, `'gray8'`, `'yuv420p'`, `'nv12'`. */
  encoding: string;
  /** Bytes from the start of one row of plane 0 to the start of the next. */
  step: number;
  data: Uint8Array;
}

/** Why a subscriber asks for a key packet. */
export const KEYFRAME_REQUEST_REASONS = ['late-join', 'gap', 'corrupt'] as const;
export type KeyframeRequestReason = (typeof KEYFRAME_REQUEST_REASONS)[number];

/** `framebus.keyframe_request_t`: a subscriber asks a video publisher for a key packet. */
export interface KeyframeRequestMessage {
  /** When the request was made, ns since the Unix epoch. */
  timestamp_ns: bigint;
  /** The video topic the request is for. */
  topic: string;
  /** A unique id of the requesting subscriber. */
  requester: string;
  /** One of {@link KEYFRAME_REQUEST_REASONS} (a string on the wire; check before trusting). */
  reason: string;
  /** The last sequence the requester decoded, `-1n` if none. */
  last_sequence: bigint;
}

/** `framebus.twist_t`: a velocity command for teleoperation, in the robot's body frame. */
export interface TwistMessage {
  /** When the command was issued, ns since the Unix epoch. */
  timestamp_ns: bigint;
  /** Linear velocity x, y, z in m/s (exactly 3 numbers). */
  linear: number[];
  /** Angular velocity about x, y, z in rad/s (exactly 3 numbers). */
  angular: number[];
}

const dataMembers = [
  { name: 'data_size', type: 'int32_t' },
  { name: 'data', type: 'byte', dimensions: [{ sizeMember: 'data_size' }] },
] as const;

/** The schema of `lcm/video_packet_t.lcm`. */
export const VIDEO_PACKET_STRUCT: LcmStruct = {
  package: 'framebus',
  name: 'video_packet_t',
  members: [
    { name: 'codec', type: 'string' },
    { name: 'key', type: 'boolean' },
    { name: 'sequence', type: 'int64_t' },
    { name: 'timestamp_ns', type: 'int64_t' },
    { name: 'frame_id', type: 'int64_t' },
    { name: 'width', type: 'int32_t' },
    { name: 'height', type: 'int32_t' },
    ...dataMembers,
  ],
};

/** The schema of `lcm/compressed_image_t.lcm`. */
export const COMPRESSED_IMAGE_STRUCT: LcmStruct = {
  package: 'framebus',
  name: 'compressed_image_t',
  members: [
    { name: 'timestamp_ns', type: 'int64_t' },
    { name: 'frame_id', type: 'int64_t' },
    { name: 'format', type: 'string' },
    { name: 'width', type: 'int32_t' },
    { name: 'height', type: 'int32_t' },
    ...dataMembers,
  ],
};

/** The schema of `lcm/raw_image_t.lcm`. */
export const RAW_IMAGE_STRUCT: LcmStruct = {
  package: 'framebus',
  name: 'raw_image_t',
  members: [
    { name: 'timestamp_ns', type: 'int64_t' },
    { name: 'frame_id', type: 'int64_t' },
    { name: 'width', type: 'int32_t' },
    { name: 'height', type: 'int32_t' },
    { name: 'encoding', type: 'string' },
    { name: 'step', type: 'int32_t' },
    ...dataMembers,
  ],
};

/** The schema of `lcm/keyframe_request_t.lcm`. */
export const KEYFRAME_REQUEST_STRUCT: LcmStruct = {
  package: 'framebus',
  name: 'keyframe_request_t',
  members: [
    { name: 'timestamp_ns', type: 'int64_t' },
    { name: 'topic', type: 'string' },
    { name: 'requester', type: 'string' },
    { name: 'reason', type: 'string' },
    { name: 'last_sequence', type: 'int64_t' },
  ],
};

/** The schema of `lcm/twist_t.lcm`. */
export const TWIST_STRUCT: LcmStruct = {
  package: 'framebus',
  name: 'twist_t',
  members: [
    { name: 'timestamp_ns', type: 'int64_t' },
    { name: 'linear', type: 'double', dimensions: [{ fixed: 3 }] },
    { name: 'angular', type: 'double', dimensions: [{ fixed: 3 }] },
  ],
};

export const videoPacketMessageType: LcmMessageType<VideoPacketMessage> = lcmMessageType(VIDEO_PACKET_STRUCT);
export const compressedImageMessageType: LcmMessageType<CompressedImageMessage> = lcmMessageType(COMPRESSED_IMAGE_STRUCT);
export const rawImageMessageType: LcmMessageType<RawImageMessage> = lcmMessageType(RAW_IMAGE_STRUCT);
export const keyframeRequestMessageType: LcmMessageType<KeyframeRequestMessage> = lcmMessageType(KEYFRAME_REQUEST_STRUCT);
export const twistMessageType: LcmMessageType<TwistMessage> = lcmMessageType(TWIST_STRUCT);

/** Every framebus message type, for lookup by fingerprint or name. */
export const FRAMEBUS_MESSAGE_TYPES: readonly LcmMessageType<unknown>[] = [
  videoPacketMessageType,
  compressedImageMessageType,
  rawImageMessageType,
  keyframeRequestMessageType,
  twistMessageType,
] as LcmMessageType<unknown>[];
