import { Demuxer } from 'node-av/api';
import { Codec, CodecContext, Frame as AvFrame, Packet, type Stream } from 'node-av/lib';
import { AV_FRAME_FLAG_CORRUPT, AV_FRAME_FLAG_KEY, AV_NOPTS_VALUE, AV_PKT_FLAG_DISCARD, AV_TIME_BASE, AVERROR_EAGAIN } from 'node-av/constants';
import type { AVPixelFormat } from 'node-av/constants';
import { CodecError, InvalidArgumentError, MalformedDataError } from '../core/errors.js';
import type { Frame, PixelFormat } from '../core/frame.js';
import { logToStderr, type LogSink } from '../core/log.js';
import { frameDurationNs, secondsToNs } from '../core/time.js';
import { quietFfmpegLogs } from '../codec/ffmpeg-log.js';
import { PixelConverter } from '../codec/pixel-converter.js';
import type { FrameSource, SourceInfo } from './frame-source.js';
import { PresentationTimes } from './presentation-times.js';
import { checkInputFile } from '../core/input-file.js';

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
  /** Receives warnings: derived timestamps, frames lost to damage. Default: stderr. */
  warn?: LogSink;
}

/**
 * Frames a file's container promises beyond those read: by its frame count when it keeps one,
 * else by its duration (a cut-off file ends early; a shortfall of up to a frame and a half is
 * not counted, so variable frame rates are not mistaken for loss).
 * @param read frames read, packets the container hides (edit lists), the last frame's time in
 *   seconds from the first, and the nominal frame rate.
 */
export function framesMissing(stream: Stream, demuxer: Demuxer, read: { decoded: number; hidden: number; lastSeconds: number; fps: number }): number {
  const counted = Number(stream.nbFrames);
  if (counted > 0) return counted - read.hidden - read.decoded;
  const tb = stream.timeBase;
  const format = demuxer.getFormatContext();
  const duration =
    stream.duration > 0n && tb.den > 0 ? (Number(stream.duration) * tb.num) / tb.den : format.duration > 0n ? Number(format.duration) / AV_TIME_BASE : undefined;
  if (duration === undefined || read.decoded === 0) return 0;
  const short = duration - (read.lastSeconds + 1 / read.fps);
  return short > 1.5 / read.fps ? Math.round(short * read.fps) : 0;
}

/** What decoding a file met: packets FFmpeg refused, pictures left out as broken, packets an edit list hides. */
interface Tally {
  refused: number;
  broken: number;
  hidden: number;
}

/** Pictures held to sort a file's times (containers with decode times only); none for devices. */
const FILE_TIME_WINDOW = 4;

