/** One decoded picture and the presentation time given to it. */
export interface TimedItem<T> {
  readonly item: T;
  /** Seconds from the file's time origin; strictly greater than the previous item's. */
  readonly seconds: number;
}

/** Options of `PresentationTimes`. */
export interface PresentationTimesOptions {
  /** Nominal frames per second: the step used where a time must be derived. */
  fps: number;
  /**
   * Pictures held back to sort their times (0 for live devices). Decoders return pictures in
   * presentation order, but containers that store decode timestamps only (pts = dts, packed
   * B-frames in AVI) hand them times in decode order; sorting a few times fixes that.
   */
  depth: number;
  /** Called once, at the first missing or replaced time, with its picture's index. */
  onFirstRepair?: (index: number) => void;
}

/**
 * Gives decoded pictures, in the order the decoder returns them (presentation order), times
 * that rise: the file's own times, sorted within a small window; a missing, repeated or
 * backwards time is derived from the previous one plus one frame period. Real variable frame
 * rates pass through unchanged.
 */
export class PresentationTimes<T> {
  private readonly pending: T[] = [];
  private readonly times: number[] = [];
  private last = -Infinity;
  private lastSeen = -Infinity;
  private index = 0;
  private pushed = 0;
  /** How many pictures had no time, or one that had to be replaced. */
  repaired = 0;

  constructor(private readonly options: PresentationTimesOptions) {}

  /**
   * Adds the next decoded picture with the time its decoder reported (undefined when none).
   * @returns the pictures whose time is now settled, in order.
   */
  push(item: T, seconds: number | undefined): TimedItem<T>[] {
    const period = 1 / this.options.fps;
    const known = seconds !== undefined && Number.isFinite(seconds);
    // A missing time is estimated, so the times after it keep their own pictures.
    const time = known ? seconds : this.lastSeen + period;
    if (!known) this.noteRepair(this.pushed);
    this.pushed++;
    if (Number.isFinite(time)) this.lastSeen = Math.max(this.lastSeen, time);
    this.pending.push(item);
    insertSorted(this.times, Number.isFinite(time) ? time : 0);
    const out: TimedItem<T>[] = [];
    while (this.pending.length > this.options.depth) out.push(this.settle());
    return out;
  }

  /** Settles every picture still held (at the end of the input). */
  flush(): TimedItem<T>[] {
    const out: TimedItem<T>[] = [];
    while (this.pending.length > 0) out.push(this.settle());
    return out;
  }

  /** Pictures held back, in order, so a caller that stops early can free them. */
  held(): readonly T[] {
    return this.pending;
  }

  private settle(): TimedItem<T> {
    const item = this.pending.shift() as T;
    let seconds = this.times.shift() as number;
    if (!(seconds > this.last)) {
      this.noteRepair(this.index);
      seconds = this.last === -Infinity ? 0 : this.last + 1 / this.options.fps;
    }
    this.last = seconds;
    this.index++;
    return { item, seconds };
  }

  private noteRepair(index: number): void {
    if (this.repaired === 0) this.options.onFirstRepair?.(index);
    this.repaired++;
  }
}

function insertSorted(values: number[], value: number): void {
  let i = values.length;
  while (i > 0 && values[i - 1] > value) i--;
  values.splice(i, 0, value);
}
