import { InvalidArgumentError as CommanderInvalidArgument } from 'commander';
import { FPS_RANGE, MAX_SECONDS, MAX_TIMER_MS } from '../core/time.js';
import { SPEED_RANGE } from '../store/play-recording.js';

const MAX_INT = 2 ** 31 - 1;

/**
 * A Commander parser for a number from `min` to `max` (above `min` when `above`; whole when
 * `integer`) whose error states the range, so nothing out of range reaches BigInt or a timer.
 */
export function numberIn(min: number, max: number, options: { integer?: boolean; above?: boolean; unit?: string } = {}): (value: string) => number {
  const what = `${options.integer ? 'a whole number' : 'a number'}${options.unit ? ` of ${options.unit}` : ''}`;
  const range = options.above ? `> ${min} and ≤ ${max}` : `from ${min} to ${max}`;
  return (value) => {
    const n = Number(value);
    const ok = value.trim() !== '' && Number.isFinite(n) && (!options.integer || Number.isInteger(n)) && (options.above ? n > min : n >= min) && n <= max;
    if (!ok) throw new CommanderInvalidArgument(`expected ${what} ${range}, got "${value}"`);
    return n;
  };
}

/** A positive whole number (frame counts, bit rates). */
export const positiveInt = numberIn(1, MAX_INT, { integer: true });
/** A whole number ≥ 0. */
export const wholeNumber = numberIn(0, MAX_INT, { integer: true });
/** Seconds from a stream's start (times, tolerances): as far as ns timestamps reach. */
export const seconds = numberIn(0, MAX_SECONDS, { unit: 'seconds' });
/** How long a command runs: what one timer can wait. */
export const duration = numberIn(0, MAX_TIMER_MS / 1000, { above: true, unit: 'seconds' });
/** A frame rate. */
export const fps = numberIn(FPS_RANGE.min, FPS_RANGE.max, { unit: 'frames per second' });
/** A playback rate. */
export const speed = numberIn(SPEED_RANGE.min, SPEED_RANGE.max);
/** Frames between keyframes. */
export const gop = numberIn(1, 10_000, { integer: true, unit: 'frames' });
/** Constant rate factor: x264/x265 use 0–51, SVT-AV1 0–63. */
export const crf = numberIn(0, 63, { integer: true });
/** JPEG quality. */
export const quality = numberIn(1, 100, { integer: true });
/** A TCP port; 0 picks a free one. */
export const port = numberIn(0, 65535, { integer: true });

const SIDE = numberIn(1, 16384, { integer: true, unit: 'pixels' });

/** Commander parser for `WIDTHxHEIGHT`, each side 1 to 16384 pixels. */
export function size(value: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (!m) throw new CommanderInvalidArgument(`expected WIDTHxHEIGHT such as 640x480, got "${value}"`);
  return { width: SIDE(m[1]), height: SIDE(m[2]) };
}

/** Commander parser for comma-separated times in seconds from a stream's start. */
export function secondsList(value: string): number[] {
  return value.split(',').map((v) => seconds(v.trim()));
}

/** JSON text of a value; bigints become numbers where exact, else decimal strings. `indent` spaces per level (0: one line). */
export function jsonText(value: unknown, indent = 0): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v), indent);
}

/** Writes a value as pretty JSON on stdout (see `jsonText`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${jsonText(value, 2)}\n`);
}
