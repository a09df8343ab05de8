/**
 * The page's estimate of the server's clock: the offset (server clock minus page clock, ns)
 * bounded from both sides. A server time heard one way (a protocol time message) was read
 * before it arrived, so it proves `offset ≥ server − arrival`; a round trip (ask at t0, the
 * server reads its clock, the answer is back at t1) also proves `offset ≤ server − t0`. The
 * estimate is the middle of what all samples allow. One-way samples alone read low by their
 * delay, which on a loaded machine is tens of milliseconds: enough to show a latency below
 * zero.
 */
export class ServerClock {
  /** Largest lower bound of the offset seen, ns. */
  private lower: bigint | undefined;
  /** Smallest upper bound of the offset seen, ns. */
  private upper: bigint | undefined;

  /** A server time `serverNs` that arrived at page time `arrivedNs` (both ns since the Unix epoch). */
  heard(serverNs: bigint, arrivedNs: bigint): void {
    this.bound(serverNs - arrivedNs, undefined);
  }

  /** A round trip: asked at page time `askedNs`, the server read `serverNs`, answered by page time `answeredNs`. */
  roundTrip(askedNs: bigint, serverNs: bigint, answeredNs: bigint): void {
    if (answeredNs < askedNs) return;
    this.bound(serverNs - answeredNs, serverNs - askedNs);
  }

  /** Server clock minus this page's clock, ns: the middle of the bounds; 0 before any sample. */
  get offsetNs(): bigint {
    if (this.lower === undefined) return 0n;
    if (this.upper === undefined) return this.lower;
    return (this.lower + this.upper) / 2n;
  }

  /** How far the estimate can be from the true offset, ns; undefined while only one-way samples bound it. */
  get uncertaintyNs(): bigint | undefined {
    return this.lower === undefined || this.upper === undefined ? undefined : (this.upper - this.lower) / 2n;
  }

  private bound(lower: bigint, upper: bigint | undefined): void {
    // Bounds that contradict each other mean a clock was set (stepped) meanwhile: start over from this sample.
    if ((upper !== undefined && this.lower !== undefined && upper < this.lower) || (this.upper !== undefined && lower > this.upper)) {
      this.lower = lower;
      this.upper = upper;
      return;
    }
    if (this.lower === undefined || lower > this.lower) this.lower = lower;
    if (upper !== undefined && (this.upper === undefined || upper < this.upper)) this.upper = upper;
  }
}

/** When the page asks the server's clock after connecting, ms; then every {@link CLOCK_ROUND_TRIP_INTERVAL_MS}. */
const CLOCK_ROUND_TRIPS_AT_MS = [0, 100, 250, 500, 1000, 2000];
const CLOCK_ROUND_TRIP_INTERVAL_MS = 5000;

/**
 * Asks a live server's clock (`GET url` answering `{ "now_ns": "<ns since the Unix epoch>" }`)
 * a few times after connecting and then every 5 s, feeding each round trip to `clock`; a
 * failed request is skipped (the next one may do). Returns a function that stops it.
 * @param now this page's clock, ns since the Unix epoch.
 */
export function askServerClock(clock: ServerClock, url: string, now: () => bigint): () => void {
  const timers: ReturnType<typeof setTimeout>[] = [];
  const ask = async () => {
    try {
      const asked = now();
      const response = await fetch(url, { cache: 'no-store' });
      const { now_ns: serverNs } = (await response.json()) as { now_ns?: unknown };
      const answered = now();
      if (response.ok && typeof serverNs === 'string' && /^\d+$/.test(serverNs)) clock.roundTrip(asked, BigInt(serverNs), answered);
    } catch {
      // The server may be restarting; the estimate keeps its earlier samples.
    }
  };
  for (const ms of CLOCK_ROUND_TRIPS_AT_MS) timers.push(setTimeout(() => void ask(), ms));
  const steady = setInterval(() => void ask(), CLOCK_ROUND_TRIP_INTERVAL_MS);
  return () => {
    timers.forEach(clearTimeout);
    clearInterval(steady);
  };
}
