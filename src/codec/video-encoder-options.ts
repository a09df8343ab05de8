import type { LogSink } from '../core/log.js';
import type { VideoCodec } from '../core/packet.js';

/** How to encode. Every field but the size has a default suited to live video. */
export interface VideoEncoderOptions {
  /**
   * Picture width in pixels, 2 to 16384; frames of another size are scaled to it. Odd widths
   * are fine: where the codec cannot code one (H.264/H.265 in 4:2:0 or 4:2:2) the picture is
   * encoded one pixel wider, see `VideoEncoder`.
   */
  width: number;
  /** Picture height in pixels, 2 to 16384; odd heights as for `width`. */
  height: number;
  /**
   * `'auto'` tries hardware H.264 encoders first and falls back to libx264. `'ffv1'` is
   * lossless (16-bit depth: `gray16` frames, pixel format `gray16le`, its default). Default `'h264'`.
   */
  codec?: VideoCodec | 'auto';
  /** An exact FFmpeg encoder name (e.g. `'h264_nvenc'`), overriding the codec's default. */
  encoder?: string;
  /** Frames per second, used for rate control and time base. Default 30. */
  fps?: number;
  /** Frames from one key packet to the next. Default 30. */
  gop?: number;
  /** Constant rate factor (quality; lower is better). Default 23 for H.264/H.265, 35 for AV1. Ignored when `bitrate` is set. */
  crf?: number;
  /** Target bitrate in bits per second; replaces `crf`. */
  bitrate?: number;
  /** Encoder speed preset. Default `'veryfast'` (x264/x265), `'10'` (SVT-AV1). */
  preset?: string;
  /** Encoder tune. Default `'zerolatency'` for x264/x265. */
  tune?: string;
  /** Encoded pixel format: yuv420p (default), yuv422p, yuv444p, nv12, yuv420p10le, gray16le (FFV1's default). */
  pixelFormat?: string;
  /** Encoder threads; 0 lets the encoder choose. Default 0. */
  threads?: number;
  /** Maximum consecutive B-frames. Default 0: recordings and live topics hold only packets a decoder shows in arrival order. */
  bFrames?: number;
  /** Receives one-line notices: which encoder was chosen, option fallbacks. Default: stderr. */
  log?: LogSink;
}
