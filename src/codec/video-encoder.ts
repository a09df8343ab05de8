import { Frame as AvFrame, Packet } from 'node-av/lib';
import * as C from 'node-av/constants';
import type { AVPixelFormat } from 'node-av/constants';
import { CodecError, InvalidArgumentError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { isVideoCodec, type VideoCodec, type VideoPacket } from '../core/packet.js';
import { checkFps } from '../core/time.js';
import { ENCODER_PIXEL_FORMATS, toAvPixelFormat } from './av-pixel-format.js';
import { quietFfmpegLogs } from './ffmpeg-log.js';
import type { VideoEncoderOptions } from './video-encoder-options.js';
import { codecOfEncoder, DEFAULT_ENCODERS, HARDWARE_H264, openEncoder, type Opened } from './ffmpeg-encoder.js';
import { isKeyAccessUnit } from './keyframe-detect.js';
import { frameAvPlanes, PixelConverter, type AvPlanes } from './pixel-converter.js';
import { logToStderr } from '../core/log.js';


/** Picture sides `VideoEncoderOptions` accepts, in pixels (frames are at most 16384 too). */
const MIN_SIDE = 2;
const MAX_SIDE = 16384;

function validate(o: VideoEncoderOptions): void {
  const positiveInt = (name: string, v: unknown) => {
    if (v !== undefined && (!Number.isInteger(v) || (v as number) <= 0)) {
      throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(v)}.`);
    }
  };
  if (o?.width === undefined || o.height === undefined) throw new InvalidArgumentError('width and height are required.');
  for (const side of ['width', 'height'] as const) {
    const v = o[side];
    if (!Number.isInteger(v) || v < MIN_SIDE || v > MAX_SIDE) {
      throw new InvalidArgumentError(
        `${side} must be a whole number of pixels from ${MIN_SIDE} to ${MAX_SIDE} (the picture sizes video codecs encode), got ${String(v)}.`,
      );
    }
  }
  positiveInt('gop', o.gop);
  positiveInt('bitrate', o.bitrate);
  if (o.fps !== undefined) checkFps(o.fps);
  if (o.crf !== undefined && !(Number.isFinite(o.crf) && o.crf >= 0 && o.crf <= 63)) {
    throw new InvalidArgumentError(`crf must be a number from 0 to 63, got ${String(o.crf)}.`);
  }
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 0)) {
    throw new InvalidArgumentError(`threads must be a whole number ≥ 0, got ${String(o.threads)}.`);
  }
  if (o.bFrames !== undefined && !(Number.isInteger(o.bFrames) && o.bFrames >= 0 && o.bFrames <= 16)) {
    throw new InvalidArgumentError(`bFrames must be a whole number from 0 to 16, got ${String(o.bFrames)}.`);
  }
  if (o.codec !== undefined && o.codec !== 'auto' && !isVideoCodec(o.codec)) {
    throw new InvalidArgumentError(`Unknown codec ${JSON.stringify(o.codec)}; expected h264, h265, av1, ffv1 or auto.`);
  }
  if (o.pixelFormat !== undefined && !(o.pixelFormat in ENCODER_PIXEL_FORMATS)) {
    throw new InvalidArgumentError(
      `Unknown pixel format ${JSON.stringify(o.pixelFormat)}; expected one of ${Object.keys(ENCODER_PIXEL_FORMATS).join(', ')}.`,
    );
  }
}

/**
 * Encodes frames into `VideoPacket`s: exactly one packet per input frame, in input order,
 * each holding every NAL unit of its frame, with parameter sets in front of every key frame.
 *
 * Open with `VideoEncoder.create`; feed frames with `encode`; call `flush` at the end.
 *
 * Sizes: `create` takes any picture size from 2x2 to 16384x16384 pixels, odd sides included;
 * frames of any other size are scaled to it (swscale, bicubic). Where the codec cannot code
 * that size the picture is scaled, in the same conversion, to the next size up it can code:
 * H.264 and H.265 in 4:2:0 (yuv420p, nv12, yuv420p10le, and every hardware encoder) need
 * even sides, so a 321x241 picture is encoded as 322x242 (no cropping can bring an H.264 or
 * H.265 4:2:0 picture back to an odd size: both crop in whole chroma samples), 4:2:2 needs
 * an even width, 4:4:4 takes any size. AV1 codes odd sizes exactly (321x241 decodes to
 * 321x241). libx265 codes at least 16x16 and SVT-AV1 at least 32x32 pixels; smaller pictures
 * are scaled up to that. `width` and `height` are the coded size, and every packet states it:
 * it is exactly what the packet's bitstream decodes to, which `VideoDecoder` checks.
 */
export class VideoEncoder {
  /** The codec of the packets this encoder produces. */
  readonly codec: VideoCodec;
  /** The FFmpeg encoder in use, e.g. `'libx264'` or `'h264_nvenc'`. */
  readonly encoderName: string;
  /** Coded picture width in pixels, as every packet states it: the requested width, or the next one up the codec can code. */
  readonly width: number;
  /** Coded picture height in pixels, as every packet states it. */
  readonly height: number;
  /** The width asked for in `create`, in pixels. */
  readonly requestedWidth: number;
  /** The height asked for in `create`, in pixels. */
  readonly requestedHeight: number;
  readonly fps: number;
  readonly gop: number;

  private readonly opened: Opened;
  private readonly converter = new PixelConverter();
  private readonly avFrame = new AvFrame();
  private readonly swFrame: AvFrame | undefined;
  private readonly packet = new Packet();
  private readonly pending = new Map<bigint, { timestamp: bigint; frameId: number }>();
  private nextPts = 0n;
  private sequence = 0;
  private keyRequested = false;
  private closed = false;
  private targetPlanes!: AvPlanes & { width: number; height: number; format: AVPixelFormat };

  private constructor(opened: Opened, options: VideoEncoderOptions & { gop: number; fps: number }) {
    this.opened = opened;
    this.encoderName = opened.name;
    this.codec = codecOfEncoder(opened.name);
    this.width = opened.width;
    this.height = opened.height;
    this.requestedWidth = options.width;
    this.requestedHeight = options.height;
    this.fps = options.fps;
    this.gop = options.gop;
    this.packet.alloc();
    this.avFrame.alloc();
    if (opened.hwFrames) {
      this.swFrame = new AvFrame();
      this.swFrame.alloc();
      this.allocPicture(this.swFrame, C.AV_PIX_FMT_NV12);
    } else {
      this.allocPicture(this.avFrame, opened.pixelFormat);
    }
  }

  private allocPicture(frame: AvFrame, format: AVPixelFormat): void {
    frame.width = this.width;
    frame.height = this.height;
    frame.format = format;
    if (frame.getBuffer(32) < 0) throw new CodecError(`Cannot allocate a ${this.width}x${this.height} picture.`);
    // Plane views stay valid until the next allocation; fetching them per frame costs more
    // than copying a small picture.
    this.targetPlanes = { data: frame.data ?? [], strides: frame.linesize, width: this.width, height: this.height, format };
  }

  /**
   * Opens an encoder.
   * @throws InvalidArgumentError for out-of-range options; CodecError when no encoder opens.
   */
  static async create(options: VideoEncoderOptions): Promise<VideoEncoder> {
    validate(options);
    quietFfmpegLogs();
    const log = options.log ?? logToStderr;
    const o = { ...options, gop: options.gop ?? 30, fps: options.fps ?? 30 };
    if (options.encoder) return new VideoEncoder(await openEncoder(options.encoder, o, log), o);
    if (o.codec === 'auto') {
      for (const hw of HARDWARE_H264) {
        try {
          const opened = await openEncoder(hw.name, o, () => {});
          log(`encoder: ${hw.name} (hardware)`);
          return new VideoEncoder(opened, o);
        } catch {
          // Not available here; the next candidate or libx264 follows.
        }
      }
      log(`encoder: libx264 (no hardware H.264 encoder opened: tried ${HARDWARE_H264.map((h) => h.name).join(', ')})`);
      return new VideoEncoder(await openEncoder('libx264', o, log), o);
    }
    return new VideoEncoder(await openEncoder(DEFAULT_ENCODERS[o.codec ?? 'h264'], o, log), o);
  }

  /** Makes the next encoded frame a key frame (IDR), e.g. when a subscriber asks for one. */
  requestKeyframe(): void {
    this.keyRequested = true;
  }

  /**
   * Encodes one frame. Frames of another size or pixel format are converted first, to the
   * coded size `width`x`height`.
   * @returns the packets that became ready: normally exactly the one for this frame.
   */
  async encode(frame: Frame): Promise<VideoPacket[]> {
    if (this.closed) throw new CodecError('Encoder is closed.');
    if (frame?.kind !== 'frame') throw new InvalidArgumentError('encode() takes a Frame.');
    const target = this.swFrame ?? this.avFrame;
    if (!target.isWritable) {
      // The encoder still holds the last picture: take fresh buffers rather than copying
      // pixels that are about to be overwritten (what makeWritable would do).
      target.unref();
      this.allocPicture(target, this.swFrame ? C.AV_PIX_FMT_NV12 : this.opened.pixelFormat);
    }
    this.converter.convertInto(
      { ...frameAvPlanes(frame), width: frame.width, height: frame.height, format: toAvPixelFormat(frame.format) },
      this.targetPlanes,
    );
    if (this.swFrame && this.opened.hwFrames) {
      this.avFrame.unref();
      if (this.opened.hwFrames.getBuffer(this.avFrame) < 0 || (await this.opened.hwFrames.transferData(this.avFrame, this.swFrame)) < 0) {
        throw new CodecError('Cannot upload the picture to the hardware encoder.');
      }
    }
    const pts = this.nextPts++;
    this.avFrame.pts = pts;
    this.avFrame.pictType = this.keyRequested ? C.AV_PICTURE_TYPE_I : C.AV_PICTURE_TYPE_NONE;
    this.keyRequested = false;
    this.pending.set(pts, { timestamp: frame.timestamp, frameId: frame.frameId });
    const ret = this.opened.ctx.sendFrameSync(this.avFrame);
    if (ret < 0) throw new CodecError(`${this.encoderName} rejected a frame (FFmpeg error ${ret}).`);
    return this.drain();
  }

  /** Encodes what the encoder still holds and returns the remaining packets. */
  async flush(): Promise<VideoPacket[]> {
    if (this.closed) return [];
    await this.opened.ctx.sendFrame(null);
    return this.drain();
  }

  private async drain(): Promise<VideoPacket[]> {
    const out: VideoPacket[] = [];
    const ctx = this.opened.ctx;
    for (;;) {
      const ret = ctx.receivePacketSync(this.packet);
      if (ret < 0) break;
      const data = this.packet.data;
      const pts = this.packet.pts;
      this.packet.unref();
      if (!data) continue;
      const meta = this.pending.get(pts);
      if (!meta) throw new CodecError(`${this.encoderName} produced a packet for an unknown frame (pts ${pts}).`);
      this.pending.delete(pts);
      out.push({
        kind: 'video-packet',
        codec: this.codec,
        data,
        key: isKeyAccessUnit(this.codec, data),
        timestamp: meta.timestamp,
        sequence: this.sequence++,
        frameId: meta.frameId,
        width: this.width,
        height: this.height,
      });
    }
    return out;
  }

  /** Frees the encoder. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opened.ctx.freeContext();
    this.opened.hwFrames?.free();
    this.opened.hw?.dispose();
    this.avFrame.free();
    this.swFrame?.free();
    this.packet.free();
    this.converter.close();
  }
}
