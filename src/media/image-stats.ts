import type { Frame } from '../core/frame.js';
import { PixelConverter } from '../codec/pixel-converter.js';

/**
 * Per-channel statistics of the frames of one camera, as LeRobot stores them for a video
 * feature: every value is normalised to 0–1 (divided by 255, or 65535 for `gray16`), and
 * every array has one entry per channel (`channels`).
 */
export interface ImageStats {
  /** Channel names in order: `r`, `g`, `b` (RGB formats, also for YUV input), `a` for rgba, `y` for gray. */
  channels: string[];
  /** Frames the statistics cover. */
  count: number;
  /** Samples per channel the statistics cover (pixels of the downsampled frames). */
  samples: number;
  min: number[];
  max: number[];
  mean: number[];
  /** Population standard deviation (numpy's `std`). */
  std: number[];
  /** 1st percentile: the ⌈0.01·samples⌉-th smallest value. */
  q01: number[];
  /** 99th percentile: the ⌈0.99·samples⌉-th smallest value. */
  q99: number[];
}

/**
 * LeRobot's downsampling step (`auto_downsample_height_width`): frames whose longer side is
 * under 300 pixels are kept whole, larger ones keep every k-th row and column, k = ⌊longer
 * side / 150⌋.
 */
export function statsDownsampleStep(width: number, height: number): number {
  const longer = Math.max(width, height);
  return longer < 300 ? 1 : Math.floor(longer / 150);
}

/** Which bytes of a packed pixel hold each output channel. */
function layout(format: Frame['format']): { channels: string[]; offsets: number[]; pixelBytes: number } {
  switch (format) {
    case 'rgb24':
      return { channels: ['r', 'g', 'b'], offsets: [0, 1, 2], pixelBytes: 3 };
    case 'bgr24':
      return { channels: ['r', 'g', 'b'], offsets: [2, 1, 0], pixelBytes: 3 };
    case 'rgba':
      return { channels: ['r', 'g', 'b', 'a'], offsets: [0, 1, 2, 3], pixelBytes: 4 };
    case 'gray16':
      return { channels: ['y'], offsets: [0], pixelBytes: 2 };
    default:
      return { channels: ['y'], offsets: [0], pixelBytes: 1 };
  }
}

/**
 * Accumulates `ImageStats` frame by frame, in constant memory: one exact histogram per
 * channel (256 bins, 65536 for 16-bit), so min, max, mean, std and the percentiles are exact
 * over every sample seen. LeRobot's `RunningQuantileStats` estimates the same percentiles
 * from 5000-bin histograms; with 8- or 16-bit pixels exact counting costs less.
 * YUV frames are converted to RGB first (what a training pipeline sees).
 */
export class ImageStatsAccumulator {
  private histograms: Float64Array[] | undefined;
  private channels: string[] = [];
  private levels = 256;
  private frames = 0;
  private converter: PixelConverter | undefined;

  /** Adds one frame (its downsampled pixels). */
  add(frame: Frame): void {
    if (frame.format === 'yuv420p' || frame.format === 'nv12') {
      this.converter ??= new PixelConverter();
      frame = this.converter.convert(frame, { format: 'rgb24' });
    }
    const { channels, offsets, pixelBytes } = layout(frame.format);
    if (!this.histograms) {
      this.channels = channels;
      this.levels = frame.format === 'gray16' ? 65536 : 256;
      this.histograms = channels.map(() => new Float64Array(this.levels));
    }
    const step = statsDownsampleStep(frame.width, frame.height);
    const { data, stride } = frame.planes[0];
    const wide = this.levels === 65536;
    for (let c = 0; c < channels.length; c++) {
      const hist = this.histograms[c];
      const offset = offsets[c];
      for (let y = 0; y < frame.height; y += step) {
        let i = y * stride + offset;
        const rowStep = step * pixelBytes;
        for (let x = 0; x < frame.width; x += step, i += rowStep) {
          hist[wide ? data[i] | (data[i + 1] << 8) : data[i]]++;
        }
      }
    }
    this.frames++;
  }

  /** The statistics so far, or `undefined` before the first frame. */
  result(): ImageStats | undefined {
    if (!this.histograms) return undefined;
    const scale = this.levels - 1;
    const out: ImageStats = { channels: this.channels, count: this.frames, samples: 0, min: [], max: [], mean: [], std: [], q01: [], q99: [] };
    for (const hist of this.histograms) {
      let n = 0;
      let sum = 0;
      for (let v = 0; v < hist.length; v++) {
        n += hist[v];
        sum += v * hist[v];
      }
      const mean = sum / n;
      let squares = 0;
      let min = -1;
      let max = 0;
      for (let v = 0; v < hist.length; v++) {
        if (hist[v] === 0) continue;
        if (min < 0) min = v;
        max = v;
        squares += hist[v] * (v - mean) ** 2;
      }
      out.samples = n;
      out.min.push(min / scale);
      out.max.push(max / scale);
      out.mean.push(mean / scale);
      out.std.push(Math.sqrt(squares / n) / scale);
      out.q01.push(rankValue(hist, n, 0.01) / scale);
      out.q99.push(rankValue(hist, n, 0.99) / scale);
    }
    return out;
  }

  /** Frees the converter used for YUV frames. */
  close(): void {
    this.converter?.close();
  }
}

/** The ⌈q·n⌉-th smallest value (at least the smallest) counted in `hist`. */
function rankValue(hist: Float64Array, n: number, q: number): number {
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (let v = 0; v < hist.length; v++) {
    seen += hist[v];
    if (seen >= rank) return v;
  }
  return hist.length - 1;
}
