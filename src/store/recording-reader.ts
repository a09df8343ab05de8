import type { Channel } from '@mcap/core';
import { findH264ParameterSets, parseH264Sps } from '../codec/h264-sps.js';
import { createImageCodec, type ImageCodec } from '../codec/image-codec.js';
import { PixelConverter } from '../codec/pixel-converter.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import { FramebusError, InvalidArgumentError, MalformedDataError, NotFoundError, OutOfToleranceError } from '../core/errors.js';
import type { Frame, PixelFormat } from '../core/frame.js';
import type { VideoPacket } from '../core/packet.js';
import { nsToSeconds, secondsToNs } from '../core/time.js';
import { messageDecoder, SCHEMA_NAMES, type MessageDecoder } from './foxglove-messages.js';
import { openMcapSource, type McapSource } from './mcap-source.js';
import { CHANNEL_METADATA } from './recording.js';
import {
  indexFromMetadata,
  isStreamCodec,
  isVideoStreamCodec,
  keyframeAtOrBefore,
  StreamIndexBuilder,
  type StreamCodec,
  type StreamIndex,
} from './stream-index.js';
import { decodeItem, isKeyItem, payloadBytes, statedSize, type StreamItem } from './stream-message.js';

/** How to open a recording. */
export interface RecordingReaderOptions {
  /** Receives warnings: an unfinished file read by scanning, damaged chunks skipped. Default: stderr. */
  warn?: (message: string) => void;
  /** Bytes of parsed chunks kept in memory for nearby reads. Default 64 MiB. */
  chunkCacheBytes?: number;
  /** Bytes of decoded frames kept per stream, so repeated and nearby requests skip decoding. Default 64 MiB. */
  frameCacheBytes?: number;
}

/** One stream of a recording: its index plus where that index came from. */
export interface StreamInfo extends StreamIndex {
  /** True when the index was read from the file; false when it was rebuilt by scanning. */
  readonly indexed: boolean;
}

/** A time range, ns since the Unix epoch, both ends included. Omitted ends are open. */
export interface TimeRange {
  start?: bigint;
  end?: bigint;
}

/** How to look up a frame by time. */
export interface FrameAtOptions {
  /**
   * Largest allowed distance, ns, between the requested time and the nearest frame; farther
   * is an `OutOfToleranceError`. Default: any distance.
   */
  tolerance?: bigint;
  /** Pixel format of the returned frames. Default `rgb24`. */
  format?: PixelFormat;
}

/** One stored packet of a stream, not yet decoded. */
interface Entry {
  readonly logTime: bigint;
  readonly sequence: number;
  readonly data: Uint8Array;
  frameId: number;
}

/** A position in a stream: chunk `k` of the stream's chunk list, entry `i` in it. */
interface Location {
  k: number;
  i: number;
}

/** Where a decoder stands in a stream, so the next request near it continues instead of restarting. */
interface SeekState {
  decoder: VideoDecoder;
  format: PixelFormat;
  /** The last packet fed. */
  last: Location;
  lastTime: bigint;
  decodeSequence: number;
  /** Decoded frames by timestamp, least recently used first, within `frameCacheBytes`. */
  frames: Map<bigint, Frame>;
  frameBytes: number;
  /** The last frame handed out in another pixel format than the decoder's. */
  converted: Frame | undefined;
  /** Decoding ahead of the last request, if under way; awaited before the decoder is used again. */
  ahead: Promise<void> | undefined;
}

/** Packets decoded ahead of each request, for the next forward request. */
const READ_AHEAD = 2;

interface StreamState {
  readonly name: string;
  readonly channelId: number;
  readonly channel: Channel;
  readonly decode: MessageDecoder;
  /** Positions in `source.chunks` of chunks holding this stream, in file order (which is the stream's time order). */
  readonly chunks: number[];
  /** framebus wrote this stream: stored sequence numbers are the publisher's. */
  readonly framebusWritten: boolean;
  frameIdChannel: number | undefined;
  codec: StreamCodec | undefined;
  index: StreamInfo | undefined;
  seek: SeekState | undefined;
  imageCodec: ImageCodec | undefined;
  /** True when the stream is 8-bit 4:2:0 H.264, so decoding to yuv420p loses nothing. */
  yuv420: boolean | undefined;
  /** The last video request; the next waits for it. */
  busy: Promise<unknown>;
}

