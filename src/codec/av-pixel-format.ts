import * as C from 'node-av/constants';
import type { AVPixelFormat } from 'node-av/constants';
import type { PixelFormat } from '../core/frame.js';

const TO_AV: Record<PixelFormat, AVPixelFormat> = {
  rgb24: C.AV_PIX_FMT_RGB24,
  bgr24: C.AV_PIX_FMT_BGR24,
  rgba: C.AV_PIX_FMT_RGBA,
  gray8: C.AV_PIX_FMT_GRAY8,
  gray16: C.AV_PIX_FMT_GRAY16LE,
  yuv420p: C.AV_PIX_FMT_YUV420P,
  nv12: C.AV_PIX_FMT_NV12,
};

/** FFmpeg's pixel format for a framebus pixel format. */
export function toAvPixelFormat(format: PixelFormat): AVPixelFormat {
  return TO_AV[format];
}

/** The framebus pixel format for an FFmpeg one, or `undefined` when framebus has none. */
export function fromAvPixelFormat(format: AVPixelFormat): PixelFormat | undefined {
  for (const [name, av] of Object.entries(TO_AV)) if (av === format) return name as PixelFormat;
  if (format === C.AV_PIX_FMT_YUVJ420P) return 'yuv420p';
  return undefined;
}

/** Encoder-side pixel formats by name, including those a `Frame` cannot hold. */
export const ENCODER_PIXEL_FORMATS: Record<string, AVPixelFormat> = {
  yuv420p: C.AV_PIX_FMT_YUV420P,
  yuv422p: C.AV_PIX_FMT_YUV422P,
  yuv444p: C.AV_PIX_FMT_YUV444P,
  nv12: C.AV_PIX_FMT_NV12,
  yuv420p10le: C.AV_PIX_FMT_YUV420P10LE,
  gray16le: C.AV_PIX_FMT_GRAY16LE,
};
