import { InvalidArgumentError } from './errors.js';

/** Pixel layouts a `Frame` can hold. `gray16` is 16-bit little-endian gray, e.g. depth in millimetres. */
export const PIXEL_FORMATS = ['rgb24', 'bgr24', 'rgba', 'gray8', 'gray16', 'yuv420p', 'nv12'] as const;
export type PixelFormat = (typeof PIXEL_FORMATS)[number];

/** One plane of pixels: `stride` bytes per row, rows stored one after another. */
export interface FramePlane {
  readonly data: Uint8Array;
  /** Bytes from the start of one row to the start of the next (≥ the row's pixel bytes). */
  readonly stride: number;
}

/** Raw pixels of one picture. Immutable by convention: producers never write a frame they handed out. */
export interface Frame {
  readonly kind: 'frame';
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  readonly format: PixelFormat;
  /** Planes in FFmpeg order: one for packed formats, Y/U/V for yuv420p, Y/UV for nv12. */
  readonly planes: readonly FramePlane[];
  /** Capture time, integer nanoseconds since the Unix epoch. */
  readonly timestamp: bigint;
  /** Caller-defined id that travels with the frame through encode and decode. */
  readonly frameId: number;
}

export interface PlaneShape {
  /** Bytes of pixel data in one row. */
  rowBytes: number;
  rows: number;
}

function isPixelFormat(value: unknown): value is PixelFormat {
  return typeof value === 'string' && (PIXEL_FORMATS as readonly string[]).includes(value);
}

/** The pixel bytes per row and the row count of every plane of `format` at `width`x`height`. */
export function planeShapes(format: PixelFormat, width: number, height: number): PlaneShape[] {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  switch (format) {
    case 'rgb24':
    case 'bgr24':
      return [{ rowBytes: width * 3, rows: height }];
    case 'rgba':
      return [{ rowBytes: width * 4, rows: height }];
    case 'gray8':
      return [{ rowBytes: width, rows: height }];
    case 'gray16':
      return [{ rowBytes: width * 2, rows: height }];
    case 'yuv420p':
      return [
        { rowBytes: width, rows: height },
        { rowBytes: cw, rows: ch },
        { rowBytes: cw, rows: ch },
      ];
    case 'nv12':
      return [
        { rowBytes: width, rows: height },
        { rowBytes: cw * 2, rows: ch },
      ];
  }
}

/** Bytes of a tightly packed picture (no row padding) of this format and size. */
export function packedSize(format: PixelFormat, width: number, height: number): number {
  return planeShapes(format, width, height).reduce((sum, p) => sum + p.rowBytes * p.rows, 0);
}

function checkDimensions(width: number, height: number): void {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) {
      throw new InvalidArgumentError(`Frame ${name} must be a positive integer, got ${String(v)}.`);
    }
    if (v > 16384) {
      throw new InvalidArgumentError(`Frame ${name} ${v} exceeds the maximum of 16384 pixels.`);
    }
  }
}

export interface FrameInit {
  width: number;
  height: number;
  format: PixelFormat;
  planes: readonly FramePlane[];
  timestamp: bigint;
  frameId?: number;
}

/**
 * Builds a validated `Frame` from planes.
 * @throws InvalidArgumentError naming the first thing that is wrong (size, format, plane
 *   count, stride, or data shorter than the size claims).
 */
export function createFrame(init: FrameInit): Frame {
  checkDimensions(init.width, init.height);
  if (!isPixelFormat(init.format)) {
    throw new InvalidArgumentError(
      `Unknown pixel format ${JSON.stringify(init.format)}; expected one of ${PIXEL_FORMATS.join(', ')}.`,
    );
  }
  if (typeof init.timestamp !== 'bigint') {
    throw new InvalidArgumentError('Frame timestamp must be a bigint of nanoseconds since the Unix epoch.');
  }
  const shapes = planeShapes(init.format, init.width, init.height);
  if (init.planes.length !== shapes.length) {
    throw new InvalidArgumentError(
      `A ${init.format} frame has ${shapes.length} plane(s), got ${init.planes.length}.`,
    );
  }
  shapes.forEach((shape, i) => {
    const plane = init.planes[i];
    if (!Number.isInteger(plane.stride) || plane.stride < shape.rowBytes) {
      throw new InvalidArgumentError(
        `Plane ${i} stride ${plane.stride} is smaller than its ${shape.rowBytes} bytes per row.`,
      );
    }
    const needed = plane.stride * (shape.rows - 1) + shape.rowBytes;
    if (plane.data.byteLength < needed) {
      throw new InvalidArgumentError(
        `Plane ${i} of a ${init.width}x${init.height} ${init.format} frame needs ${needed} bytes, got ${plane.data.byteLength}.`,
      );
    }
  });
  return {
    kind: 'frame',
    width: init.width,
    height: init.height,
    format: init.format,
    planes: init.planes,
    timestamp: init.timestamp,
    frameId: init.frameId ?? 0,
  };
}

/**
 * Builds a `Frame` from one tightly packed buffer (planes back to back, no row padding), the
 * layout most cameras, files and numpy arrays use.
 */
export function frameFromPacked(
  data: Uint8Array,
  init: { width: number; height: number; format: PixelFormat; timestamp: bigint; frameId?: number },
): Frame {
  checkDimensions(init.width, init.height);
  if (!isPixelFormat(init.format)) {
    throw new InvalidArgumentError(
      `Unknown pixel format ${JSON.stringify(init.format)}; expected one of ${PIXEL_FORMATS.join(', ')}.`,
    );
  }
  const shapes = planeShapes(init.format, init.width, init.height);
  const total = shapes.reduce((s, p) => s + p.rowBytes * p.rows, 0);
  if (data.byteLength < total) {
    throw new InvalidArgumentError(
      `A ${init.width}x${init.height} ${init.format} frame needs ${total} bytes, got ${data.byteLength}.`,
    );
  }
  let offset = 0;
  const planes = shapes.map((shape) => {
    const plane = { data: data.subarray(offset, offset + shape.rowBytes * shape.rows), stride: shape.rowBytes };
    offset += shape.rowBytes * shape.rows;
    return plane;
  });
  return createFrame({ ...init, planes });
}

/** Copies a frame's pixels into one tightly packed buffer (no row padding). */
export function framePackedBytes(frame: Frame): Uint8Array {
  const shapes = planeShapes(frame.format, frame.width, frame.height);
  const packed = shapes.every((s, i) => frame.planes[i].stride === s.rowBytes);
  if (packed && frame.planes.length === 1) return frame.planes[0].data.subarray(0, shapes[0].rowBytes * shapes[0].rows);
  const out = new Uint8Array(shapes.reduce((s, p) => s + p.rowBytes * p.rows, 0));
  let offset = 0;
  shapes.forEach((shape, i) => {
    const { data, stride } = frame.planes[i];
    for (let y = 0; y < shape.rows; y++) {
      out.set(data.subarray(y * stride, y * stride + shape.rowBytes), offset);
      offset += shape.rowBytes;
    }
  });
  return out;
}