const STREAM_SCHEMAS = new Set<string>([SCHEMA_NAMES.video, SCHEMA_NAMES.image, SCHEMA_NAMES.raw]);

function frameSize(frame: Frame): number {
  return frame.planes.reduce((s, p) => s + p.data.byteLength, 0);
}

function checkTime(t: unknown, what: string): asserts t is bigint {
  if (typeof t !== 'bigint') throw new InvalidArgumentError(`${what} must be a bigint of ns since the Unix epoch, got ${String(t)}.`);
  if (t < 0n) throw new InvalidArgumentError(`${what} must not be negative, got ${t} ns.`);
}

/**
 * Reads a recording (or any MCAP file with Foxglove video or image messages): lists its
 * streams, iterates packets or decoded frames over a time range, and finds the frame at any
 * time, decoding from the key packet at or before it.
 *
 * Seeking keeps, per stream, a decoder positioned where the last request left it and the
 * frames it decoded (least recently used out first, within `frameCacheBytes`): a later
 * request in the same GOP continues decoding, and a frame decoded before is answered from
 * memory, instead of decoding the GOP again. Finished files are read
 * through their MCAP index; unfinished ones by scanning, with a warning.
 */
export class RecordingReader {
  private readonly states = new Map<string, StreamState>();
  /** Parsed chunks by position, least recently used first. */
  private readonly cache = new Map<number, { byChannel: Map<number, Entry[]>; bytes: number }>();
  private cacheBytes = 0;
  private readonly warn: (message: string) => void;
  private readonly chunkCacheBytes: number;
  private readonly frameCacheBytes: number;
  private readonly converter = new PixelConverter();
  private indexesLoaded: Promise<void> | undefined;

  private constructor(
    private readonly source: McapSource,
    options: RecordingReaderOptions,
  ) {
    this.warn = options.warn ?? ((m) => process.stderr.write(`framebus: ${m}\n`));
    this.chunkCacheBytes = options.chunkCacheBytes ?? 64 * 1024 * 1024;
    this.frameCacheBytes = options.frameCacheBytes ?? 64 * 1024 * 1024;
  }

  /**
   * Opens a recording.
   * @throws NotFoundError when the file does not exist; MalformedDataError when it is not an
   *   MCAP file.
   */
  static async open(path: string, options: RecordingReaderOptions = {}): Promise<RecordingReader> {
    const reader = new RecordingReader(await openMcapSource(path), options);
    if (!reader.source.indexed) {
      reader.warn(`${path}: ${reader.source.problem}. Reading it by scanning; \`framebus recover\` makes it a complete file.`);
    }
    reader.discoverStreams();
    return reader;
  }

  /** The file's path. */
  get path(): string {
    return this.source.path;
  }

  /** True when the file was opened through its index (finished and undamaged summary). */
  get indexed(): boolean {
    return this.source.indexed;
  }

  /** Names of the streams, in channel order. */
  get streamNames(): string[] {
    return [...this.states.keys()];
  }

