import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '../core/errors.js';
import { createFrame, type Frame } from '../core/frame.js';
import { checkFps, frameDurationNs, nowNs } from '../core/time.js';
import { GLYPH_CELL, glyphPixel } from './digit-font.js';
import type { FrameSource, SourceInfo } from './frame-source.js';

/** Options of the synthetic test scene. */
export interface SyntheticSourceOptions {
  /** Width in pixels, even. Default 640. */
  width?: number;
  /** Height in pixels, even. Default 480. */
  height?: number;
  /** Frames per second. Default 30. */
  fps?: number;
  /** Stop after this many frames; unbounded when omitted. */
  frames?: number;
  /** Seed of the shapes' start positions and speeds; the same seed gives the same pictures. */
  seed?: number;
  /** Deliver frames at wall-clock rate with timestamps of now (live), not as fast as possible. */
  realtime?: boolean;
  /** Timestamp of frame 0 in ns since the Unix epoch when not realtime. Default 0. */
  startTimestamp?: bigint;
}

/** Bits in the machine-readable frame-number strip along the bottom of every frame. */
export const FRAME_CODE_BITS = 16;

interface Shape {
  x: number;
  y: number;
  vx: number;
  vy: number;
  size: number;
  color: [number, number, number];
  round: boolean;
}

/** A small deterministic random number generator (mulberry32): values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Geometry of the frame-number strip: `FRAME_CODE_BITS` cells in one row at the bottom. */
function codeGeometry(width: number, height: number) {
  const cellWidth = Math.floor(width / (FRAME_CODE_BITS + 2));
  const cellHeight = Math.max(8, Math.floor(height / 24));
  return { cellWidth, cellHeight, left: cellWidth, top: height - cellHeight - 2 };
}

/**
 * Reads the frame number from the strip the synthetic scene draws, in an RGB(A) picture
 * (e.g. decoded, or read back from a browser canvas). Robust to lossy compression.
 * @param channels 3 for rgb24, 4 for rgba.
 */
export function readFrameCode(pixels: Uint8Array, width: number, height: number, channels = 3, stride = width * channels): number {
  const g = codeGeometry(width, height);
  let value = 0;
  for (let bit = 0; bit < FRAME_CODE_BITS; bit++) {
    const cx = g.left + bit * g.cellWidth + (g.cellWidth >> 1);
    const cy = g.top + (g.cellHeight >> 1);
    const o = cy * stride + cx * channels;
    const luma = (pixels[o] + pixels[o + 1] + pixels[o + 2]) / 3;
    value = value * 2 + (luma > 128 ? 1 : 0);
  }
  return value;
}

/**
 * A deterministic moving test scene: a drifting gradient, bouncing shapes, the frame number
 * in large digits, and the same number as a black/white bit strip that survives compression.
 * Frames are rgb24.
 */
export class SyntheticSource implements FrameSource {
  readonly info: SourceInfo;
  private readonly shapes: Shape[];
  private readonly options: Required<Omit<SyntheticSourceOptions, 'frames'>> & { frames?: number };
  private closed = false;

  constructor(options: SyntheticSourceOptions = {}) {
    const o = { width: 640, height: 480, fps: 30, seed: 1, realtime: false, startTimestamp: 0n, ...options };
    for (const [name, v] of [
      ['width', o.width],
      ['height', o.height],
    ] as const) {
      if (!Number.isInteger(v) || v < 64 || v > 7680 || v % 2 !== 0) {
        throw new InvalidArgumentError(`Synthetic ${name} must be an even whole number from 64 to 7680, got ${String(v)}.`);
      }
    }
    checkFps(o.fps, 'Synthetic fps');
    if (o.frames !== undefined && !(Number.isInteger(o.frames) && o.frames >= 0)) {
      throw new InvalidArgumentError(`frames must be a whole number ≥ 0, got ${String(o.frames)}.`);
    }
    this.options = o;
    this.info = {
      width: o.width,
      height: o.height,
      fps: o.fps,
      frameCount: o.frames,
      description: `synthetic ${o.width}x${o.height}@${o.fps}`,
    };
    const rand = seededRandom(o.seed);
    this.shapes = Array.from({ length: 4 }, (_, i) => ({
      x: rand() * o.width,
      y: rand() * o.height,
      vx: (rand() - 0.5) * o.width * 0.02,
      vy: (rand() - 0.5) * o.height * 0.02,
      size: (0.08 + rand() * 0.12) * Math.min(o.width, o.height),
      color: [Math.floor(rand() * 255), Math.floor(rand() * 255), Math.floor(rand() * 255)],
      round: i % 2 === 0,
    }));
  }

