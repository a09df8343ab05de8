import { FormatContext, Packet, Rational, Dictionary } from 'node-av/lib';
import * as C from 'node-av/constants';
import type { AVCodecID } from 'node-av/constants';
import { CodecError, InvalidArgumentError } from '../core/errors.js';
import { OutputFile, type OutputFileOptions } from '../core/output-file.js';
import type { VideoCodec, VideoPacket } from '../core/packet.js';
import { codecConfig } from './codec-config.js';
import { quietFfmpegLogs } from '../codec/ffmpeg-log.js';
import { ffmpegWriteError } from '../codec/ffmpeg-write-error.js';

/** How to write an MP4. */
export interface Mp4WriterOptions extends OutputFileOptions {
  /** Fragmented MP4 (a moof/mdat pair per key packet, playable while written). Default false: one moov up front (faststart). */
  fragmented?: boolean;
  /**
   * Presentation start, ns since the Unix epoch. Packets before it are stored (later frames
   * need them) but an edit list hides them, so playback starts exactly here. Default: the
   * first packet's timestamp.
   */
  presentationStart?: bigint;
  /** Duration of the last frame in ns when it cannot be inferred. Default: the previous frame's, else 1/30 s. */
  lastFrameDuration?: bigint;
  /** Replace an existing file (once the new one is complete). Default true. */
  overwrite?: boolean;
}

/** What an MP4 writer wrote. */
export interface Mp4Summary {
  packets: number;
  keyframes: number;
  /** Presentation duration in ns (from the presentation start to the end of the last frame). */
  durationNs: bigint;
}

const CODEC_IDS: Record<VideoCodec, AVCodecID> = {
  h264: C.AV_CODEC_ID_H264,
  h265: C.AV_CODEC_ID_HEVC,
  av1: C.AV_CODEC_ID_AV1,
  ffv1: C.AV_CODEC_ID_FFV1,
};

/** The muxer for a path: Matroska for `.mkv` (the container FFV1 needs), MP4 otherwise. */
function containerOf(path: string): 'matroska' | 'mp4' {
  return path.toLowerCase().endsWith('.mkv') ? 'matroska' : 'mp4';
}

/** 90 kHz, the usual video timescale: exact for 30, 25, 24 and 60 fps. */
const TIME_BASE = { num: 1, den: 90000 };

/** ns → 90 kHz ticks, rounded to nearest so 1/30 s frames land on exact 3000-tick steps. */
function toTicks(ns: bigint): bigint {
  const scaled = ns * 90000n + 500_000_000n;
  const q = scaled / 1_000_000_000n;
  return scaled % 1_000_000_000n < 0n ? q - 1n : q;
}

/**
 * Writes `VideoPacket`s into an MP4 or fragmented MP4 file without re-encoding: the packets'
 * bytes become the samples. A path ending in `.mkv` gets Matroska instead (FFV1 needs it). The first packet must be a key packet; timestamps must rise.
 * The file is written beside its destination under a `.partial-` name (see `OutputFile`) and
 * appears at `path` only when `close()` succeeds; `abort()` leaves nothing.
 */
export class Mp4Writer {
  private ctx: FormatContext | undefined;
  private output: OutputFile | undefined;
  private streamTimeBase = TIME_BASE;
  private readonly avPacket = new Packet();
  private held: VideoPacket | undefined;
  private lastDuration: bigint | undefined;
  private start: bigint | undefined;
  private first: bigint | undefined;
  private end = 0n;
  private readonly summary: Mp4Summary = { packets: 0, keyframes: 0, durationNs: 0n };
  private closed = false;

  private constructor(
    private readonly path: string,
    private readonly options: Mp4WriterOptions,
  ) {
    this.avPacket.alloc();
  }

  /**
   * Prepares a writer for `path`; the destination is checked and the partial file created at
   * the first packet (see `checkOutputPath` for what is refused).
   */
  static open(path: string, options: Mp4WriterOptions = {}): Mp4Writer {
    if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('MP4 output path must be a non-empty string.');
    quietFfmpegLogs();
    return new Mp4Writer(path, options);
  }

  private async begin(packet: VideoPacket): Promise<void> {
    if (!packet.key) throw new InvalidArgumentError('An MP4 must start with a key packet; the first packet given is a delta packet.');
    if (packet.codec === 'ffv1' && containerOf(this.path) !== 'matroska') {
      throw new InvalidArgumentError(`FFV1 video cannot go in an MP4; write it to a .mkv file instead of ${this.path}.`);
    }
    this.output = await OutputFile.create(this.path, { inputs: this.options.inputs, overwrite: this.options.overwrite ?? true });
    try {
      await this.openMuxer(packet, this.output.tempPath);
    } catch (error) {
      await this.output.discard();
      throw error;
    }
  }

