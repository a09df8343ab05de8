import { stat } from 'node:fs/promises';
import type { Metadata } from '@mcap/core';
import type { CompressedImage } from '../core/compressed-image.js';
import { InvalidArgumentError } from '../core/errors.js';
import { OutputFile, type OutputFileOptions } from '../core/output-file.js';
import type { Frame } from '../core/frame.js';
import type { VideoCodec, VideoPacket } from '../core/packet.js';
import { FrameReorderCheck } from '../codec/frame-reordering.js';
import { createImageCodec, type ImageCodec } from '../codec/image-codec.js';
import { PixelConverter } from '../codec/pixel-converter.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import type { VideoEncoderOptions } from '../codec/video-encoder-options.js';
import { encodeFrameId, schemaFor } from '../wire/foxglove-messages.js';
import type { LcmMessageType } from '../wire/lcm-struct-codec.js';
import { McapFileWriter, type McapFileWriterOptions } from './mcap-file-writer.js';
import {
  indexToMetadata,
  isStreamCodec,
  isVideoStreamCodec,
  StreamIndexBuilder,
  STREAM_CODECS,
  type StreamCodec,
  type StreamIndex,
} from './stream-index.js';
import { encodeItem, isKeyItem, payloadBytes, rawStorable, schemaKindOf, type StreamItem } from './stream-message.js';
import { channelMetadata } from './recording-format.js';
import { TelemetryChannel } from './telemetry-channel.js';

/** How a recording file is written; `inputs` are files the recording is made from, which it refuses to replace. */
export type RecordingOptions = McapFileWriterOptions & Pick<OutputFileOptions, 'inputs'>;

/** How one stream of a recording stores its frames. */
export interface StreamOptions {
  /** `h264` (default), `h265`, `av1`, `jpeg`, `png` or `raw`. */
  codec?: StreamCodec;
  /**
   * Encoder settings for frames written to a video stream. Width and height default to the
   * first frame's; other defaults are VideoEncoder's (GOP 30, no B-frames).
   */
  encoder?: Partial<VideoEncoderOptions>;
  /** JPEG quality 1–100 for frames written to a `jpeg` stream. Default 90. */
  quality?: number;
  /** Foxglove's `frame_id`: the coordinate frame of the camera. Default empty. */
  coordinateFrame?: string;
  /**
   * The stream this one continues after its source restarted with a new clock, sequence,
   * size or codec (a bus recorder's `<topic>@2`, …); stored as channel metadata.
   */
  segmentOf?: string;
}

/** What a finished recording holds. */
export interface RecordingSummary {
  path: string;
  /** Size of the file in bytes. */
  fileBytes: number;
  streams: StreamIndex[];
}

const MAX_SEQUENCE = 0xffff_ffff;
const MAX_TIMESTAMP = (1n << 64n) - 1n;

function checkStreamName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256 || /[\u0000-\u001f]/.test(name)) {
    throw new InvalidArgumentError(`Stream name must be 1–256 printable characters, got ${JSON.stringify(name)}.`);
  }
}

/**
 * One named stream of a recording. Frames written to it are encoded once by the stream's
 * codec; packets and images written to it are stored byte for byte.
 *
 * Storage (so Foxglove opens the file as is): one MCAP channel per stream, topic = the stream
 * name, protobuf messages of Foxglove's `CompressedVideo`, `CompressedImage` or `RawImage`.
 * framebus's own per-packet data lives where Foxglove does not look:
 * - sequence number: the MCAP message's `sequence` field;
 * - key flag: derived from the bitstream, and listed in the stream index (MCAP metadata
 *   record `framebus.stream-index`, written at close);
 * - frame id: equal to the sequence number unless stated otherwise; a packet whose frame id
 *   differs gets a `framebus.FrameId` message on the side channel `<stream>/framebus.frame_id`
 *   with the same log time, written just before it;
 * - codec and size: the channel's metadata (`framebus.codec`, `framebus.width`, `framebus.height`).
 * Log and publish time of every message are the packet's timestamp.
 */
export class RecordingStream {
  /** The stream's name (its MCAP topic). */
  readonly name: string;
  readonly codec: StreamCodec;