  private discoverStreams(): void {
    const { schemas, channels, chunks } = this.source;
    const sides = new Map<string, number>();
    for (const channel of channels.values()) {
      const owner = channel.metadata.get(CHANNEL_METADATA.frameIdsOf);
      if (owner !== undefined && schemas.get(channel.schemaId)?.name === SCHEMA_NAMES.frameId) sides.set(owner, channel.id);
    }
    for (const channel of channels.values()) {
      const schema = schemas.get(channel.schemaId);
      if (!schema || !STREAM_SCHEMAS.has(schema.name) || this.states.has(channel.topic)) continue;
      let decode: MessageDecoder;
      try {
        decode = messageDecoder(schema.name, schema.encoding, schema.data, channel.messageEncoding);
      } catch (error) {
        this.warn(`Stream ${channel.topic} is skipped: ${(error as Error).message}`);
        continue;
      }
      const declared = channel.metadata.get(CHANNEL_METADATA.codec);
      const codec = isStreamCodec(declared) ? declared : schema.name === SCHEMA_NAMES.raw ? 'raw' : undefined;
      const streamChunks = chunks.filter((c) => c.channels.has(channel.id));
      this.states.set(channel.topic, {
        name: channel.topic,
        channelId: channel.id,
        channel,
        decode,
        chunks: streamChunks.map((c) => c.position),
        framebusWritten: isStreamCodec(declared),
        frameIdChannel: sides.get(channel.topic),
        codec,
        index: undefined,
        seek: undefined,
        imageCodec: undefined,
        yuv420: undefined,
        busy: Promise.resolve(),
      });
    }
  }

  private state(name: string): StreamState {
    if (typeof name !== 'string') throw new InvalidArgumentError(`Stream name must be a string, got ${String(name)}.`);
    const s = this.states.get(name);
    if (!s) {
      const names = this.streamNames;
      throw new NotFoundError(`No stream named ${JSON.stringify(name)} in ${this.path}; ${names.length ? `streams: ${names.join(', ')}` : 'it has no video or image streams'}.`);
    }
    return s;
  }

  /** Parsed entries of every stream in chunk `position`, from the cache or the file. */
  private async chunkEntries(position: number): Promise<Map<number, Entry[]>> {
    const cached = this.cache.get(position);
    if (cached) {
      this.cache.delete(position);
      this.cache.set(position, cached);
      return cached.byChannel;
    }
    const messages = await this.source.loadChunk(position);
    const byChannel = new Map<number, Entry[]>();
    const frameIds = new Map<number, Map<string, number>>();
    const sideOf = new Map<number, StreamState>();
    for (const s of this.states.values()) if (s.frameIdChannel !== undefined) sideOf.set(s.frameIdChannel, s);
    for (const m of messages) {
      const side = sideOf.get(m.channelId);
      if (side) {
        const decoded = this.decodeFrameId(m.data);
        if (decoded) {
          let ids = frameIds.get(side.channelId);
          if (!ids) frameIds.set(side.channelId, (ids = new Map()));
          ids.set(`${m.logTime}/${decoded.sequence}`, decoded.frameId);
        }
        continue;
      }
      let list = byChannel.get(m.channelId);
      if (!list) byChannel.set(m.channelId, (list = []));
      list.push({ logTime: m.logTime, sequence: m.sequence, data: m.data, frameId: m.sequence });
    }
    let bytes = 0;
    for (const [channelId, list] of byChannel) {
      list.sort((a, b) => (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0));
      const ids = frameIds.get(channelId);
      for (const e of list) {
        bytes += e.data.byteLength;
        const id = ids?.get(`${e.logTime}/${e.sequence}`);
        if (id !== undefined) e.frameId = id;
      }
    }
    this.cache.set(position, { byChannel, bytes });
    this.cacheBytes += bytes;
    for (const [key, value] of this.cache) {
      if (this.cacheBytes <= this.chunkCacheBytes || key === position) break;
      this.cache.delete(key);
      this.cacheBytes -= value.bytes;
    }
    return byChannel;
  }

  private frameIdDecoder: MessageDecoder | undefined;

  private decodeFrameId(data: Uint8Array): { sequence: number; frameId: number } | undefined {
    try {
      if (!this.frameIdDecoder) {
        const channel = [...this.source.channels.values()].find((c) => this.source.schemas.get(c.schemaId)?.name === SCHEMA_NAMES.frameId);
        const schema = channel && this.source.schemas.get(channel.schemaId);
        if (!channel || !schema) return undefined;
        this.frameIdDecoder = messageDecoder(schema.name, schema.encoding, schema.data, channel.messageEncoding);
      }
      const m = this.frameIdDecoder(data);
      return { sequence: Number(m.sequence ?? 0), frameId: Number(m.frame_id ?? 0) };
    } catch {
      return undefined;
    }
  }