/** A stream's nominal frames per second: its average rate, else its base rate, else 30. */
export function frameRateOf(stream: Stream): number {
  const r = stream.avgFrameRate.num > 0 && stream.avgFrameRate.den > 0 ? stream.avgFrameRate : stream.rFrameRate;
  return r.num > 0 && r.den > 0 ? r.num / r.den : 30;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
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
      await checkInputFile(path, 'Video file');
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
    const fps = options.fps ?? frameRateOf(stream);
    const nb = Number(stream.nbFrames);
    const known = nb > 0 ? (options.fps ? Math.ceil((nb * options.fps) / frameRateOf(stream)) : nb) : undefined;
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

  /**
   * Decoded pictures in presentation order; each is the caller's to free. Counts in `tally`
   * the packets FFmpeg refused, the pictures left out as broken, and the packets the container
   * marks as not shown (before an edit list's start). A picture FFmpeg concealed errors in is
   * broken, and so is every picture after it (or after a refused packet) up to the next clean
   * key picture: they reference what is missing. Those are left out, never shown damaged.
   */
  private async *pictures(ctx: CodecContext, tally: Tally): AsyncGenerator<AvFrame> {
    const format = this.demuxer.getFormatContext();
    const packet = new Packet();
    packet.alloc();
    let broken = false;
    const drain = async function* () {
      for (;;) {
        const frame = new AvFrame();
        frame.alloc();
        if ((await ctx.receiveFrame(frame)) < 0) {
          frame.free();
          return;
        }
        const damaged = frame.decodeErrorFlags !== 0 || (frame.flags & AV_FRAME_FLAG_CORRUPT) !== 0;
        if (damaged || (broken && (frame.flags & AV_FRAME_FLAG_KEY) === 0)) {
          broken = true;
          tally.broken++;
          frame.free();
          continue;
        }
        broken = false;
        yield frame;
      }
    };
    try {
      while (!this.closed && (await format.readFrame(packet)) >= 0) {
        const mine = packet.streamIndex === this.stream.index;
        if (mine && (packet.flags & AV_PKT_FLAG_DISCARD) !== 0) tally.hidden++;
        const ret = mine ? await ctx.sendPacket(packet) : 0;
        packet.unref();
        if (ret < 0 && ret !== AVERROR_EAGAIN) {
          tally.refused++;
          broken = true;
          continue;
        }
        if (mine) yield* drain();
      }
      await ctx.sendPacket(null);
      yield* drain();
    } finally {
      packet.free();
    }
  }

  /**
   * Decoded pictures with rising presentation times (seconds from the first picture); each
   * picture is the caller's to free. Warns when times had to be derived and, at the end of
   * the file, how many frames were lost to damage.
   */
  private async *timedPictures(): AsyncGenerator<{ av: AvFrame; seconds: number }> {
    const tb = this.stream.timeBase;
    const fps = frameRateOf(this.stream);
    const warn = this.options.warn ?? logToStderr;
    const name = this.info.description;
    const decoder = await this.openDecoder();
    const tally: Tally = { refused: 0, broken: 0, hidden: 0 };
    const times = new PresentationTimes<AvFrame>({
      fps,
      depth: this.options.inputFormat ? 0 : FILE_TIME_WINDOW,
      onFirstRepair: (index) =>
        warn(`${name}: frame ${index} has a missing, repeated or backwards timestamp; such frames are timed from the frame rate (${round3(fps)} fps).`),
    });
    const settled: { item: AvFrame; seconds: number }[] = [];
    let origin: number | undefined;
    let decoded = 0;
    let last = 0;
    let ended = false;
    try {
      for await (const av of this.pictures(decoder, tally)) {
        decoded++;
        const best = av.bestEffortTimestamp;
        settled.push(...times.push(av, best !== AV_NOPTS_VALUE && tb.den > 0 ? (Number(best) * tb.num) / tb.den : undefined));
        while (settled.length > 0) {
          const { item, seconds } = settled.shift()!;
          origin ??= seconds;
          last = seconds;
          yield { av: item, seconds: seconds - origin };
        }
      }
      settled.push(...times.flush());
      while (settled.length > 0) {
        const { item, seconds } = settled.shift()!;
        origin ??= seconds;
        last = seconds;
        yield { av: item, seconds: seconds - origin };
      }
      ended = !this.closed;
    } finally {
      // A consumer that stops early leaves held pictures to free.
      for (const { item } of settled) item.free();
      for (const av of times.held()) av.free();
      decoder.freeContext();
    }
    if (ended) {
      const lost = Math.max(tally.refused + tally.broken, framesMissing(this.stream, this.demuxer, { decoded, hidden: tally.hidden, lastSeconds: last - (origin ?? 0), fps }));
      if (lost > 0) warn(`${name}: ${lost} frame${lost === 1 ? '' : 's'} could not be decoded (the file is truncated or damaged); ${decoded} decoded.`);
    }
  }



  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    const { frames: limit, startTimestamp = 0n, resample } = this.options;
    const period = frameDurationNs(this.options.fps);
    const full = () => limit !== undefined && out >= limit;
    let out = 0;
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
      for await (const { av, seconds } of this.timedPictures()) {
        if (this.closed || full()) {
          av.free();
          break;
        }
        lastT = seconds;
        if (!resample) {
          const frame = this.toFrame(av, out, startTimestamp + secondsToNs(seconds, `frame time in ${this.info.description}`));
          av.free();
          out++;
          yield frame;
          continue;
        }
        yield* emitHeld(seconds);
        held?.av.free();
        held = { av };
      }
      if (held && !this.closed) yield* emitHeld(lastT + 1 / frameRateOf(this.stream));
    } finally {
      held?.av.free();
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
