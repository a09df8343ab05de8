/** The median of `values` (NaN for none). */
export function median(values: number[]): number {
  return quantile(values, 0.5);
}

/** The `q` quantile (0–1) of `values` with linear interpolation (NaN for none). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Rounds to `digits` decimals for reports. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
