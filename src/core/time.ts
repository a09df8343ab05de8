import { InvalidArgumentError } from './errors.js';

/** Nanoseconds per second, as a bigint. */
export const NS_PER_SECOND = 1_000_000_000n;

const epochAtStartNs = BigInt(Date.now()) * 1_000_000n;
const monotonicAtStartNs = process.hrtime.bigint();

/**
 * Current time in integer nanoseconds since the Unix epoch. Anchored to the wall clock once
 * at start-up and advanced by the monotonic clock, so it never steps backwards.
 */
export function nowNs(): bigint {
  return epochAtStartNs + (process.hrtime.bigint() - monotonicAtStartNs);
}

/**
 * Largest span in seconds that integer-ns timestamps (unsigned 64-bit, as MCAP stores them)
 * can express: about 584 years.
 */
export const MAX_SECONDS = 18_446_744_073;

/** Longest delay, ms, a Node timer takes (2^31 - 1, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Frame rates framebus accepts, frames per second. */
export const FPS_RANGE = { min: 0.001, max: 1000 } as const;

/**
 * Converts seconds (a person's unit) to integer nanoseconds.
 * @throws InvalidArgumentError when `seconds` is not a finite number within ±`MAX_SECONDS`.
 */
export function secondsToNs(seconds: number, what = 'time'): bigint {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || Math.abs(seconds) > MAX_SECONDS) {
    throw new InvalidArgumentError(`${what} must be a number of seconds from -${MAX_SECONDS} to ${MAX_SECONDS}, got ${String(seconds)}.`);
  }
  return BigInt(Math.round(seconds * 1e9));
}

/**
 * Checks a frame rate: a finite number within `FPS_RANGE`.
 * @throws InvalidArgumentError naming `what` and the range.
 */
export function checkFps(fps: unknown, what = 'fps'): asserts fps is number {
  if (typeof fps !== 'number' || !(fps >= FPS_RANGE.min && fps <= FPS_RANGE.max)) {
    throw new InvalidArgumentError(`${what} must be a number from ${FPS_RANGE.min} to ${FPS_RANGE.max} frames per second, got ${String(fps)}.`);
  }
}

/** Converts integer nanoseconds to (fractional) seconds. */
export function nsToSeconds(ns: bigint): number {
  return Number(ns) / 1e9;
}

/**
 * The duration of one frame at `fps`, in nanoseconds (rounded).
 * @throws InvalidArgumentError when `fps` is outside `FPS_RANGE`.
 */
export function frameDurationNs(fps: number): bigint {
  checkFps(fps);
  return BigInt(Math.round(1e9 / fps));
}