  private readonly index: StreamIndexBuilder;
  /** Packets given ready-made must play in arrival order (encoder output never reorders). */
  private readonly reorderCheck: FrameReorderCheck;
  private channelId: number | undefined;
  private frameIdChannel: number | undefined;
  private encoder: VideoEncoder | undefined;
  private encoderOpening: Promise<VideoEncoder> | undefined;
  private imageCodec: ImageCodec | undefined;
  private converter: PixelConverter | undefined;
  private lastTimestamp: bigint | undefined;
  private nextSequence = 0;
  private pending: Promise<void> = Promise.resolve();

  /** @internal Created by `Recording.addStream`. */
  constructor(
    private readonly file: McapFileWriter,
    name: string,
    private readonly options: StreamOptions,
  ) {
    this.name = name;
    this.codec = options.codec ?? 'h264';
    this.index = new StreamIndexBuilder(name, this.codec);
    this.reorderCheck = new FrameReorderCheck(this.codec as VideoCodec);
  }

  /**
   * Encodes a frame with the stream's codec and stores the result. Frames must come in
   * rising timestamp order. A video encoder may hold frames back; `Recording.close` writes them.
   * @throws InvalidArgumentError for something other than a frame or a timestamp that does not rise.
   */
  writeFrame(frame: Frame): Promise<void> {
    if (frame?.kind !== 'frame') return Promise.reject(new InvalidArgumentError(`Stream ${this.name}: writeFrame() takes a Frame.`));
    return this.serial(async () => {
      if (isVideoStreamCodec(this.codec)) {
        const encoder = await this.openEncoder(frame);
        for (const packet of await encoder.encode(frame)) await this.store(packet);
      } else if (this.codec === 'raw') {
        this.converter ??= new PixelConverter();
        await this.store(rawStorable(frame.format) ? frame : this.converter.convert(frame, { format: 'nv12' }));
      } else {
        this.imageCodec ??= createImageCodec(this.codec, { quality: this.options.quality });
        await this.store(await this.imageCodec.encode(frame));
      }
    });
  }

  /**
   * Stores an encoded packet (video streams) or image (jpeg/png streams) byte for byte, never
   * re-encoding it. The packet's codec and size must match the stream's.
   * @throws InvalidArgumentError when the packet does not belong in this stream.
   */
  writePacket(packet: VideoPacket | CompressedImage): Promise<void> {
    return this.serial(async () => {
      if (packet?.kind === 'video-packet') {
        if (packet.codec !== this.codec) throw new InvalidArgumentError(`Stream ${this.name} holds ${this.codec}; got a ${String(packet.codec)} packet.`);
        this.reorderCheck.requireInOrder(packet.data, `Stream ${this.name}: packet ${packet.sequence}`);
      } else if (packet?.kind === 'compressed-image') {
        if (packet.format !== this.codec) throw new InvalidArgumentError(`Stream ${this.name} holds ${this.codec}; got a ${String(packet.format)} image.`);
      } else {
        throw new InvalidArgumentError(`Stream ${this.name}: writePacket() takes a VideoPacket or CompressedImage.`);
      }
      await this.store(packet);
    });
  }

  /** Packets stored so far. */
  get frames(): number {
    return this.index.frames;
  }

  /** Payload bytes stored so far (encoded data, no container). */
  get bytes(): number {
    return this.index.bytes;
  }

  /** The stream's index so far. */
  summary(): StreamIndex {
    return this.index.build();
  }

  private serial(task: () => Promise<void>): Promise<void> {
    const next = this.pending.then(task);
    this.pending = next.catch(() => undefined);
    return next;
  }

  private async openEncoder(frame: Frame): Promise<VideoEncoder> {
    if (this.encoder) return this.encoder;
    this.encoderOpening ??= VideoEncoder.create({
      width: frame.width,
      height: frame.height,
      ...this.options.encoder,
      codec: this.codec as VideoEncoderOptions['codec'],
    });
    this.encoder = await this.encoderOpening;
    if (this.encoder.codec !== this.codec) throw new InvalidArgumentError(`Stream ${this.name} is ${this.codec}, but the encoder makes ${this.encoder.codec}.`);
    return this.encoder;
  }

