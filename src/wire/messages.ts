/**
 * framebus's network messages, one per `lcm/*.lcm` file (package `framebus`), generated into
 * `generated/framebus/` by `framebus lcm-gen` (`npm run build:lcm`). Property names are the
 * LCM member names, as every `lcm-gen` language binding spells them; array length members
 * (`data_size`) are left out and derived from the arrays. Times are integer nanoseconds since
 * the Unix epoch; byte arrays decoded from the wire are views into the received bytes.
 */

import { compressed_image_t } from './generated/framebus/compressed_image_t.js';
import { keyframe_request_t } from './generated/framebus/keyframe_request_t.js';
import { raw_image_t } from './generated/framebus/raw_image_t.js';
import { twist_t } from './generated/framebus/twist_t.js';
import { video_packet_t } from './generated/framebus/video_packet_t.js';
import type { LcmStruct } from './lcm-schema.js';
import type { LcmMessageType } from './lcm-struct-codec.js';

/** The generated types under their LCM names: each an interface and its `MessageType`. */
export { compressed_image_t, keyframe_request_t, raw_image_t, twist_t, video_packet_t };

/** `framebus.video_packet_t`: one encoded access unit (see `VideoPacket` in core). */
export type VideoPacketMessage = video_packet_t;
/** `framebus.compressed_image_t`: one JPEG or PNG picture. */
export type CompressedImageMessage = compressed_image_t;
/** `framebus.raw_image_t`: raw pixels, planes back to back. */
export type RawImageMessage = raw_image_t;
/** `framebus.keyframe_request_t`: a subscriber asks a video publisher for a key packet. */
export type KeyframeRequestMessage = keyframe_request_t;
/** `framebus.twist_t`: a velocity command for teleoperation, in the robot's body frame. */
export type TwistMessage = twist_t;

/** Why a subscriber asks for a key packet. */
export const KEYFRAME_REQUEST_REASONS = ['late-join', 'gap', 'corrupt'] as const;
export type KeyframeRequestReason = (typeof KEYFRAME_REQUEST_REASONS)[number];

/** The schema of `lcm/video_packet_t.lcm`. */
export const VIDEO_PACKET_STRUCT: LcmStruct = video_packet_t.struct;
/** The schema of `lcm/compressed_image_t.lcm`. */
export const COMPRESSED_IMAGE_STRUCT: LcmStruct = compressed_image_t.struct;
/** The schema of `lcm/raw_image_t.lcm`. */
export const RAW_IMAGE_STRUCT: LcmStruct = raw_image_t.struct;
/** The schema of `lcm/keyframe_request_t.lcm`. */
export const KEYFRAME_REQUEST_STRUCT: LcmStruct = keyframe_request_t.struct;
/** The schema of `lcm/twist_t.lcm`. */
export const TWIST_STRUCT: LcmStruct = twist_t.struct;

export const videoPacketMessageType: LcmMessageType<VideoPacketMessage> = video_packet_t;
export const compressedImageMessageType: LcmMessageType<CompressedImageMessage> = compressed_image_t;
export const rawImageMessageType: LcmMessageType<RawImageMessage> = raw_image_t;
export const keyframeRequestMessageType: LcmMessageType<KeyframeRequestMessage> = keyframe_request_t;
export const twistMessageType: LcmMessageType<TwistMessage> = twist_t;

/** Every framebus message type, for lookup by fingerprint or name. */
export const FRAMEBUS_MESSAGE_TYPES: readonly LcmMessageType<unknown>[] = [
  videoPacketMessageType,
  compressedImageMessageType,
  rawImageMessageType,
  keyframeRequestMessageType,
  twistMessageType,
] as LcmMessageType<unknown>[];
