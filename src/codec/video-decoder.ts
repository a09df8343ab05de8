import { Codec, CodecContext, Dictionary, Frame as AvFrame, Packet } from 'node-av/lib';
import * as C from 'node-av/constants';
import type { AVPixelFormat } from 'node-av/constants';
import { CodecError, InvalidArgumentError, MalformedDataError } from '../core/errors.js';
import { PIXEL_FORMATS, type Frame, type PixelFormat } from '../core/frame.js';
import { isVideoCodec, type VideoCodec, type VideoPacket } from '../core/packet.js';
import { quietFfmpegLogs } from './ffmpeg-log.js';
import { isKeyAccessUnit } from './keyframe-detect.js';
import { KeyframeGate, type WaitingEvent } from './keyframe-gate.js';
import { PixelConverter } from './pixel-converter.js';

/** How to decode. */
export interface VideoDecoderOptions {
  codec: VideoCodec;
  /** Pixel format of the frames produced. Default `'rgb24'`. */
  format?: PixelFormat;
  /**
   * Decoder threads. Default 1: FFmpeg's slice threads conceal bitstream errors instead of
   * reporting them, and a reported error is what closes the keyframe gate. Raise it for
   * trusted input where throughput matters more.
   */
  threads?: number;
}

/** Counters of what a decoder did with the packets it was given. */
export interface DecoderStats {
  /** Frames produced. */
  decoded: number;
  /** Packets held back by the keyframe gate or found corrupt. */
  dropped: number;
}

const DECODERS: Record<VideoCodec, string[]> = {
  h264: ['h264'],
  h265: ['hevc'],
  av1: ['libdav1d', 'av1'],
  ffv1: ['ffv1'],
};

/**
 * Opens FFmpeg's decoder for `options.codec`. The size matters only to FFV1, whose frames do
 * not state it.
 */
async function openContext(options: VideoDecoderOptions, width: number, height: number): Promise<CodecContext> {
  for (const name of DECODERS[options.codec]) {
    const codec = Codec.findDecoderByName(name as Parameters<typeof Codec.findDecoderByName>[0]);
    if (!codec) continue;
    const ctx = new CodecContext();
    ctx.allocContext3(codec);
    ctx.width = width;
    ctx.height = height;
    ctx.threadCount = options.threads ?? 1;
    ctx.threadType = C.FF_THREAD_SLICE;
    ctx.setFlags(C.AV_CODEC_FLAG_LOW_DELAY);
    // 'explode' turns concealed bitstream errors into decode errors, which close the gate.
    const ret = await ctx.open2(codec, Dictionary.fromObject({ err_detect: 'crccheck+bitstream+buffer+explode' }));
    if (ret >= 0) return ctx;
    ctx.freeContext();
  }
  throw new CodecError(`No ${options.codec} decoder in this FFmpeg build.`);
}

/**
 * Decodes `VideoPacket`s into `Frame`s behind a keyframe gate. Started mid-stream, after a
 * sequence gap, or after a corrupt packet it produces nothing until the next key packet and
 * reports that it is waiting (`onWaiting`), so a caller can ask the publisher for a key
 * frame. It never returns a frame the decoder flagged as damaged, nor one whose size
 * contradicts its packet's. Bitstreams carry no checksum, so damage that still parses (FFmpeg's
 * HEVC decoder does not even notice a cut-off slice) is caught before decoding instead: MCAP
 * chunks carry a CRC, and bus messages are length-checked when reassembled.
 */
export class VideoDecoder {
  readonly codec: VideoCodec;
  /** Pixel format of the frames produced. */
  readonly format: PixelFormat;
  readonly stats: DecoderStats = { decoded: 0, dropped: 0 };

  private readonly gate = new KeyframeGate();
  private readonly converter = new PixelConverter();
  private readonly avFrame = new AvFrame();
  private readonly packet = new Packet();
  private readonly pending = new Map<bigint, Pick<VideoPacket, 'timestamp' | 'frameId' | 'width' | 'height'>>();
  private closed = false;

  private constructor(
    private ctx: CodecContext,
    private readonly options: VideoDecoderOptions,
  ) {
    this.codec = options.codec;
    this.format = options.format ?? 'rgb24';
    this.avFrame.alloc();
    this.packet.alloc();
  }

  /**
   * Opens a decoder.
   * @throws InvalidArgumentError for an unknown codec or pixel format; CodecError when FFmpeg
   *   has no decoder for it.
   */
  static async create(options: VideoDecoderOptions): Promise<VideoDecoder> {
    if (!isVideoCodec(options?.codec)) {
      throw new InvalidArgumentError(`Unknown codec ${JSON.stringify(options?.codec)}; expected h264, h265, av1 or ffv1.`);
    }
    if (options.format !== undefined && !(PIXEL_FORMATS as readonly string[]).includes(options.format)) {
      throw new InvalidArgumentError(`Unknown pixel format ${JSON.stringify(options.format)}; expected one of ${PIXEL_FORMATS.join(', ')}.`);
    }
    quietFfmpegLogs();
    return new VideoDecoder(await openContext(options, 16, 16), options);
  }

