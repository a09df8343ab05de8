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

/**
 * How a message benchmark's runs went: what arrived of an as-fast-as-possible run and the
 * one-way latency of a paced run.
 */
export interface DeliveryFigures {
  /** Messages the publisher sent in the throughput run. */
  sent: number;
  /** Of those, messages that arrived whole. */
  received: number;
  /** Fraction of sent messages that never arrived (0–1). */
  loss: number;
  /** Messages delivered per second: received ÷ (last arrival − send time of the first received). */
  msgs_per_s: number;
  /** Megabytes (10^6 bytes) of messages delivered per second. */
  mb_per_s: number;
  /** Median one-way latency in the paced run (publish call to subscriber handler), microseconds. */
  latency_p50_us: number;
  /** 99th percentile of the same, microseconds. */
  latency_p99_us: number;
  /** Messages the latency figures come from. */
  latency_samples: number;
}
