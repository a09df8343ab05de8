import { SoftwareScaleContext, type Frame as AvFrame } from 'node-av/lib';
import { SWS_BICUBIC } from 'node-av/constants';
import type { AVPixelFormat, SwsFlags } from 'node-av/constants';
import { CodecError, InvalidArgumentError } from '../core/errors.js';
import { createFrame, planeShapes, type Frame, type PixelFormat } from '../core/frame.js';
import { fromAvPixelFormat, toAvPixelFormat } from './av-pixel-format.js';

/** Planes in FFmpeg's shape: one buffer and one stride (bytes per row) per plane. */
export interface AvPlanes {
  readonly data: Buffer[];
  readonly strides: number[];
}

/** What a conversion produces: pixel format and, optionally, a new size in pixels. */
export interface ConvertTarget {
  format: PixelFormat;
  width?: number;
  height?: number;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A frame's planes as FFmpeg wants them, without copying. */
export function frameAvPlanes(frame: Frame): AvPlanes {
  return { data: frame.planes.map((p) => asBuffer(p.data)), strides: frame.planes.map((p) => p.stride) };
}

/** Row alignment, in bytes, that swscale's output needs to convert correctly. */
const STRIDE_ALIGN = 64;

/** Plane shapes of the formats a plain copy can move (those a `Frame` can hold). */
function copyableShapes(format: AVPixelFormat, width: number, height: number) {
  const name = fromAvPixelFormat(format);
  return name ? planeShapes(name, width, height) : undefined;
}

/** Same format and size: copy rows (one copy per plane when both are tightly packed). */
function copyPlanes(src: AvPlanes, dst: AvPlanes, shapes: { rowBytes: number; rows: number }[]): void {
  shapes.forEach((shape, i) => {
    const from = src.data[i];
    const to = dst.data[i];
    const fs = src.strides[i];
    const ts = dst.strides[i];
    if (fs === ts) {
      from.copy(to, 0, 0, Math.min(from.length, fs * (shape.rows - 1) + shape.rowBytes));
      return;
    }
    for (let y = 0; y < shape.rows; y++) from.copy(to, y * ts, y * fs, y * fs + shape.rowBytes);
  });
}

/**
 * Converts pixel format and size with FFmpeg's swscale. Keeps one scaler context for the
 * last geometry, so a stream of same-sized frames pays the set-up once.
 */
export class PixelConverter {
  private sws: SoftwareScaleContext | undefined;
  private key = '';
  private scratch: Buffer | undefined;

  private context(srcW: number, srcH: number, srcFmt: AVPixelFormat, dstW: number, dstH: number, dstFmt: AVPixelFormat): SoftwareScaleContext {
    const key = `${srcW}x${srcH}:${srcFmt}>${dstW}x${dstH}:${dstFmt}`;
    if (this.sws && key === this.key) return this.sws;
    this.sws?.freeContext();
    const sws = new SoftwareScaleContext();
    // Bicubic, FFmpeg's own default, also for same-size format changes: point sampling aliases
    // chroma on every RGB⇄YUV 4:2:0 conversion (about 1 dB of PSNR end to end), and accurate
    // rounding or full-chroma interpolation add 0.3 dB at 7–10x the cost per frame.
    sws.getContext(srcW, srcH, srcFmt, dstW, dstH, dstFmt, SWS_BICUBIC as SwsFlags);
    if (sws.initContext() < 0) throw new CodecError(`Cannot convert ${srcW}x${srcH} pixel format ${srcFmt} to ${dstW}x${dstH} ${dstFmt}.`);
    this.sws = sws;
    this.key = key;
    return sws;
  }

