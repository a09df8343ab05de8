import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { frameFromPacked, planeShapes, type Frame } from '../core/frame.js';
import { ImageStatsAccumulator, statsDownsampleStep } from './image-stats.js';

/** Channel byte offsets, pixel size and full scale per format, written out independently of the module. */
const LAYOUTS = {
  rgb24: { offsets: [0, 1, 2], bytes: 3, scale: 255 },
  bgr24: { offsets: [2, 1, 0], bytes: 3, scale: 255 },
  rgba: { offsets: [0, 1, 2, 3], bytes: 4, scale: 255 },
  gray8: { offsets: [0], bytes: 1, scale: 255 },
  gray16: { offsets: [0], bytes: 2, scale: 65535 },
} as const;

function direct(frames: Frame[], format: keyof typeof LAYOUTS) {
  const { offsets, bytes, scale } = LAYOUTS[format];
  return offsets.map((offset) => {
    const values: number[] = [];
    for (const f of frames) {
      const step = statsDownsampleStep(f.width, f.height);
      const data = f.planes[0].data;
      for (let y = 0; y < f.height; y += step) {
        for (let x = 0; x < f.width; x += step) {
          const i = (y * f.width + x) * bytes + offset;
          values.push((bytes === 2 ? data[i] + data[i + 1] * 256 : data[i]) / scale);
        }
      }
    }
    values.sort((a, b) => a - b);
    const n = values.length;
    const mean = values.reduce((s, v) => s + v, 0) / n;
    const rank = (q: number) => values[Math.max(1, Math.ceil(q * n)) - 1];
    return { n, min: values[0], max: values[n - 1], mean, std: Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / n), q01: rank(0.01), q99: rank(0.99) };
  });
}

test('ImageStatsAccumulator equals a direct computation for any frames of every packed format', () => {
  const frames = fc
    .record({
      format: fc.constantFrom('rgb24', 'bgr24', 'rgba', 'gray8', 'gray16'),
      width: fc.integer({ min: 1, max: 24 }),
      height: fc.integer({ min: 1, max: 24 }),
      count: fc.integer({ min: 1, max: 4 }),
      seed: fc.integer(),
    })
    .map(({ format, width, height, count, seed }) => {
      const size = planeShapes(format, width, height)[0].rowBytes * height;
      let s = seed;
      const list = Array.from({ length: count }, (_, i) => {
        // Few distinct values, so ties and repeated quantile ranks are common.
        const data = new Uint8Array(size).map(() => ((s = (s * 1103515245 + 12345) | 0) >>> 16) % 7 * 37);
        return frameFromPacked(data, { width, height, format, timestamp: BigInt(i) });
      });
      return { format, list };
    });
  fc.assert(
    fc.property(frames, ({ format, list }) => {
      const acc = new ImageStatsAccumulator();
      list.forEach((f) => acc.add(f));
      const stats = acc.result()!;
      const expected = direct(list, format);
      assert.equal(stats.count, list.length);
      assert.equal(stats.channels.length, expected.length);
      expected.forEach((e, c) => {
        assert.equal(stats.samples, e.n);
        assert.deepEqual([stats.min[c], stats.max[c], stats.q01[c], stats.q99[c]], [e.min, e.max, e.q01, e.q99]);
        assert.ok(Math.abs(stats.mean[c] - e.mean) < 1e-12 && Math.abs(stats.std[c] - e.std) < 1e-12);
      });
    }),
    { numRuns: 200 },
  );
});

test('frames of 300 pixels or more are downsampled like LeRobot: every ⌊longer side / 150⌋-th row and column', () => {
  assert.deepEqual([statsDownsampleStep(299, 200), statsDownsampleStep(300, 10), statsDownsampleStep(640, 480), statsDownsampleStep(480, 1280)], [1, 2, 4, 8]);
});
