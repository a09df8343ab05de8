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
 * Converts seconds (a person's unit) to integer nanoseconds.
 * @throws InvalidArgumentError when `seconds` is not a finite number.
 */
export function secondsToNs(seconds: number, what = 'time'): bigint {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
    throw new InvalidArgumentError(`${what} must be a finite number of seconds, got ${String(seconds)}.`);
  }
  return BigInt(Math.round(seconds * 1e9));
}

/** Converts integer nanoseconds to (fractional) seconds. */
export function nsToSeconds(ns: bigint): number {
  return Number(ns) / 1e9;
}

/** The duration of one frame at `fps`, in nanoseconds (rounded). */
export function frameDurationNs(fps: number): bigint {
  if (!Number.isFinite(fps) || fps <= 0) {
    throw new InvalidArgumentError(`fps must be a positive finite number, got ${String(fps)}.`);
  }
  return BigInt(Math.round(1e9 / fps));
}
