import { access } from 'node:fs/promises';
import { Demuxer } from 'node-av/api';
import { Codec, CodecContext, Frame as AvFrame, Packet, type Stream } from 'node-av/lib';
import { AVERROR_EAGAIN } from 'node-av/constants';
import type { AVPixelFormat } from 'node-av/constants';
import { CodecError, InvalidArgumentError, MalformedDataError, NotFoundError } from '../core/errors.js';
import type { Frame, PixelFormat } from '../core/frame.js';
import { frameDurationNs } from '../core/time.js';
import { quietFfmpegLogs } from '../codec/ffmpeg-log.js';
import { PixelConverter } from '../codec/pixel-converter.js';
import type { FrameSource, SourceInfo } from './frame-source.js';

/** Options of a video file or device source. */
export interface FileSourceOptions {
  /** Output width in pixels; with only one of width/height the other keeps the aspect ratio. */
  width?: number;
  /** Output height in pixels. */
  height?: number;
  /** Output frame rate: frames are dropped or repeated to match it. Default: the file's own. */
  fps?: number;
  /** Stop after this many output frames. */
  frames?: number;
  /** Output pixel format. Default rgb24. */
  format?: PixelFormat;
  /** Timestamp of the first frame, ns since the Unix epoch. Default 0 (file time). */
  startTimestamp?: bigint;
  /** FFmpeg input format, e.g. `'v4l2'` for a camera. Default: probed. */
  inputFormat?: string;
  /** FFmpeg input options, e.g. `{ video_size: '640x480' }` for a camera. */
  inputOptions?: Record<string, string>;
}

function rate(stream: Stream): number {
  const r = stream.avgFrameRate.num > 0 && stream.avgFrameRate.den > 0 ? stream.avgFrameRate : stream.rFrameRate;
  return r.num > 0 && r.den > 0 ? r.num / r.den : 30;
}

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}

/**
 * Frames of any video FFmpeg can read (files, URLs, devices), decoded once, scaled and
 * converted to the requested size and pixel format, at the file's or a given frame rate.
 */
export class FileSource implements FrameSource {
  readonly info: SourceInfo;
  private readonly converter = new PixelConverter();
  private closed = false;

  private constructor(
    private readonly demuxer: Demuxer,
    private readonly stream: Stream,
    private readonly options: FileSourceOptions & { width: number; height: number; fps: number; resample: boolean },
    info: SourceInfo,
  ) {
    this.info = info;
  }

