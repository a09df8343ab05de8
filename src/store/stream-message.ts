import type { CompressedImage } from '../core/compressed-image.js';
import { MalformedDataError } from '../core/errors.js';
import { createFrame, framePackedBytes, type Frame, type FramePlane, type PixelFormat } from '../core/frame.js';
import type { VideoPacket } from '../core/packet.js';
import { findH264ParameterSets, parseH264Sps } from '../codec/h264-sps.js';
import { isKeyAccessUnit } from '../codec/keyframe-detect.js';
import {
  encodeCompressedImage,
  encodeCompressedVideo,
  encodeRawImage,
  imageFields,
  type SchemaKind,
} from '../wire/foxglove-messages.js';
import { isVideoStreamCodec, type StreamCodec } from './stream-index.js';

/** What one stream message holds, as framebus values: an encoded packet, an image, or pixels. */
export type StreamItem = VideoPacket | CompressedImage | Frame;

/** The Foxglove schema a stream of `codec` uses. */
export function schemaKindOf(codec: StreamCodec): SchemaKind {
  if (isVideoStreamCodec(codec)) return 'video';
  return codec === 'raw' ? 'raw' : 'image';
}

/** Foxglove `RawImage.encoding` of each pixel format `RawImage` can hold as is. */
const RAW_ENCODINGS: Partial<Record<PixelFormat, string>> = {
  rgb24: 'rgb8',
  bgr24: 'bgr8',
  rgba: 'rgba8',
  gray8: 'mono8',
  nv12: 'nv12',
};

/** True when a raw stream can store frames of `format` without converting them. */
export function rawStorable(format: PixelFormat): boolean {
  return RAW_ENCODINGS[format] !== undefined;
}

/** The payload bytes of an item: what `bytes` in stream statistics counts. */
export function payloadBytes(item: StreamItem): number {
  return item.kind === 'frame' ? framePackedBytes(item).byteLength : item.data.byteLength;
}

/**
 * True when an item decodes on its own. For video the bitstream decides (a damaged packet
 * counts as a delta packet, so seeking never starts there).
 */
export function isKeyItem(item: StreamItem): boolean {
  if (item.kind !== 'video-packet') return true;
  try {
    return isKeyAccessUnit(item.codec, item.data);
  } catch {
    return false;
  }
}

/**
 * The picture size an item states itself: a raw frame's, or the SPS of an H.264 key packet.
 * Undefined when it states none (other codecs, delta packets, damaged parameter sets).
 */
export function statedSize(item: StreamItem): { width: number; height: number } | undefined {
  if (item.kind === 'frame') return { width: item.width, height: item.height };
  if (item.kind !== 'video-packet' || item.codec !== 'h264' || !item.key) return undefined;
  try {
    const sps = parseH264Sps(findH264ParameterSets(item.data).sps[0] ?? new Uint8Array());
    return { width: sps.width, height: sps.height };
  } catch {
    return undefined;
  }
}

/**
 * Encodes an item as its Foxglove message. `coordinateFrame` fills Foxglove's `frame_id`
 * (a coordinate frame name, not framebus's numeric frame id).
 */
export function encodeItem(item: StreamItem, coordinateFrame: string): Uint8Array {
  switch (item.kind) {
    case 'video-packet':
      return encodeCompressedVideo({ timestamp: item.timestamp, frameId: coordinateFrame, data: item.data, format: item.codec });
    case 'compressed-image':
      return encodeCompressedImage({ timestamp: item.timestamp, frameId: coordinateFrame, data: item.data, format: item.format });
    case 'frame': {
      const encoding = RAW_ENCODINGS[item.format];
      if (!encoding) throw new MalformedDataError(`A raw stream cannot store ${item.format} frames.`);
      const data = framePackedBytes(item);
      return encodeRawImage({
        timestamp: item.timestamp,
        frameId: coordinateFrame,
        width: item.width,
        height: item.height,
        encoding,
        step: item.format === 'nv12' ? item.width : data.byteLength / item.height,
        data,
      });
    }
  }
}

/** What a reader knows of a stored message besides its payload. */
export interface MessageContext {
  codec: StreamCodec;
  /** Picture size from the stream's metadata (0 when unknown). */
  width: number;
  height: number;
  /** The packet's sequence number in its stream. */
  sequence: number;
  /** framebus's frame id. */
  frameId: number;
  /**
   * The MCAP log time: the item's timestamp. framebus writes the same time in the message;
   * for files from other tools the log time is what the file is indexed and seeked by.
   */
  logTime: bigint;
}

function pixelFormatOf(encoding: string): PixelFormat {
  for (const [format, name] of Object.entries(RAW_ENCODINGS)) {
    if (name === encoding || (encoding === '8UC3' && format === 'bgr24') || (encoding === '8UC1' && format === 'gray8')) return format as PixelFormat;
  }
  throw new MalformedDataError(`Raw image encoding ${JSON.stringify(encoding)} is not one framebus reads (rgb8, bgr8, rgba8, mono8, nv12).`);
}

/**
 * Turns a decoded Foxglove message back into the framebus value it was written from.
 * @throws MalformedDataError when the message does not describe a valid item of the stream.
 */
export function decodeItem(message: Record<string, unknown>, ctx: MessageContext): StreamItem {
  const { data } = imageFields(message);
  const timestamp = ctx.logTime;
  const { codec } = ctx;
  if (isVideoStreamCodec(codec)) {
    if (typeof message.format === 'string' && message.format !== codec) {
      throw new MalformedDataError(`A ${codec} stream holds a ${message.format} packet.`);
    }
    return {
      kind: 'video-packet',
      codec,
      data,
      key: isKeyItem({ kind: 'video-packet', codec, data } as VideoPacket),
      timestamp,
      sequence: ctx.sequence,
      frameId: ctx.frameId,
      width: ctx.width,
      height: ctx.height,
    };
  }
  if (codec !== 'raw') {
    return { kind: 'compressed-image', format: codec, data, timestamp, frameId: ctx.frameId, width: ctx.width, height: ctx.height };
  }
  const width = Number(message.width ?? 0);
  const height = Number(message.height ?? 0);
  const step = Number(message.step ?? 0);
  const format = pixelFormatOf(String(message.encoding ?? ''));
  const planes: FramePlane[] =
    format === 'nv12'
      ? [
          { data: data.subarray(0, step * height), stride: step },
          { data: data.subarray(step * height), stride: step },
        ]
      : [{ data, stride: step }];
  try {
    return createFrame({ width, height, format, planes, timestamp, frameId: ctx.frameId });
  } catch (error) {
    throw new MalformedDataError(`A raw image does not match its own size: ${(error as Error).message}`, { cause: error });
  }
}