  /** The stream's entries in the `k`-th chunk of its chunk list. */
  private async entries(s: StreamState, k: number): Promise<Entry[]> {
    return (await this.chunkEntries(s.chunks[k])).get(s.channelId) ?? [];
  }

  private async item(s: StreamState, e: Entry): Promise<StreamItem> {
    const codec = await this.codecOf(s, e);
    let message: Record<string, unknown>;
    try {
      message = s.decode(e.data);
    } catch (error) {
      throw new MalformedDataError(`Stream ${s.name}: the message at ${e.logTime} ns does not decode (${(error as Error).message}).`, { cause: error });
    }
    const width = Number(s.channel.metadata.get(CHANNEL_METADATA.width) ?? s.index?.width ?? 0);
    const height = Number(s.channel.metadata.get(CHANNEL_METADATA.height) ?? s.index?.height ?? 0);
    return decodeItem(message, { codec, width, height, sequence: e.sequence, frameId: e.frameId, logTime: e.logTime });
  }

  /** The codec of a stream; for files from other tools, read from its first message. */
  private async codecOf(s: StreamState, first?: Entry): Promise<StreamCodec> {
    if (s.codec) return s.codec;
    const e = first ?? (s.chunks.length ? (await this.entries(s, 0))[0] : undefined);
    if (!e) throw new MalformedDataError(`Stream ${s.name} has no messages.`);
    let format: unknown;
    try {
      format = s.decode(e.data).format;
    } catch (error) {
      throw new MalformedDataError(`Stream ${s.name}: its first message does not decode (${(error as Error).message}).`, { cause: error });
    }
    if (!isStreamCodec(format) || format === 'raw') throw new MalformedDataError(`Stream ${s.name} has format ${JSON.stringify(format)}, which framebus does not read.`);
    s.codec = format;
    return format;
  }

  /** Reads every stream index from the file's metadata once. */
  private loadStoredIndexes(): Promise<void> {
    this.indexesLoaded ??= (async () => {
      let records;
      try {
        records = await this.source.metadata();
      } catch (error) {
        this.warn(`${this.path}: stream indexes are unreadable (${(error as Error).message}); rebuilding them by scanning.`);
        return;
      }
      for (const record of records) {
        const index = indexFromMetadata(record);
        const s = index && this.states.get(index.name);
        if (s && index && (s.codec === undefined || s.codec === index.codec)) {
          s.codec = index.codec;
          s.index = { ...index, indexed: true };
        }
      }
    })();
    return this.indexesLoaded;
  }

  /** Builds a stream's index by reading all of its packets (files from other tools, recovered or damaged files). */
  private async rebuildIndex(s: StreamState): Promise<StreamInfo> {
    const codec = await this.codecOf(s);
    const builder = new StreamIndexBuilder(s.name, codec);
    builder.width = Number(s.channel.metadata.get(CHANNEL_METADATA.width) ?? 0);
    builder.height = Number(s.channel.metadata.get(CHANNEL_METADATA.height) ?? 0);
    let last: bigint | undefined;
    for (let k = 0; k < s.chunks.length; k++) {
      let list: Entry[];
      try {
        list = await this.entries(s, k);
      } catch (error) {
        this.warn(`Stream ${s.name}: ${(error as Error).message} Its packets there are left out.`);
        continue;
      }
      for (const e of list) {
        if (last !== undefined && e.logTime <= last) continue;
        last = e.logTime;
        let item: StreamItem;
        try {
          item = await this.item(s, e);
        } catch {
          continue;
        }
        const size = builder.width === 0 ? statedSize(item) : undefined;
        if (size) Object.assign(builder, size);
        builder.add(e.logTime, e.sequence, isKeyItem(item), payloadBytes(item));
      }
    }
    return { ...builder.build(), indexed: false };
  }