  /** Renders frame `index` (pure: the same index and seed give the same pixels). */
  render(index: number, timestamp: bigint): Frame {
    const { width: w, height: h } = this.options;
    const data = Buffer.allocUnsafe(w * h * 3);
    const shift = (index * 2) & 255;
    for (let y = 0; y < h; y++) {
      const gy = Math.floor((y * 255) / h);
      let o = y * w * 3;
      for (let x = 0; x < w; x++) {
        const gx = Math.floor((x * 255) / w);
        data[o++] = (gx + shift) & 255;
        data[o++] = gy;
        data[o++] = 255 - ((gx + gy) >> 1);
      }
    }
    for (const s of this.shapes) this.drawShape(data, s, index);
    this.drawCounter(data, index);
    this.drawCode(data, index);
    return createFrame({ width: w, height: h, format: 'rgb24', planes: [{ data, stride: w * 3 }], timestamp, frameId: index });
  }

  private drawShape(data: Buffer, s: Shape, index: number): void {
    const { width: w, height: h } = this.options;
    const bounce = (p: number, v: number, limit: number) => {
      const span = 2 * limit;
      const m = (((p + v * index) % span) + span) % span;
      return m < limit ? m : span - m;
    };
    const cx = bounce(s.x, s.vx, w);
    const cy = bounce(s.y, s.vy, h);
    const r = s.size / 2;
    const x0 = Math.max(0, Math.floor(cx - r));
    const x1 = Math.min(w - 1, Math.ceil(cx + r));
    const y0 = Math.max(0, Math.floor(cy - r));
    const y1 = Math.min(h - 1, Math.ceil(cy + r));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        if (s.round && (x - cx) ** 2 + (y - cy) ** 2 > r * r) continue;
        const o = (y * w + x) * 3;
        data[o] = s.color[0];
        data[o + 1] = s.color[1];
        data[o + 2] = s.color[2];
      }
    }
  }

  private fillRect(data: Buffer, x0: number, y0: number, rw: number, rh: number, value: number): void {
    const { width: w, height: h } = this.options;
    for (let y = Math.max(0, y0); y < Math.min(h, y0 + rh); y++) {
      data.fill(value, (y * w + Math.max(0, x0)) * 3, (y * w + Math.min(w, x0 + rw)) * 3);
    }
  }

  private drawCounter(data: Buffer, index: number): void {
    const { height: h } = this.options;
    const digits = String(index).padStart(6, '0');
    const scale = Math.max(2, Math.floor(h / 80));
    const margin = scale * 2;
    this.fillRect(data, margin, margin, (digits.length * GLYPH_CELL.width + 1) * scale, (GLYPH_CELL.height + 2) * scale, 0);
    for (let d = 0; d < digits.length; d++) {
      const digit = digits.charCodeAt(d) - 48;
      for (let gy = 0; gy < GLYPH_CELL.height; gy++) {
        for (let gx = 0; gx < 5; gx++) {
          if (!glyphPixel(digit, gx, gy)) continue;
          this.fillRect(data, margin + (1 + d * GLYPH_CELL.width + gx) * scale, margin + (1 + gy) * scale, scale, scale, 255);
        }
      }
    }
  }

  private drawCode(data: Buffer, index: number): void {
    const { width: w, height: h } = this.options;
    const g = codeGeometry(w, h);
    this.fillRect(data, g.left - 2, g.top - 2, FRAME_CODE_BITS * g.cellWidth + 4, g.cellHeight + 4, 0);
    for (let bit = 0; bit < FRAME_CODE_BITS; bit++) {
      const on = ((index >> (FRAME_CODE_BITS - 1 - bit)) & 1) === 1;
      this.fillRect(data, g.left + bit * g.cellWidth + 1, g.top, g.cellWidth - 2, g.cellHeight, on ? 255 : 0);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    const { fps, frames, realtime, startTimestamp } = this.options;
    const period = frameDurationNs(fps);
    const start = nowNs();
    for (let i = 0; frames === undefined || i < frames; i++) {
      if (this.closed) return;
      if (realtime) {
        const due = start + BigInt(i) * period;
        const wait = Number(due - nowNs()) / 1e6;
        if (wait > 0) await sleep(wait);
        yield this.render(i, nowNs());
      } else {
        yield this.render(i, startTimestamp + BigInt(i) * period);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
