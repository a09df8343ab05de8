import type { Channel } from '@mcap/core';
import { createImageCodec, type ImageCodec } from '../codec/image-codec.js';
import { PixelConverter } from '../codec/pixel-converter.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import { InvalidArgumentError, MalformedDataError, NotFoundError, OutOfToleranceError } from '../core/errors.js';
import type { Frame, PixelFormat } from '../core/frame.js';
import type { VideoPacket } from '../core/packet.js';
import { nsToSeconds, secondsToNs } from '../core/time.js';
import { ChunkCache, type Entry } from './chunk-cache.js';
import { messageDecoder, type MessageDecoder } from '../wire/foxglove-messages.js';
import { FrameIdChannels } from './frame-id-channels.js';
import { openMcapSource, type McapSource } from './mcap-source.js';
import { describeChannel, STREAM_SCHEMAS } from './recording-format.js';
import { StreamCursor, type Location } from './stream-cursor.js';
import { isStreamCodec, isVideoStreamCodec, keyframeAtOrBefore, type StreamCodec } from './stream-index.js';
import { streamCodecOf } from './stream-indexer.js';
import { IndexDisagreementError } from './stream-index-check.js';
import { StreamIndexes, type IndexableStream, type StreamInfo } from './stream-indexes.js';
import { decodeItem, type StreamItem } from './stream-message.js';
import { VideoSeeker } from './video-seeker.js';
import { logToStderr, type LogSink } from '../core/log.js';

/** How to open a recording. */
export interface RecordingReaderOptions {
  /** Receives warnings: an unfinished file read by scanning, damaged chunks skipped. Default: stderr. */
  warn?: LogSink;
  /** Bytes of parsed chunks kept in memory for nearby reads. Default 64 MiB. */
  chunkCacheBytes?: number;
  /** Bytes of decoded frames kept per stream, so repeated and nearby requests skip decoding. Default 64 MiB. */
  frameCacheBytes?: number;
}

export type { StreamInfo } from './stream-indexes.js';

/** A time range, ns since the Unix epoch, both ends included. Omitted ends are open. */
export interface TimeRange {
  start?: bigint;
  end?: bigint;
}

/** A recorded channel that is not a stream: telemetry, commands, anything else a recorder stored. */
export interface RecordedChannel {
  topic: string;
  /** Its schema's name (e.g. an LCM type's, `fbgeom.vec3_t`); empty when it has none. */
  schema: string;
  /** How its messages are encoded (`json`, `protobuf`, …). */
  encoding: string;
  /** Its messages as the file counts them (summary statistics or the scan); undefined when the file does not say. */
  messages: number | undefined;
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

interface StreamState {
  readonly name: string;
  readonly channel: Channel;
  readonly schemaName: string;
  readonly decode: MessageDecoder;
  readonly cursor: StreamCursor;
  /** framebus wrote this stream: stored sequence numbers are the publisher's. */
  readonly framebusWritten: boolean;
  codec: StreamCodec | undefined;
  /** The index once known: its picture size fills in for channels that state none. */
  info: StreamInfo | undefined;
  seeker: VideoSeeker | undefined;
  imageCodec: ImageCodec | undefined;
}

function checkTime(t: unknown, what: string): asserts t is bigint {
  if (typeof t !== 'bigint') throw new InvalidArgumentError(`${what} must be a bigint of ns since the Unix epoch, got ${String(t)}.`);
  if (t < 0n) throw new InvalidArgumentError(`${what} must not be negative, got ${t} ns.`);
}

/**
 * Reads a recording (or any MCAP file with Foxglove video or image messages): lists its
 * streams, iterates packets or decoded frames over a time range, and finds the frames at any
 * times, decoding from the key packet at or before each.
 *
 * The work is split as @mcap/core splits finding from walking: a `ChunkCache` reads and
 * parses chunks, a `StreamCursor` per stream walks them in time order, a `VideoSeeker` per
 * video stream owns its decoder and decoded frames. Finished files are read through their
 * MCAP index; unfinished ones by scanning, with a warning. A stream index stored in the file
 * is used only when it agrees with the file; otherwise it is rebuilt by reading the stream.
 */
export class RecordingReader {
  private readonly states = new Map<string, StreamState>();
  private readonly chunks: ChunkCache;
  private readonly warn: (message: string) => void;
  private readonly frameCacheBytes: number;
  private readonly converter = new PixelConverter();
  private readonly indexes: StreamIndexes;