  /** A stream's index: stored in the file when present and valid, rebuilt by scanning otherwise. */
  private async indexOf(s: StreamState): Promise<StreamInfo> {
    await this.loadStoredIndexes();
    s.index ??= await this.rebuildIndex(s);
    return s.index;
  }

  /**
   * Every stream with its codec, size, frame and key frame counts, payload bytes and time range.
   * @throws MalformedDataError when a stream's first message does not decode.
   */
  async streams(): Promise<StreamInfo[]> {
    const out: StreamInfo[] = [];
    for (const s of this.states.values()) out.push(await this.indexOf(s));
    return out;
  }

  /**
   * One stream's information.
   * @throws NotFoundError for an unknown stream name.
   */
  async stream(name: string): Promise<StreamInfo> {
    return this.indexOf(this.state(name));
  }

  /**
   * The timestamp `seconds` after the stream's first frame: how people give times.
   * @throws InvalidArgumentError for a negative or non-finite number; NotFoundError for an unknown stream.
   */
  async timeAt(name: string, seconds: number): Promise<bigint> {
    const offset = secondsToNs(seconds, 'Time');
    if (offset < 0n) throw new InvalidArgumentError(`Time must not be negative, got ${seconds} s.`);
    return (await this.stream(name)).start + offset;
  }

  /** Location of the first entry with time ≥ `t` (`after` false) or > `t` (`after` true), or undefined past the end. */
  private async locate(s: StreamState, t: bigint, after: boolean): Promise<Location | undefined> {
    // A chunk's time range covers all its channels, so only chunks that end before `t` can be skipped unread.
    for (let k = s.chunks.findIndex((p) => this.source.chunks[p].end >= t); k >= 0 && k < s.chunks.length; k++) {
      const list = await this.entries(s, k);
      const i = list.findIndex((e) => (after ? e.logTime > t : e.logTime >= t));
      if (i >= 0) return { k, i };
    }
    return undefined;
  }

  /** The entry before `loc`, or undefined at the start of the stream. */
  private async previous(s: StreamState, loc: Location | undefined): Promise<Location | undefined> {
    let { k, i } = loc ?? { k: s.chunks.length, i: 0 };
    while (i === 0) {
      if (k === 0) return undefined;
      k--;
      i = (await this.entries(s, k)).length;
    }
    return { k, i: i - 1 };
  }

  private async next(s: StreamState, loc: Location): Promise<Location | undefined> {
    let { k, i } = loc;
    i++;
    while (i >= (await this.entries(s, k)).length) {
      k++;
      i = 0;
      if (k >= s.chunks.length) return undefined;
    }
    return { k, i };
  }

  private async at(s: StreamState, loc: Location): Promise<Entry> {
    return (await this.entries(s, loc.k))[loc.i];
  }

  /** The entry nearest to `t` (the earlier one on a tie). */
  private async nearest(s: StreamState, t: bigint): Promise<{ loc: Location; entry: Entry }> {
    const after = await this.locate(s, t, false);
    const before = await this.previous(s, after);
    const a = after && (await this.at(s, after));
    const b = before && (await this.at(s, before));
    if (!a && !b) throw new MalformedDataError(`Stream ${s.name} has no readable frames.`);
    if (a && (!b || a.logTime - t < t - b.logTime)) return { loc: after!, entry: a };
    return { loc: before!, entry: b! };
  }

  /**
   * Stored items (packets, images or raw frames) of a stream in time order, byte for byte.
   * @throws NotFoundError for an unknown stream; MalformedDataError at a damaged chunk.
   */
  async *packets(name: string, range: TimeRange = {}): AsyncGenerator<StreamItem> {
    const s = this.state(name);
    if (range.start !== undefined) checkTime(range.start, 'Range start');
    if (range.end !== undefined) checkTime(range.end, 'Range end');
    let loc = await this.locate(s, range.start ?? 0n, false);
    while (loc) {
      const e = await this.at(s, loc);
      if (range.end !== undefined && e.logTime > range.end) return;
      yield await this.item(s, e);
      loc = await this.next(s, loc);
    }
  }