  /** True while waiting for a key packet. */
  get waiting(): boolean {
    return this.gate.waiting;
  }

  /** Calls `listener` whenever the decoder starts waiting for a key packet. */
  onWaiting(listener: (event: WaitingEvent) => void): () => void {
    return this.gate.onWaiting(listener);
  }

  /**
   * Decodes one packet.
   * @returns the frames that became ready (none while waiting for a key packet).
   * @throws InvalidArgumentError when given something other than a packet of this codec.
   */
  async decode(packet: VideoPacket): Promise<Frame[]> {
    if (this.closed) throw new CodecError('Decoder is closed.');
    if (packet?.kind !== 'video-packet') throw new InvalidArgumentError('decode() takes a VideoPacket.');
    if (packet.codec !== this.codec) {
      throw new InvalidArgumentError(`This decoder decodes ${this.codec}; got a ${String(packet.codec)} packet.`);
    }
    let key: boolean;
    try {
      key = isKeyAccessUnit(this.codec, packet.data);
    } catch (error) {
      return this.corrupt(packet, error as Error);
    }
    if (key !== packet.key) {
      return this.corrupt(packet, new MalformedDataError(`Packet ${packet.sequence} is marked ${packet.key ? 'key' : 'delta'} but its bitstream says ${key ? 'key' : 'delta'}.`));
    }
    if (!this.gate.admit(packet)) {
      this.stats.dropped++;
      return [];
    }
    if (this.codec === 'ffv1' && packet.width > 0 && (packet.width !== this.ctx.width || packet.height !== this.ctx.height)) {
      // FFV1 frames do not state their size: the decoder takes it from the container, here the packet.
      this.ctx.freeContext();
      this.ctx = await openContext(this.options, packet.width, packet.height);
    }
    const pts = BigInt(packet.sequence);
    this.pending.set(pts, { timestamp: packet.timestamp, frameId: packet.frameId, width: packet.width, height: packet.height });
    this.packet.data = Buffer.isBuffer(packet.data) ? packet.data : Buffer.from(packet.data);
    this.packet.pts = pts;
    this.packet.dts = pts;
    const ret = this.ctx.sendPacketSync(this.packet);
    this.packet.unref();
    if (ret < 0 && ret !== C.AVERROR_EAGAIN) {
      return this.corrupt(packet, new MalformedDataError(`The ${this.codec} decoder rejected packet ${packet.sequence} (FFmpeg error ${ret}).`));
    }
    return this.receive(packet.sequence);
  }

  /** Returns the frames the decoder still holds at the end of a stream. */
  async flush(): Promise<Frame[]> {
    if (this.closed) return [];
    await this.ctx.sendPacket(null);
    const frames = await this.receive(-1);
    this.ctx.flushBuffers();
    return frames;
  }

  /** Forgets the stream position, as after a seek: decoding resumes at the next key packet. */
  reset(): void {
    this.ctx.flushBuffers();
    this.pending.clear();
    this.gate.reset();
  }

  private corrupt(packet: VideoPacket, error: Error): Frame[] {
    this.stats.dropped++;
    this.gate.reject(packet.sequence, error);
    this.ctx.flushBuffers();
    this.pending.clear();
    return [];
  }

  private async receive(sequence: number): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (;;) {
      const ret = this.ctx.receiveFrameSync(this.avFrame);
      if (ret === C.AVERROR_EAGAIN || ret === C.AVERROR_EOF) break;
      if (ret < 0) {
        this.corrupt({ sequence } as VideoPacket, new MalformedDataError(`The ${this.codec} decoder failed on packet ${sequence} (FFmpeg error ${ret}).`));
        return [];
      }
      const f = this.avFrame;
      const meta = this.pending.get(f.pts);
      this.pending.delete(f.pts);
      if (!meta) {
        // The picture of a packet already given up on (FFmpeg may still finish it): never show it.
        f.unref();
        continue;
      }
      if ((f.flags & C.AV_FRAME_FLAG_CORRUPT) !== 0 || f.decodeErrorFlags !== 0) {
        f.unref();
        this.corrupt({ sequence } as VideoPacket, new MalformedDataError(`The ${this.codec} decoder flagged the picture of packet ${sequence} as damaged.`));
        return [];
      }
      // A size of 0 means the packet's source did not state one (a recording from another tool).
      if (meta.width > 0 && meta.height > 0 && (f.width !== meta.width || f.height !== meta.height)) {
        const own = Number(f.pts);
        const error = new MalformedDataError(`Packet ${own} states ${meta.width}x${meta.height} but its bitstream decodes to ${f.width}x${f.height}.`);
        f.unref();
        this.corrupt({ sequence: own } as VideoPacket, error);
        return [];
      }
      const frame = this.converter.fromAvPlanes(
        { data: f.data ?? [], strides: f.linesize, width: f.width, height: f.height, format: f.format as AVPixelFormat },
        { format: this.format },
        { timestamp: meta.timestamp, frameId: meta.frameId },
      );
      f.unref();
      this.stats.decoded++;
      frames.push(frame);
    }
    return frames;
  }

  /** Frees the decoder. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.freeContext();
    this.avFrame.free();
    this.packet.free();
    this.converter.close();
  }
}