  private constructor(
    private readonly source: McapSource,
    options: RecordingReaderOptions,
  ) {
    this.warn = options.warn ?? logToStderr;
    this.frameCacheBytes = options.frameCacheBytes ?? 64 * 1024 * 1024;
    this.indexes = new StreamIndexes(source, this.warn);
    this.chunks = new ChunkCache(source, new FrameIdChannels(source.schemas, source.channels), options.chunkCacheBytes ?? 64 * 1024 * 1024);
    this.discoverStreams();
  }

  /**
   * Opens a recording.
   * @throws NotFoundError when the file does not exist; MalformedDataError when it is not an
   *   MCAP file.
   */
  static async open(path: string, options: RecordingReaderOptions = {}): Promise<RecordingReader> {
    const source = await openMcapSource(path);
    if (!source.indexed) (options.warn ?? logToStderr)(`${path}: ${source.problem}. Reading it by scanning; \`framebus recover\` makes it a complete file.`);
    return new RecordingReader(source, options);
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

  /** The channels that are not streams (telemetry, commands, …), in channel order. */
  otherChannels(): RecordedChannel[] {
    const out: RecordedChannel[] = [];
    for (const [id, channel] of this.source.channels) {
      if (this.states.has(channel.topic)) continue;
      const schema = this.source.schemas.get(channel.schemaId);
      out.push({ topic: channel.topic, schema: schema?.name ?? '', encoding: channel.messageEncoding, messages: this.source.messageCount(id) });
    }
    return out;
  }

  private discoverStreams(): void {
    const { schemas, channels, chunks } = this.source;
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
      const positions = chunks.filter((c) => c.channels.has(channel.id)).map((c) => c.position);
      this.states.set(channel.topic, {
        name: channel.topic,
        channel,
        schemaName: schema.name,
        decode,
        cursor: new StreamCursor(channel.topic, this.source, this.chunks, channel.id, positions),
        framebusWritten: isStreamCodec(describeChannel(channel).codec),
        codec: streamCodecOf(channel, schema.name),
        info: undefined,
        seeker: undefined,
        imageCodec: undefined,
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

  private async item(s: StreamState, e: Entry): Promise<StreamItem> {
    const codec = await this.codecOf(s, e);
    let message: Record<string, unknown>;
    try {
      message = s.decode(e.data);
    } catch (error) {
      throw new MalformedDataError(`Stream ${s.name}: the message at ${e.logTime} ns does not decode (${(error as Error).message}).`, { cause: error });
    }
    const stated = describeChannel(s.channel);
    const width = stated.width ?? s.info?.width ?? 0;
    const height = stated.height ?? s.info?.height ?? 0;
    return decodeItem(message, { codec, width, height, sequence: e.sequence, frameId: e.frameId, logTime: e.logTime });
  }

  /** The codec of a stream; for files from other tools, read from its first readable message. */
  private async codecOf(s: StreamState, first?: Entry): Promise<StreamCodec> {
    if (s.codec) return s.codec;
    let e = first;
    const segments = (await s.cursor.segments()).length;
    // A damaged chunk says nothing; a later one may name the codec.
    for (let g = 0; !e && g < segments; g++) e = (await s.cursor.entries(g).catch(() => []))[0];
    if (!e) throw new MalformedDataError(`Stream ${s.name} has no readable messages.`);
    let message: Record<string, unknown>;
    try {
      message = s.decode(e.data);
    } catch (error) {
      throw new MalformedDataError(`Stream ${s.name}: its first message does not decode (${(error as Error).message}).`, { cause: error });
    }
    const codec = streamCodecOf(s.channel, s.schemaName, message);
    if (!codec) throw new MalformedDataError(`Stream ${s.name} has format ${JSON.stringify(message.format)}, which framebus does not read.`);
    s.codec = codec;
    return codec;
  }

  private async indexOf(s: StreamState): Promise<StreamInfo> {
    s.info = await this.indexes.of(this.indexable(s));
    return s.info;
  }

  private indexable(s: StreamState): IndexableStream {
    return { ...s, codec: () => this.codecOf(s) };
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

  /**
   * Stored items (packets, images or raw frames) of a stream in time order, byte for byte.
   * @throws NotFoundError for an unknown stream; MalformedDataError at a damaged chunk.
   */
  async *packets(name: string, range: TimeRange = {}): AsyncGenerator<StreamItem> {
    const s = this.state(name);
    if (range.start !== undefined) checkTime(range.start, 'Range start');
    if (range.end !== undefined) checkTime(range.end, 'Range end');
    for (let loc = await s.cursor.locate(range.start ?? 0n); loc; loc = await s.cursor.next(loc)) {
      const e = await s.cursor.at(loc);
      if (range.end !== undefined && e.logTime > range.end) return;
      yield await this.item(s, e);
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
   * whole stream from its start produces it: `framesAt(name, [t])`.
   * @throws OutOfToleranceError naming the requested and nearest timestamps when the nearest
   *   frame is farther than `tolerance`; InvalidArgumentError for a negative or non-bigint time;
   *   NotFoundError for an unknown stream; MalformedDataError when the frame cannot be decoded.
   */
  async frameAt(name: string, t: bigint, options: FrameAtOptions = {}): Promise<Frame> {
    return (await this.framesAt(name, [t], options))[0];
  }

  /**
   * The frames nearest to each of `times` (ns since the Unix epoch), each bit-exactly as a
   * decode of the whole stream produces it, decoded in one pass in time order (each GOP once)
   * and returned in the order asked. Safe to call concurrently.
   * @throws OutOfToleranceError for the first time whose nearest frame is farther than
   *   `tolerance` (nothing is decoded then); InvalidArgumentError for a negative or non-bigint
   *   time; NotFoundError for an unknown stream; MalformedDataError when a frame cannot be decoded.
   */
  async framesAt(name: string, times: readonly bigint[], options: FrameAtOptions = {}): Promise<Frame[]> {
    const s = this.state(name);
    if (!Array.isArray(times)) throw new InvalidArgumentError('framesAt() takes an array of bigint timestamps.');
    times.forEach((t, i) => checkTime(t, times.length === 1 ? 'Time' : `Time ${i}`));
    if (options.tolerance !== undefined) checkTime(options.tolerance, 'Tolerance');
    const info = await this.indexOf(s);
    const found: { loc: Location; entry: Entry }[] = [];
    for (const t of times) {
      const n = await s.cursor.nearest(t);
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
    const codec = info.codec;
    if (!isVideoStreamCodec(codec)) return this.decodeImage(s, await this.item(s, entry), format);
    const k = keyframeAtOrBefore(info.keyframes, entry.logTime);
    if (k < 0) throw new MalformedDataError(`Stream ${s.name}: no key packet at or before ${entry.logTime} ns, so that frame cannot be decoded.`);
    s.seeker ??= new VideoSeeker({ cursor: s.cursor, codec, framebusWritten: s.framebusWritten, item: (e) => this.item(s, e) }, this.converter, this.frameCacheBytes);
    try {
      return await s.seeker.frameAt(loc, entry, info.keyframes[k].timestamp, format);
    } catch (error) {
      if (!(error instanceof IndexDisagreementError) || !info.indexed) throw error;
      const rebuilt = await this.indexes.distrust(this.indexable(s), info, error.message);
      s.info = rebuilt;
      return this.decodeAt(s, rebuilt, loc, entry, format);
    }
  }

  /** Frees decoders and closes the file. */
  async close(): Promise<void> {
    for (const s of this.states.values()) await s.seeker?.close();
    this.chunks.clear();
    this.converter.close();
    await this.source.close();
  }
}