  /**
   * Opens a video.
   * @throws NotFoundError when the file does not exist; MalformedDataError when FFmpeg cannot
   *   read it or it has no video stream; InvalidArgumentError for bad options.
   */
  static async open(path: string, options: FileSourceOptions = {}): Promise<FileSource> {
    quietFfmpegLogs();
    for (const [name, v] of [
      ['width', options.width],
      ['height', options.height],
      ['frames', options.frames],
    ] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new InvalidArgumentError(`${name} must be a positive whole number, got ${String(v)}.`);
    }
    if (options.fps !== undefined && !(Number.isFinite(options.fps) && options.fps > 0 && options.fps <= 1000)) {
      throw new InvalidArgumentError(`fps must be in (0, 1000], got ${String(options.fps)}.`);
    }
    if (!options.inputFormat) {
      try {
        await access(path);
      } catch {
        throw new NotFoundError(`Video file not found: ${path}`);
      }
    }
    let demuxer: Demuxer;
    try {
      demuxer = await Demuxer.open(path, {
        format: options.inputFormat,
        options: options.inputOptions as never,
      });
    } catch (error) {
      throw new MalformedDataError(`FFmpeg cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
    const stream = demuxer.video();
    if (!stream) {
      await demuxer.close();
      throw new MalformedDataError(`${path} has no video stream.`);
    }
    const srcW = stream.codecpar.width;
    const srcH = stream.codecpar.height;
    const width = options.width ?? (options.height ? even((options.height * srcW) / srcH) : srcW);
    const height = options.height ?? (options.width ? even((options.width * srcH) / srcW) : srcH);
    const fps = options.fps ?? rate(stream);
    const nb = Number(stream.nbFrames);
    const known = nb > 0 ? (options.fps ? Math.ceil((nb * options.fps) / rate(stream)) : nb) : undefined;
    const frameCount = options.frames !== undefined && known !== undefined ? Math.min(options.frames, known) : (options.frames ?? known);
    return new FileSource(demuxer, stream, { ...options, width, height, fps, resample: options.fps !== undefined }, {
      width,
      height,
      fps,
      frameCount,
      description: path,
      path,
    });
  }

  private toFrame(av: AvFrame, index: number, timestamp: bigint): Frame {
    return this.converter.fromAvPlanes(
      { data: av.data ?? [], strides: av.linesize, width: av.width, height: av.height, format: av.format as AVPixelFormat },
      { format: this.options.format ?? 'rgb24', width: this.options.width, height: this.options.height },
      { timestamp, frameId: index },
    );
  }

  private async openDecoder(): Promise<CodecContext> {
    const par = this.stream.codecpar;
    const codec = Codec.findDecoder(par.codecId);
    if (!codec) throw new CodecError(`No decoder for the video codec of ${this.info.description}.`);
    const ctx = new CodecContext();
    ctx.allocContext3(codec);
    ctx.parametersToContext(par);
    ctx.pktTimebase = this.stream.timeBase;
    ctx.threadCount = 0;
    if ((await ctx.open2(codec, null)) < 0) {
      ctx.freeContext();
      throw new CodecError(`Cannot open the decoder for ${this.info.description}.`);
    }
    return ctx;
  }

  /** Decoded pictures in presentation order; each is the caller's to free. */
  private async *pictures(ctx: CodecContext): AsyncGenerator<AvFrame> {
    const format = this.demuxer.getFormatContext();
    const packet = new Packet();
    packet.alloc();
    const drain = async function* () {
      for (;;) {
        const frame = new AvFrame();
        frame.alloc();
        if ((await ctx.receiveFrame(frame)) < 0) {
          frame.free();
          return;
        }
        yield frame;
      }
    };
    try {
      while (!this.closed && (await format.readFrame(packet)) >= 0) {
        const mine = packet.streamIndex === this.stream.index;
        const ret = mine ? await ctx.sendPacket(packet) : 0;
        packet.unref();
        if (ret < 0 && ret !== AVERROR_EAGAIN) continue;
        if (mine) yield* drain();
      }
      await ctx.sendPacket(null);
      yield* drain();
    } finally {
      packet.free();
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    const { frames: limit, startTimestamp = 0n } = this.options;
    const resample = this.options.resample;
    const period = frameDurationNs(this.options.fps);
    const tb = this.stream.timeBase;
    const inputFps = rate(this.stream);
    const decoder = await this.openDecoder();
    const full = () => limit !== undefined && out >= limit;
    let out = 0;
    let inputIndex = 0;
    let firstPts: number | undefined;
    let lastT = 0;
    // With a target rate, output slot k (time k/fps) shows the last picture at or before it.
    let held: { av: AvFrame; frame?: Frame } | undefined;
    const emitHeld = (until: number): Frame[] => {
      const frames: Frame[] = [];
      while (held && !full() && out / this.options.fps < until - 1e-6) {
        held.frame ??= this.toFrame(held.av, 0, 0n);
        frames.push({ ...held.frame, frameId: out, timestamp: startTimestamp + BigInt(out) * period });
        out++;
      }
      return frames;
    };
    try {
      for await (const av of this.pictures(decoder)) {
        if (this.closed || full()) break;
        const seconds = av.pts >= 0n && tb.den > 0 ? (Number(av.pts) * tb.num) / tb.den : inputIndex / inputFps;
        firstPts ??= seconds;
        const t = seconds - firstPts;
        lastT = t;
        inputIndex++;
        if (!resample) {
          yield this.toFrame(av, out, startTimestamp + BigInt(Math.round(t * 1e9)));
          out++;
          av.free();
          continue;
        }
        yield* emitHeld(t);
        held?.av.free();
        held = { av };
      }
      if (held && !this.closed) yield* emitHeld(lastT + 1 / inputFps);
    } finally {
      held?.av.free();
      decoder.freeContext();
      await this.close();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.converter.close();
    await this.demuxer.close();
  }
}
