/** The file's byte ranges that are part of readable records, merged at the end. */
export class Coverage {
  private readonly ranges: [number, number][] = [];

  add(start: number, end: number): void {
    if (end > start) this.ranges.push([start, end]);
  }

  covers(at: number): boolean {
    return this.ranges.some(([s, e]) => at >= s && at < e);
  }

  /** Ranges of `[0, size)` that no readable record covers. */
  gaps(size: number): [number, number][] {
    const sorted = [...this.ranges].sort((a, b) => a[0] - b[0]);
    const out: [number, number][] = [];
    let at = 0;
    for (const [s, e] of sorted) {
      if (s > at) out.push([at, s]);
      at = Math.max(at, e);
    }
    if (at < size) out.push([at, size]);
    return out;
  }
}
