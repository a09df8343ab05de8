import { InvalidArgumentError as CommanderInvalidArgument } from 'commander';

/** Commander parser for a positive whole number. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CommanderInvalidArgument(`expected a positive whole number, got "${value}"`);
  return n;
}

/** Commander parser for a whole number ≥ 0. */
export function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CommanderInvalidArgument(`expected a whole number ≥ 0, got "${value}"`);
  return n;
}

/** Commander parser for a finite number. */
export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new CommanderInvalidArgument(`expected a number, got "${value}"`);
  return n;
}

/** Commander parser for a positive number (rates, speeds, durations). */
export function positiveNumber(value: string): number {
  const n = finiteNumber(value);
  if (n <= 0) throw new CommanderInvalidArgument(`expected a number > 0, got "${value}"`);
  return n;
}

/** Commander parser for `WIDTHxHEIGHT`. */
export function size(value: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (!m || Number(m[1]) <= 0 || Number(m[2]) <= 0) throw new CommanderInvalidArgument(`expected WIDTHxHEIGHT such as 640x480, got "${value}"`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** Commander parser for a comma-separated list of numbers (times in seconds). */
export function numberList(value: string): number[] {
  return value.split(',').map((v) => finiteNumber(v.trim()));
}

/** Writes a value as pretty JSON on stdout, with bigints as numbers-in-strings where unsafe. */
export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v), 2)}\n`,
  );
}