  private async channel(item: StreamItem): Promise<number> {
    if (this.channelId !== undefined) return this.channelId;
    this.index.width = item.width;
    this.index.height = item.height;
    const schemaId = await this.file.registerSchema(schemaFor(schemaKindOf(this.codec)));
    this.channelId = await this.file.registerChannel({
      schemaId,
      topic: this.name,
      messageEncoding: 'protobuf',
      metadata: channelMetadata({ codec: this.codec, width: item.width, height: item.height, segmentOf: this.options.segmentOf }),
    });
    return this.channelId;
  }

  private async sideChannel(): Promise<number> {
    if (this.frameIdChannel !== undefined) return this.frameIdChannel;
    const schemaId = await this.file.registerSchema(schemaFor('frameId'));
    this.frameIdChannel = await this.file.registerChannel({
      schemaId,
      topic: `${this.name}/framebus.frame_id`,
      messageEncoding: 'protobuf',
      metadata: channelMetadata({ frameIdsOf: this.name }),
    });
    return this.frameIdChannel;
  }

  private async store(item: StreamItem): Promise<void> {
    const { timestamp } = item;
    if (typeof timestamp !== 'bigint' || timestamp < 0n || timestamp > MAX_TIMESTAMP) {
      throw new InvalidArgumentError(`Stream ${this.name}: timestamps must be bigint ns since the Unix epoch (0 to 2^64-1), got ${String(timestamp)}.`);
    }
    if (this.lastTimestamp !== undefined && timestamp <= this.lastTimestamp) {
      throw new InvalidArgumentError(`Stream ${this.name}: timestamps must rise; ${timestamp} ns follows ${this.lastTimestamp} ns.`);
    }
    if (this.index.width !== 0 && (item.width !== this.index.width || item.height !== this.index.height)) {
      throw new InvalidArgumentError(
        `Stream ${this.name} is ${this.index.width}x${this.index.height}; a ${item.width}x${item.height} picture needs a stream of its own.`,
      );
    }
    const sequence = item.kind === 'video-packet' ? item.sequence : this.nextSequence;
    if (!Number.isInteger(sequence) || sequence < 0 || sequence > MAX_SEQUENCE) {
      throw new InvalidArgumentError(`Stream ${this.name}: sequence must be a whole number from 0 to 2^32-1, got ${String(sequence)}.`);
    }
    const channelId = await this.channel(item);
    const message = { channelId, sequence, logTime: timestamp, publishTime: timestamp, data: encodeItem(item, this.options.coordinateFrame ?? '') };
    if (item.frameId === sequence) {
      await this.file.addMessages([message]);
    } else {
      const side = { ...message, channelId: await this.sideChannel(), data: encodeFrameId({ sequence, frameId: item.frameId }) };
      await this.file.addMessages([side, message]);
    }
    this.lastTimestamp = timestamp;
    this.nextSequence = sequence + 1;
    this.index.add(timestamp, sequence, isKeyItem(item), payloadBytes(item));
  }

  /** @internal Writes what the encoder still holds and frees it. */
  async finish(): Promise<void> {
    await this.serial(async () => {
      const encoder = this.encoder;
      if (!encoder) return;
      try {
        for (const packet of await encoder.flush()) await this.store(packet);
      } finally {
        encoder.close();
        this.encoder = undefined;
      }
    });
    this.converter?.close();
  }

  /** @internal Frees the encoder without writing what it holds. */
  discard(): void {
    this.encoder?.close();
    this.encoder = undefined;
    this.converter?.close();
  }
}

/**
 * A recording being written: an MCAP file with one or more named streams, readable by
 * `RecordingReader`, Foxglove and any MCAP tool.
 *
 * While it is written the file is `<name>.partial-<8 hex>.mcap` beside `path` (`writingPath`);
 * `close()` finishes it and renames it to `path`, so `path` only ever holds a complete
 * recording and a file it replaces stays intact until then. Chunks reach the partial file
 * within `flushInterval` of their messages while frames arrive, so a killed recorder loses at
 * most that much: its partial file stays, readable as it is, and `recover` turns it into a
 * complete one. When finishing fails (a full disk), the partial file is kept too.
 *
 * ```ts
 * const rec = await Recording.create('run.mcap');
 * const cam = rec.addStream('camera', { codec: 'h264' });
 * for await (const frame of source) await cam.writeFrame(frame);
 * await rec.close();
 * ```
 */
export class Recording {
  private readonly streams = new Map<string, RecordingStream>();
  private closing: Promise<RecordingSummary> | undefined;

