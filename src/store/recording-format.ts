import type { Channel } from '@mcap/core';
import { SCHEMA_NAMES } from '../wire/foxglove-messages.js';

/**
 * The recording format in one place: how framebus lays streams out in MCAP on top of
 * Foxglove's schemas. A stream is one channel (`foxglove.CompressedVideo`, `CompressedImage`
 * or `RawImage`, protobuf) named after the stream, with the metadata keys below; frame ids
 * that differ from the message sequence go on a side channel; each stream's keyframe index
 * and each bus-recorded topic's counts are MCAP metadata records written at close.
 */

/** MCAP channel metadata keys framebus writes on a stream's channel. */
export const CHANNEL_METADATA = {
  codec: 'framebus.codec',
  width: 'framebus.width',
  height: 'framebus.height',
  /** On a side channel: the stream whose frame ids it carries. */
  frameIdsOf: 'framebus.frame_ids_of',
  /** On a segment's channel: the stream it continues (`StreamOptions.segmentOf`). */
  segmentOf: 'framebus.segment_of',
} as const;

/** Name of the MCAP metadata records that hold stream indexes. */
export const STREAM_INDEX_METADATA = 'framebus.stream-index';

/** Name of the MCAP metadata record a bus recorder writes per topic when it stops. */
export const TOPIC_RECORD_METADATA = 'framebus.topic-record';

/** Schemas whose channels are streams (the frame-id side channel is not one). */
export const STREAM_SCHEMAS: ReadonlySet<string> = new Set([SCHEMA_NAMES.video, SCHEMA_NAMES.image, SCHEMA_NAMES.raw]);

/** What framebus wrote about a stream on its channel; fields another tool's file lacks are undefined. */
export interface ChannelDescription {
  /** The codec framebus declared, as written (check it with `isStreamCodec`). */
  codec?: string;
  /** Picture size in pixels. */
  width?: number;
  height?: number;
  /** For a frame-id side channel: the stream it belongs to. */
  frameIdsOf?: string;
  /** For a segment: the stream it continues. */
  segmentOf?: string;
}

/** The channel metadata of a stream, from what it holds. */
export function channelMetadata(d: ChannelDescription): Map<string, string> {
  const entries: [string, string | undefined][] = [
    [CHANNEL_METADATA.codec, d.codec],
    [CHANNEL_METADATA.width, d.width === undefined ? undefined : String(d.width)],
    [CHANNEL_METADATA.height, d.height === undefined ? undefined : String(d.height)],
    [CHANNEL_METADATA.frameIdsOf, d.frameIdsOf],
    [CHANNEL_METADATA.segmentOf, d.segmentOf],
  ];
  return new Map(entries.filter((e): e is [string, string] => e[1] !== undefined));
}

/** Reads back what `channelMetadata` wrote; sizes that are not positive whole numbers are left out. */
export function describeChannel(channel: Pick<Channel, 'metadata'>): ChannelDescription {
  const m = channel.metadata;
  const size = (key: string) => {
    const n = Number(m.get(key));
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  };
  return {
    codec: m.get(CHANNEL_METADATA.codec),
    width: size(CHANNEL_METADATA.width),
    height: size(CHANNEL_METADATA.height),
    frameIdsOf: m.get(CHANNEL_METADATA.frameIdsOf),
    segmentOf: m.get(CHANNEL_METADATA.segmentOf),
  };
}