  /**
   * Decoded frames of a stream over a time range, in time order. Video decoding starts at the
   * key packet at or before the range start; frames before the start are not returned.
   * @throws NotFoundError for an unknown stream; MalformedDataError for damaged data.
   */
  async *frames(name: string, range: TimeRange & { format?: PixelFormat } = {}): AsyncGenerator<Frame> {
    const s = this.state(name);
    const info = await this.indexOf(s);
    const start = range.start ?? info.start;
    checkTime(start, 'Range start');
    if (range.end !== undefined) checkTime(range.end, 'Range end');
    const format = range.format ?? 'rgb24';
    if (!isVideoStreamCodec(info.codec)) {
      for await (const item of this.packets(name, { start, end: range.end })) yield await this.decodeImage(s, item, format);
      return;
    }
    const k = keyframeAtOrBefore(info.keyframes, start);
    const from = k >= 0 ? info.keyframes[k].timestamp : (info.keyframes[0]?.timestamp ?? start);
    const decoder = await VideoDecoder.create({ codec: info.codec, format });
    try {
      let sequence = 0;
      for await (const item of this.packets(name, { start: from, end: range.end })) {
        const packet = item as VideoPacket;
        const fed = { ...packet, sequence: s.framebusWritten ? packet.sequence : sequence++ };
        for (const frame of await decoder.decode(fed)) if (frame.timestamp >= start) yield frame;
      }
      for (const frame of await decoder.flush()) if (frame.timestamp >= start && (range.end === undefined || frame.timestamp <= range.end)) yield frame;
    } finally {
      decoder.close();
    }
  }

  private async decodeImage(s: StreamState, item: StreamItem, format: PixelFormat): Promise<Frame> {
    if (item.kind === 'frame') return item.format === format ? item : this.converter.convert(item, { format });
    if (item.kind !== 'compressed-image') throw new MalformedDataError(`Stream ${s.name}: expected an image, found a video packet.`);
    s.imageCodec ??= createImageCodec(item.format);
    return s.imageCodec.decode(item, format);
  }

  private toleranceError(s: StreamState, t: bigint, nearest: bigint, tolerance: bigint, start: bigint): OutOfToleranceError {
    const rel = (ns: bigint) => `${nsToSeconds(ns - start).toFixed(6)} s`;
    return new OutOfToleranceError(
      `Stream ${s.name} has no frame within ${nsToSeconds(tolerance)} s of ${t} ns (${rel(t)} from its start); the nearest frame is at ${nearest} ns (${rel(nearest)}).`,
      t,
      nearest,
    );
  }

  /**
   * The frame nearest to time `t` (ns since the Unix epoch), bit-exactly as a decode of the
   * whole stream from its start produces it.
   * @throws OutOfToleranceError naming the requested and nearest timestamps when the nearest
   *   frame is farther than `tolerance`; InvalidArgumentError for a negative or non-bigint time;
   *   NotFoundError for an unknown stream; MalformedDataError when the frame cannot be decoded.
   */
  async frameAt(name: string, t: bigint, options: FrameAtOptions = {}): Promise<Frame> {
    const s = this.state(name);
    checkTime(t, 'Time');
    if (options.tolerance !== undefined) checkTime(options.tolerance, 'Tolerance');
    const info = await this.indexOf(s);
    const { loc, entry } = await this.nearest(s, t);
    const distance = entry.logTime > t ? entry.logTime - t : t - entry.logTime;
    if (options.tolerance !== undefined && distance > options.tolerance) throw this.toleranceError(s, t, entry.logTime, options.tolerance, info.start);
    return this.decodeAt(s, info, loc, entry, options.format ?? 'rgb24');
  }