  private constructor(
    private readonly file: McapFileWriter,
    private readonly output: OutputFile,
  ) {}

  /** The file's path once it is finished. */
  get path(): string {
    return this.output.path;
  }

  /** Where the file is while it is written: what to `recover` after a crash. */
  get writingPath(): string {
    return this.output.tempPath;
  }

  /**
   * Starts a recording that will be `path` once closed.
   * @throws InvalidArgumentError when the file exists (without `overwrite`), is an input, a
   *   folder or a special file, or options are bad; NotFoundError when its folder does not
   *   exist; FileSystemError when the folder takes no new file.
   */
  static async create(path: string, options: RecordingOptions = {}): Promise<Recording> {
    const output = await OutputFile.create(path, options);
    try {
      const kept = `What was written before is kept in ${output.tempPath}; once there is room, \`framebus recover ${output.tempPath} --out ${path}\` makes it a complete recording.`;
      return new Recording(await McapFileWriter.create(output.tempPath, { ...options, overwrite: true }, kept), output);
    } catch (error) {
      await output.discard();
      throw error;
    }
  }

  /**
   * Adds a stream named `name` (its MCAP topic).
   * @throws InvalidArgumentError for a duplicate or invalid name or an unknown codec.
   */
  addStream(name: string, options: StreamOptions = {}): RecordingStream {
    checkStreamName(name);
    if (this.closing) throw new InvalidArgumentError(`${this.path} is closed; no streams can be added.`);
    if (this.streams.has(name)) throw new InvalidArgumentError(`This recording already has a stream named ${JSON.stringify(name)}.`);
    if (options.codec !== undefined && !isStreamCodec(options.codec)) {
      throw new InvalidArgumentError(`Unknown stream codec ${JSON.stringify(options.codec)}; expected one of ${STREAM_CODECS.join(', ')}.`);
    }
    const stream = new RecordingStream(this.file, name, options);
    this.streams.set(name, stream);
    return stream;
  }

  /**
   * Writes an MCAP metadata record (a name and string pairs), e.g. a recorder's counts.
   * @throws InvalidArgumentError when the recording is closed.
   */
  async addMetadata(record: Metadata): Promise<void> {
    if (this.closing) throw new InvalidArgumentError(`${this.path} is closed; no metadata can be added.`);
    await this.file.addMetadata(record);
  }

  /** A typed telemetry channel (JSON with a JSON Schema from the LCM type) on `topic`. */
  addTelemetry(topic: string, type: LcmMessageType<unknown>): TelemetryChannel {
    checkStreamName(topic);
    if (this.closing) throw new InvalidArgumentError(`${this.path} is closed; no channels can be added.`);
    return new TelemetryChannel(this.file, topic, type);
  }

  /** The stream named `name`, if added. */
  stream(name: string): RecordingStream | undefined {
    return this.streams.get(name);
  }

  /**
   * Writes what encoders still hold, each stream's index, and the MCAP summary, closes the
   * file and renames it to `path`. Idempotent. When this fails the unfinished file stays at
   * `writingPath`.
   */
  close(): Promise<RecordingSummary> {
    this.closing ??= (async () => {
      let streams: StreamIndex[];
      try {
        for (const s of this.streams.values()) await s.finish();
        streams = [...this.streams.values()].map((s) => s.summary()).filter((s) => s.frames > 0);
        for (const s of streams) await this.file.addMetadata(indexToMetadata(s));
        await this.file.close();
      } catch (error) {
        for (const s of this.streams.values()) s.discard();
        await this.file.abandon();
        throw error;
      }
      await this.output.commit();
      return { path: this.path, fileBytes: (await stat(this.path)).size, streams };
    })();
    return this.closing;
  }

  /**
   * Stops without finishing and deletes the file: for a job whose partial output is of no
   * use (a failed import). Nothing is left at `path` or `writingPath`.
   */
  async discard(): Promise<void> {
    if (this.closing) {
      await this.closing.catch(() => undefined);
    } else {
      this.closing = Promise.reject(new InvalidArgumentError(`${this.path} was discarded; it cannot be closed.`));
      this.closing.catch(() => undefined);
      for (const s of this.streams.values()) s.discard();
      await this.file.abandon();
    }
    await this.output.discard();
  }
}
