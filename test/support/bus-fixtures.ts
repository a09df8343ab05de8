import { setTimeout as sleep } from 'node:timers/promises';
import { framePackedBytes, type Frame } from '../../src/core/frame.js';

/** An LCM URL on a random port, so concurrent test files never hear each other. */
export function randomLcmUrl(): string {
  return `lcm://239.255.76.67:${20_000 + Math.floor(Math.random() * 40_000)}?ttl=0`;
}

/** A memory bus URL no other test uses. */
export function randomMemoryUrl(): string {
  return `memory:test-${Math.random().toString(36).slice(2)}`;
}

/**
 * Polls `condition` until it holds. Bounded so a broken test fails instead of hanging; the
 * bound is a safety net, not an assertion about speed.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await sleep(5);
  }
}

/** Peak signal-to-noise ratio of two pictures of the same size and format, dB (Infinity when equal). */
export function psnr(a: Frame, b: Frame): number {
  const x = framePackedBytes(a);
  const y = framePackedBytes(b);
  if (x.byteLength !== y.byteLength) throw new Error(`Frames differ in size: ${x.byteLength} vs ${y.byteLength} bytes.`);
  let sum = 0;
  for (let i = 0; i < x.byteLength; i++) {
    const d = x[i] - y[i];
    sum += d * d;
  }
  const mse = sum / x.byteLength;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