  /**
   * The frames nearest to each of `times`, decoded in one pass in time order (each GOP once),
   * returned in the order asked.
   * @throws OutOfToleranceError for the first time whose nearest frame is too far (nothing is
   *   decoded then); otherwise as `frameAt`.
   */
  async framesAt(name: string, times: readonly bigint[], options: FrameAtOptions = {}): Promise<Frame[]> {
    const s = this.state(name);
    if (!Array.isArray(times)) throw new InvalidArgumentError('framesAt() takes an array of bigint timestamps.');
    times.forEach((t, i) => checkTime(t, `Time ${i}`));
    if (options.tolerance !== undefined) checkTime(options.tolerance, 'Tolerance');
    const info = await this.indexOf(s);
    const found: { loc: Location; entry: Entry }[] = [];
    for (const t of times) {
      const n = await this.nearest(s, t);
      const distance = n.entry.logTime > t ? n.entry.logTime - t : t - n.entry.logTime;
      if (options.tolerance !== undefined && distance > options.tolerance) throw this.toleranceError(s, t, n.entry.logTime, options.tolerance, info.start);
      found.push(n);
    }
    const order = found.map((_, i) => i).sort((a, b) => (found[a].entry.logTime < found[b].entry.logTime ? -1 : found[a].entry.logTime > found[b].entry.logTime ? 1 : 0));
    const out: Frame[] = new Array<Frame>(times.length);
    for (const i of order) out[i] = await this.decodeAt(s, info, found[i].loc, found[i].entry, options.format ?? 'rgb24');
    return out;
  }

  private async decodeAt(s: StreamState, info: StreamInfo, loc: Location, entry: Entry, format: PixelFormat): Promise<Frame> {
    if (!isVideoStreamCodec(info.codec)) return this.decodeImage(s, await this.item(s, entry), format);
    // One request at a time per stream: they share its decoder.
    const result = s.busy.then(async () => {
      try {
        return await this.decodeVideoAt(s, info, loc, entry, format);
      } catch (error) {
        await this.dropSeek(s);
        if (error instanceof FramebusError) throw error;
        throw new MalformedDataError(`Stream ${s.name}: decoding the frame at ${entry.logTime} ns failed (${(error as Error).message}).`, { cause: error });
      }
    });
    s.busy = result.catch(() => undefined);
    return result;
  }

  private async dropSeek(s: StreamState): Promise<void> {
    const seek = s.seek;
    s.seek = undefined;
    await seek?.ahead;
    seek?.decoder.close();
  }

  /**
   * Decodes to yuv420p when that is the stream's own format (a plain copy) and converts only
   * the frame asked for: the RGB conversion costs more than decoding a frame, and the
   * frames between the key packet and the target are never shown.
   */
  private async decodeVideoAt(s: StreamState, info: StreamInfo, target: Location, entry: Entry, format: PixelFormat): Promise<Frame> {
    const decodeFormat = (await this.isYuv420(s, info)) ? 'yuv420p' : format;
    const decoded = await this.decodedFrame(s, info, target, entry, decodeFormat);
    if (decodeFormat === format) return decoded;
    const seek = s.seek!;
    if (seek.converted?.timestamp === decoded.timestamp && seek.converted.format === format) return seek.converted;
    seek.converted = this.converter.convert(decoded, { format });
    return seek.converted;
  }

  private async isYuv420(s: StreamState, info: StreamInfo): Promise<boolean> {
    if (s.yuv420 !== undefined) return s.yuv420;
    s.yuv420 = false;
    const key = info.keyframes[0];
    if (info.codec === 'h264' && key) {
      const loc = await this.locate(s, key.timestamp, false);
      const item = loc && (await this.item(s, await this.at(s, loc)));
      if (item?.kind === 'video-packet') {
        try {
          const sps = parseH264Sps(findH264ParameterSets(item.data).sps[0] ?? new Uint8Array());
          s.yuv420 = sps.chromaFormat === 1 && sps.bitDepth === 8;
        } catch {
          // No readable SPS: decode straight to the format asked for.
        }
      }
    }
    return s.yuv420;
  }

