import { InvalidArgumentError } from '../core/errors.js';
import { framePackedBytes, type Frame } from '../core/frame.js';

/**
 * Peak signal-to-noise ratio between two frames of the same size and pixel format, in dB
 * over all bytes of all planes (8-bit peak 255). Identical frames give `Infinity`.
 */
export function psnr(a: Frame, b: Frame): number {
  if (a.width !== b.width || a.height !== b.height || a.format !== b.format) {
    throw new InvalidArgumentError(`PSNR needs frames of one size and format; got ${a.width}x${a.height} ${a.format} and ${b.width}x${b.height} ${b.format}.`);
  }
  const x = framePackedBytes(a);
  const y = framePackedBytes(b);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - y[i];
    sum += d * d;
  }
  if (sum === 0) return Infinity;
  return 10 * Math.log10((255 * 255 * x.length) / sum);
}
