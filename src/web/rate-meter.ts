/** Counts events and bytes over a sliding window to give rates a person reads (fps, bit/s). */
export class RateMeter {
  private readonly events: { at: number; bytes: number }[] = [];

  /** @param windowMs length of the window, ms. */
  constructor(private readonly windowMs = 1000) {}

  /** Records one event of `bytes` at `now` (ms, any monotonic clock). */
  add(now: number, bytes = 0): void {
    this.events.push({ at: now, bytes });
    this.trim(now);
  }

  /** Events per second over the window ending at `now`. */
  perSecond(now: number): number {
    this.trim(now);
    return (this.events.length * 1000) / this.windowMs;
  }

  /** Bits per second over the window ending at `now`. */
  bitsPerSecond(now: number): number {
    this.trim(now);
    return (this.events.reduce((s, e) => s + e.bytes, 0) * 8 * 1000) / this.windowMs;
  }

  private trim(now: number): void {
    while (this.events.length > 0 && this.events[0].at <= now - this.windowMs) this.events.shift();
  }
}