  private async decodedFrame(s: StreamState, info: StreamInfo, target: Location, entry: Entry, format: PixelFormat): Promise<Frame> {
    const codec = info.codec as VideoPacket['codec'];
    const k = keyframeAtOrBefore(info.keyframes, entry.logTime);
    if (k < 0) throw new MalformedDataError(`Stream ${s.name}: no key packet at or before ${entry.logTime} ns, so that frame cannot be decoded.`);
    const keyTime = info.keyframes[k].timestamp;
    await s.seek?.ahead;
    let seek = s.seek;
    const hit = seek?.format === format ? seek.frames.get(entry.logTime) : undefined;
    if (seek && hit) {
      seek.frames.delete(entry.logTime);
      seek.frames.set(entry.logTime, hit);
      seek.ahead = this.readAhead(s, seek);
      return hit;
    }
    let from: Location | undefined;
    // Continue when the decoder stands between the target's key packet and the target; else start at that key packet.
    if (seek && seek.format === format && seek.lastTime >= keyTime && seek.lastTime < entry.logTime) {
      from = await this.next(s, seek.last);
    } else {
      if (!seek || seek.format !== format) {
        await this.dropSeek(s);
        seek = {
          decoder: await VideoDecoder.create({ codec, format }),
          format,
          last: target,
          lastTime: -1n,
          decodeSequence: 0,
          frames: new Map(),
          frameBytes: 0,
          converted: undefined,
          ahead: undefined,
        };
        s.seek = seek;
      }
      seek.decoder.reset();
      seek.lastTime = -1n;
      seek.decodeSequence = 0;
      from = await this.locate(s, keyTime, false);
    }
    for (let loc = from; loc; loc = await this.next(s, loc)) {
      const e = await this.feed(s, seek, loc);
      if (e.logTime >= entry.logTime) break;
    }
    const frame = seek.frames.get(entry.logTime);
    if (!frame) {
      throw new MalformedDataError(`Stream ${s.name}: the frame at ${entry.logTime} ns cannot be decoded (a packet from the key packet at ${keyTime} ns up to it is damaged or missing).`);
    }
    seek.ahead = this.readAhead(s, seek);
    return frame;
  }

  /** Decodes the packet at `loc` into the frame cache and moves the decoder's position there. */
  private async feed(s: StreamState, seek: SeekState, loc: Location): Promise<Entry> {
    const e = await this.at(s, loc);
    const packet = (await this.item(s, e)) as VideoPacket;
    const fed = { ...packet, sequence: s.framebusWritten ? packet.sequence : seek.decodeSequence++ };
    for (const frame of await seek.decoder.decode(fed)) this.keepFrame(seek, frame);
    seek.last = loc;
    seek.lastTime = e.logTime;
    return e;
  }

  /**
   * Decodes the next few packets after the decoder's position once the caller has its frame
   * (it runs at the reader's next await, between requests), so the next forward request
   * finds them decoded. A failure only ends the read-ahead: the request that needs
   * those packets decodes them again and reports what is wrong.
   */
  private async readAhead(s: StreamState, seek: SeekState): Promise<void> {
    try {
      for (let n = 0, loc = await this.next(s, seek.last); n < READ_AHEAD && loc; n++, loc = await this.next(s, loc)) {
        const next = await this.at(s, loc);
        if (seek.frames.has(next.logTime)) break;
        await this.feed(s, seek, loc);
      }
    } catch {
      seek.lastTime = -1n;
    }
  }

  private keepFrame(seek: SeekState, frame: Frame): void {
    const old = seek.frames.get(frame.timestamp);
    if (old) {
      seek.frames.delete(frame.timestamp);
      seek.frameBytes -= frameSize(old);
    }
    seek.frames.set(frame.timestamp, frame);
    seek.frameBytes += frameSize(frame);
    for (const [t, f] of seek.frames) {
      if (seek.frameBytes <= this.frameCacheBytes || t === frame.timestamp) break;
      seek.frames.delete(t);
      seek.frameBytes -= frameSize(f);
    }
  }

  /** Frees decoders and closes the file. */
  async close(): Promise<void> {
    for (const s of this.states.values()) {
      await s.busy;
      await this.dropSeek(s);
    }
    this.cache.clear();
    this.converter.close();
    await this.source.close();
  }
}
