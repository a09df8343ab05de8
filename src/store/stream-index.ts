import type { Metadata } from '@mcap/core';
import { InvalidArgumentError } from '../core/errors.js';
import { IMAGE_FORMATS } from '../core/compressed-image.js';
import { VIDEO_CODECS, type VideoCodec } from '../core/packet.js';
import type { ImageFormat } from '../core/compressed-image.js';
import { STREAM_INDEX_METADATA } from './recording-format.js';

/** How a stream's frames are stored: one video codec, a per-frame image format, or raw pixels. */
export type StreamCodec = VideoCodec | ImageFormat | 'raw';

/** Every stream codec a recording accepts. */
export const STREAM_CODECS: readonly StreamCodec[] = [...VIDEO_CODECS, ...IMAGE_FORMATS, 'raw'];

export function isStreamCodec(value: unknown): value is StreamCodec {
  return typeof value === 'string' && (STREAM_CODECS as readonly string[]).includes(value);
}

/** True for codecs whose packets depend on earlier ones (seeking starts at a key packet). */
export function isVideoStreamCodec(codec: StreamCodec): codec is VideoCodec {
  return (VIDEO_CODECS as readonly string[]).includes(codec);
}

/** A key packet: where decoding can start. */
export interface KeyframeEntry {
  /** The packet's sequence number in its stream. */
  readonly sequence: number;
  /** Its timestamp, ns since the Unix epoch. */
  readonly timestamp: bigint;
}

/**
 * What a reader needs to know about a stream without reading its messages: counts, time range
 * and, for video, every key packet. Written into the recording as one MCAP metadata record per
 * stream when it is closed (and by `recover`), rebuilt by scanning when absent.
 */
export interface StreamIndex {
  readonly name: string;
  readonly codec: StreamCodec;
  /** Picture width in pixels (0 when unknown). */
  readonly width: number;
  /** Picture height in pixels (0 when unknown). */
  readonly height: number;
  /** Number of packets (frames). */
  readonly frames: number;
  /** Sum of the packets' payload bytes (encoded data only, no container). */
  readonly bytes: number;
  /** Timestamp of the first frame, ns since the Unix epoch. */
  readonly start: bigint;
  /** Timestamp of the last frame, ns since the Unix epoch. */
  readonly end: bigint;
  /** Key packets in time order; for image and raw streams every frame is one and the list is empty. */
  readonly keyframes: readonly KeyframeEntry[];
  /** Number of key packets (every frame for image and raw streams). */
  readonly keyframeCount: number;
}

/** Accumulates a `StreamIndex` from packets in stream order. */
export class StreamIndexBuilder {
  /** Packets added so far. */
  frames = 0;
  /** Payload bytes added so far. */
  bytes = 0;
  private start = 0n;
  private end = 0n;
  private keyframeCount = 0;
  private readonly keyframes: KeyframeEntry[] = [];
  width = 0;
  height = 0;

  constructor(
    readonly name: string,
    readonly codec: StreamCodec,
  ) {}

  /** Adds one packet; `key` as verified from its bitstream. */
  add(timestamp: bigint, sequence: number, key: boolean, bytes: number): void {
    if (this.frames === 0) this.start = timestamp;
    this.end = timestamp;
    this.frames++;
    this.bytes += bytes;
    if (key) {
      this.keyframeCount++;
      if (isVideoStreamCodec(this.codec)) this.keyframes.push({ sequence, timestamp });
    }
  }

  build(): StreamIndex {
    return {
      name: this.name,
      codec: this.codec,
      width: this.width,
      height: this.height,
      frames: this.frames,
      bytes: this.bytes,
      start: this.start,
      end: this.end,
      keyframes: [...this.keyframes],
      keyframeCount: this.keyframeCount,
    };
  }
}

/**
 * The metadata record of one stream's index. Key packets are two JSON arrays: sequence
 * numbers, and times as ns after the stream's `start` (small enough to be exact JSON numbers).
 */
export function indexToMetadata(index: StreamIndex): Metadata {
  return {
    name: STREAM_INDEX_METADATA,
    metadata: new Map([
      ['version', '1'],
      ['stream', index.name],
      ['codec', index.codec],
      ['width', String(index.width)],
      ['height', String(index.height)],
      ['frames', String(index.frames)],
      ['bytes', String(index.bytes)],
      ['start', String(index.start)],
      ['end', String(index.end)],
      ['keyframe_count', String(index.keyframeCount)],
      ['keyframe_sequences', JSON.stringify(index.keyframes.map((k) => k.sequence))],
      ['keyframe_times', JSON.stringify(index.keyframes.map((k) => Number(k.timestamp - index.start)))],
    ]),
  };
}

function wholeNumber(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${what} is not a whole number: ${String(text)}`);
  return n;
}

function timestamp(text: string | undefined, what: string): bigint {
  if (text === undefined || !/^\d{1,20}$/.test(text)) throw new InvalidArgumentError(`${what} is not a timestamp: ${String(text)}`);
  return BigInt(text);
}

function numberArray(text: string | undefined, what: string): number[] {
  const parsed: unknown = JSON.parse(text ?? 'null');
  if (!Array.isArray(parsed) || !parsed.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)) {
    throw new InvalidArgumentError(`${what} is not a list of whole numbers.`);
  }
  return parsed as number[];
}

/**
 * Reads a stream index back from its metadata record.
 * @returns undefined when the record is not a valid framebus stream index (it is then rebuilt
 *   by scanning, so a damaged index never misleads a reader).
 */
export function indexFromMetadata(metadata: Metadata): StreamIndex | undefined {
  if (metadata.name !== STREAM_INDEX_METADATA) return undefined;
  const m = metadata.metadata;
  try {
    const codec = m.get('codec');
    const name = m.get('stream');
    if (m.get('version') !== '1' || !isStreamCodec(codec) || !name) return undefined;
    const start = timestamp(m.get('start'), 'start');
    const sequences = numberArray(m.get('keyframe_sequences'), 'keyframe_sequences');
    const times = numberArray(m.get('keyframe_times'), 'keyframe_times');
    if (sequences.length !== times.length) return undefined;
    const keyframes = sequences.map((sequence, i) => ({ sequence, timestamp: start + BigInt(times[i]) }));
    for (let i = 1; i < keyframes.length; i++) if (keyframes[i].timestamp <= keyframes[i - 1].timestamp) return undefined;
    const index: StreamIndex = {
      name,
      codec,
      width: wholeNumber(m.get('width'), 'width'),
      height: wholeNumber(m.get('height'), 'height'),
      frames: wholeNumber(m.get('frames'), 'frames'),
      bytes: wholeNumber(m.get('bytes'), 'bytes'),
      start,
      end: timestamp(m.get('end'), 'end'),
      keyframes,
      keyframeCount: wholeNumber(m.get('keyframe_count'), 'keyframe_count'),
    };
    if (index.end < index.start || (isVideoStreamCodec(codec) && keyframes.length !== index.keyframeCount)) return undefined;
    return index;
  } catch {
    return undefined;
  }
}

/**
 * Position in `keyframes` of the last key packet at or before `t`, or -1 when `t` is before
 * the first one.
 */
export function keyframeAtOrBefore(keyframes: readonly KeyframeEntry[], t: bigint): number {
  let lo = 0;
  let hi = keyframes.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (keyframes[mid].timestamp <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