  private async openMuxer(packet: VideoPacket, file: string): Promise<void> {
    const ctx = new FormatContext();
    let ret = ctx.allocOutputContext2(null, containerOf(this.path), file);
    if (ret < 0) throw new CodecError(`Cannot create a ${containerOf(this.path)} muxer for ${this.path} (FFmpeg error ${ret}).`);
    const stream = ctx.newStream(null);
    const par = stream.codecpar;
    par.codecType = C.AVMEDIA_TYPE_VIDEO;
    par.codecId = CODEC_IDS[packet.codec];
    par.width = packet.width;
    par.height = packet.height;
    par.format = packet.codec === 'ffv1' ? C.AV_PIX_FMT_GRAY16LE : C.AV_PIX_FMT_YUV420P;
    par.extradata = codecConfig(packet.codec, packet.data);
    stream.timeBase = new Rational(TIME_BASE.num, TIME_BASE.den);
    ret = await ctx.openOutput();
    if (ret < 0) {
      ctx.freeContext();
      throw ffmpegWriteError(ret, `Cannot open ${this.path} for writing`);
    }
    const movflags = this.options.fragmented ? '+frag_keyframe+empty_moov+default_base_moof' : '+faststart';
    ret = await ctx.writeHeader(containerOf(this.path) === 'mp4' ? Dictionary.fromObject({ movflags }) : null);
    if (ret < 0) {
      await ctx.closeOutput();
      ctx.freeContext();
      throw ffmpegWriteError(ret, `Cannot write the MP4 header of ${this.path}`);
    }
    const tb = stream.timeBase;
    this.streamTimeBase = { num: tb.num, den: tb.den };
    this.ctx = ctx;
    this.first = packet.timestamp;
    this.start = this.options.presentationStart ?? packet.timestamp;
  }

  /** Adds one packet. */
  async write(packet: VideoPacket): Promise<void> {
    if (this.closed) throw new InvalidArgumentError('This MP4 writer is closed.');
    if (packet?.kind !== 'video-packet') throw new InvalidArgumentError('Mp4Writer.write() takes a VideoPacket.');
    if (!this.ctx) await this.begin(packet);
    const held = this.held;
    if (held) {
      if (packet.codec !== held.codec || packet.width !== held.width || packet.height !== held.height) {
        throw new InvalidArgumentError(
          `An MP4 track holds one codec and size; got ${packet.codec} ${packet.width}x${packet.height} after ${held.codec} ${held.width}x${held.height}.`,
        );
      }
      if (packet.timestamp <= held.timestamp) {
        throw new InvalidArgumentError(`Packet timestamps must rise: ${packet.timestamp} ns follows ${held.timestamp} ns.`);
      }
      await this.mux(held, packet.timestamp - held.timestamp);
    }
    this.held = packet;
  }

  private async mux(packet: VideoPacket, duration: bigint): Promise<void> {
    const ctx = this.ctx!;
    const pkt = this.avPacket;
    pkt.data = Buffer.isBuffer(packet.data) ? packet.data : Buffer.from(packet.data);
    const pts = toTicks(packet.timestamp - this.start!);
    const ticks = toTicks(packet.timestamp + duration - this.start!) - pts;
    pkt.pts = pts;
    pkt.dts = pts;
    pkt.duration = ticks > 0n ? ticks : 1n;
    pkt.streamIndex = 0;
    pkt.isKeyframe = packet.key;
    pkt.rescaleTs(TIME_BASE, this.streamTimeBase);
    const ret = await ctx.interleavedWriteFrame(pkt);
    pkt.unref();
    if (ret < 0) throw ffmpegWriteError(ret, `Cannot write packet ${packet.sequence} to ${this.path}`);
    this.lastDuration = duration;
    this.summary.packets++;
    if (packet.key) this.summary.keyframes++;
    this.end = packet.timestamp + duration;
  }

  /**
   * Writes the last packet and the index, closes the file and puts it in place at `path`.
   * When finishing fails, nothing is left at `path` or beside it.
   */
  async close(): Promise<Mp4Summary> {
    if (this.closed) return this.summary;
    this.closed = true;
    try {
      if (!this.ctx) {
        await this.release();
        return this.summary;
      }
      if (this.held) await this.mux(this.held, this.options.lastFrameDuration ?? this.lastDuration ?? 33_333_333n);
      const ret = await this.ctx.writeTrailer();
      if (ret < 0) throw ffmpegWriteError(ret, `Cannot finish ${this.path}`);
      this.summary.durationNs = this.end - (this.start ?? this.first ?? 0n);
    } catch (error) {
      await this.release();
      await this.output?.discard();
      throw error;
    }
    await this.release();
    await this.output?.commit();
    return this.summary;
  }

  /** Stops writing and deletes what was written: a job that failed leaves no file. Idempotent. */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.release();
    await this.output?.discard();
  }

  private async release(): Promise<void> {
    const ctx = this.ctx;
    this.ctx = undefined;
    if (ctx) {
      await ctx.closeOutput();
      ctx.freeContext();
    }
    this.avPacket.free();
  }
}

/**
 * Writes a whole packet stream to an MP4 file, atomically: when the packets or the writing
 * fail, nothing is left at `path` (an existing file there is untouched).
 */
export async function writeMp4(
  path: string,
  packets: Iterable<VideoPacket> | AsyncIterable<VideoPacket>,
  options: Mp4WriterOptions = {},
): Promise<Mp4Summary> {
  const writer = Mp4Writer.open(path, options);
  try {
    for await (const p of packets) await writer.write(p);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return writer.close();
}