  /**
   * Scales/converts raw planes into destination planes that the caller owns (for example
   * an FFmpeg frame's buffers).
   */
  convertInto(
    src: AvPlanes & { width: number; height: number; format: AVPixelFormat },
    dst: AvPlanes & { width: number; height: number; format: AVPixelFormat },
  ): void {
    if (src.format === dst.format && src.width === dst.width && src.height === dst.height) {
      const shapes = copyableShapes(dst.format, dst.width, dst.height);
      if (shapes) return copyPlanes(src, dst, shapes);
    }
    const sws = this.context(src.width, src.height, src.format, dst.width, dst.height, dst.format);
    const unaligned = dst.width % 16 !== 0 || dst.strides.some((stride) => stride % STRIDE_ALIGN !== 0);
    const shapes = unaligned ? copyableShapes(dst.format, dst.width, dst.height) : undefined;
    if (!shapes) {
      const rows = sws.scaleSync(src.data, src.strides, 0, src.height, dst.data, dst.strides);
      if (rows !== dst.height) throw new CodecError(`Pixel conversion wrote ${rows} of ${dst.height} rows.`);
      return;
    }
    // swscale's SIMD output writers work in blocks of pixels and write past the end of a row
    // whose width is not a multiple of the block: into the next row of tightly packed planes
    // (YUV to RGB at 322 pixels wide lost 8 dB) or past the buffer. Convert into rows with
    // room to spare, then copy.
    const strides = shapes.map((p) => Math.ceil(p.rowBytes / STRIDE_ALIGN) * STRIDE_ALIGN + 64);
    const total = shapes.reduce((sum, p, i) => sum + strides[i] * p.rows, 0) + 1024;
    if (!this.scratch || this.scratch.length < total) this.scratch = Buffer.alloc(total);
    let offset = 0;
    const data = shapes.map((p, i) => {
      const plane = this.scratch!.subarray(offset, offset + strides[i] * p.rows);
      offset += strides[i] * p.rows;
      return plane;
    });
    const rows = sws.scaleSync(src.data, src.strides, 0, src.height, data, strides);
    if (rows !== dst.height) throw new CodecError(`Pixel conversion wrote ${rows} of ${dst.height} rows.`);
    copyPlanes({ data, strides }, dst, shapes);
  }

  /**
   * Converts an FFmpeg frame into another that has its buffers already (format and size set):
   * how a decoded picture reaches memory the caller reuses. Returns FFmpeg's result (< 0: error).
   */
  convertAvFrame(src: AvFrame, dst: AvFrame): number {
    const sws = this.context(src.width, src.height, src.format as AVPixelFormat, dst.width, dst.height, dst.format as AVPixelFormat);
    return sws.scaleFrameSync(dst, src);
  }

  /** Converts raw planes of any FFmpeg pixel format into a new, tightly packed `Frame`. */
  fromAvPlanes(
    src: AvPlanes & { width: number; height: number; format: AVPixelFormat },
    target: ConvertTarget,
    meta: { timestamp: bigint; frameId: number },
  ): Frame {
    const width = target.width ?? src.width;
    const height = target.height ?? src.height;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new InvalidArgumentError(`Target size must be positive integers, got ${width}x${height}.`);
    }
    const shapes = planeShapes(target.format, width, height);
    const out = Buffer.allocUnsafe(shapes.reduce((s, p) => s + p.rowBytes * p.rows, 0));
    let offset = 0;
    const data = shapes.map((s) => {
      const plane = out.subarray(offset, offset + s.rowBytes * s.rows);
      offset += s.rowBytes * s.rows;
      return plane;
    });
    const strides = shapes.map((s) => s.rowBytes);
    this.convertInto(src, { data, strides, width, height, format: toAvPixelFormat(target.format) });
    return createFrame({
      width,
      height,
      format: target.format,
      planes: data.map((d, i) => ({ data: d, stride: strides[i] })),
      timestamp: meta.timestamp,
      frameId: meta.frameId,
    });
  }

  /** Converts a frame to another pixel format and/or size; returns it as is when nothing changes. */
  convert(frame: Frame, target: ConvertTarget): Frame {
    const width = target.width ?? frame.width;
    const height = target.height ?? frame.height;
    if (frame.format === target.format && frame.width === width && frame.height === height) return frame;
    return this.fromAvPlanes(
      { ...frameAvPlanes(frame), width: frame.width, height: frame.height, format: toAvPixelFormat(frame.format) },
      { format: target.format, width, height },
      frame,
    );
  }

  /** Frees the scaler context. */
  close(): void {
    this.sws?.freeContext();
    this.sws = undefined;
    this.key = '';
    this.scratch = undefined;
  }
}
