import { MalformedDataError } from '../core/errors.js';
import type { ChunkCache, Entry } from './chunk-cache.js';
import type { McapSource } from './mcap-source.js';

/** A position in a stream: segment `g` of its time-ordered segments, entry `i` in it. */
export interface Location {
  readonly g: number;
  readonly i: number;
}

/** Chunks read together: one chunk, or chunks whose times overlap (their entries merged). */
interface Segment {
  readonly positions: readonly number[];
  /** Bounds of the stream's log times inside, ns (exact, or the chunks' wider range). */
  readonly start: bigint;
  readonly end: bigint;
}

/** Groups time ranges into segments that do not overlap, in time order. */
function segmentsOf(ranges: Segment[]): Segment[] {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : 0));
  const out: Segment[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start < last.end) {
      out[out.length - 1] = { positions: [...last.positions, ...r.positions], start: last.start, end: r.end > last.end ? r.end : last.end };
    } else {
      out.push(r);
    }
  }
  return out;
}

/**
 * The first `i < length` whose `timeAt(i)` (rising with `i`) is at or after `t` (after `t`
 * when `after`), or `length` when none is: a binary search.
 */
function firstAtOrAfter(length: number, timeAt: (i: number) => bigint, t: bigint, after: boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (after ? timeAt(mid) > t : timeAt(mid) >= t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Walks one stream's entries in time order, whatever the order of its chunks in the file
 * (MCAP allows chunks in any order, and chunks whose times overlap). As @mcap/core's
 * `ChunkCursor` does, it reads only the chunks a move needs, through the shared chunk cache.
 */
export class StreamCursor {
  private planned: Promise<Segment[]> | undefined;

  /** @param positions Positions in `source.chunks` of the chunks that hold the stream. */
  constructor(
    /** The stream's name, for messages. */
    readonly name: string,
    private readonly source: McapSource,
    private readonly cache: ChunkCache,
    readonly channelId: number,
    private readonly positions: readonly number[],
  ) {}

  /** The stream's segments in time order, planned once from the chunk index. */
  segments(): Promise<Segment[]> {
    this.planned ??= this.plan();
    return this.planned;
  }

  private async plan(): Promise<Segment[]> {
    const chunks = this.positions.map((p) => ({ positions: [p], start: this.source.chunks[p].start, end: this.source.chunks[p].end }));
    const coarse = segmentsOf(chunks);
    if (coarse.every((s) => s.positions.length === 1)) return coarse;
    // A chunk's range covers all its channels; this stream's own times decide whether its chunks really overlap.
    const exact: Segment[] = [];
    for (const s of coarse) {
      if (s.positions.length === 1) exact.push(s);
      else for (const p of s.positions) {
        const times = await this.source.channelTimes(p, this.channelId);
        if (times) exact.push({ positions: [p], ...times });
      }
    }
    return segmentsOf(exact);
  }

  /** The stream's entries in segment `g`. @throws MalformedDataError when a chunk of it is damaged. */
  async entries(g: number): Promise<Entry[]> {
    return this.cache.entries((await this.segments())[g].positions, this.channelId);
  }

  /** Exact log times of the stream's first and last message, ns; undefined for an empty stream. */
  async span(): Promise<{ first: bigint; last: bigint } | undefined> {
    const segments = await this.segments();
    if (segments.length === 0) return undefined;
    const times = async (s: Segment) => (await Promise.all(s.positions.map((p) => this.source.channelTimes(p, this.channelId)))).filter((t) => t !== undefined);
    const head = await times(segments[0]);
    const tail = await times(segments[segments.length - 1]);
    if (head.length === 0 || tail.length === 0) return undefined;
    return { first: head.reduce((a, t) => (t.start < a ? t.start : a), head[0].start), last: tail.reduce((a, t) => (t.end > a ? t.end : a), tail[0].end) };
  }

  /** True when some segment's time bounds hold `t`: a message at `t` can only be there. */
  async covers(t: bigint): Promise<boolean> {
    const segments = await this.segments();
    const g = firstAtOrAfter(segments.length, (i) => segments[i].end, t, false);
    return g < segments.length && segments[g].start <= t;
  }

  /** Location of the first entry with time ≥ `t` (`after` false) or > `t` (`after` true), or undefined past the end. */
  async locate(t: bigint, after = false): Promise<Location | undefined> {
    const segments = await this.segments();
    // Segments do not overlap, so their ends rise: the first that ends at or after `t` is where to look.
    for (let g = firstAtOrAfter(segments.length, (i) => segments[i].end, t, after); g < segments.length; g++) {
      const list = await this.entries(g);
      const i = firstAtOrAfter(list.length, (k) => list[k].logTime, t, after);
      if (i < list.length) return { g, i };
    }
    return undefined;
  }

  /** The entry before `loc` (before the end when undefined), or undefined at the start of the stream. */
  async previous(loc: Location | undefined): Promise<Location | undefined> {
    let { g, i } = loc ?? { g: (await this.segments()).length, i: 0 };
    while (i === 0) {
      if (g === 0) return undefined;
      g--;
      i = (await this.entries(g)).length;
    }
    return { g, i: i - 1 };
  }

  /** The entry after `loc`, or undefined at the end of the stream. */
  async next(loc: Location): Promise<Location | undefined> {
    const count = (await this.segments()).length;
    let { g, i } = loc;
    i++;
    while (i >= (await this.entries(g)).length) {
      g++;
      i = 0;
      if (g >= count) return undefined;
    }
    return { g, i };
  }

  async at(loc: Location): Promise<Entry> {
    return (await this.entries(loc.g))[loc.i];
  }

  /**
   * The entry nearest to `t` (the earlier one on a tie). A damaged chunk before `t` is passed
   * over only when nothing it could hold is nearer than the entry after it.
   * @throws MalformedDataError when the stream has no readable entries, or the nearest may be in a damaged chunk.
   */
  async nearest(t: bigint): Promise<{ loc: Location; entry: Entry }> {
    const after = await this.locate(t);
    const a = after && (await this.at(after));
    if (after && a && a.logTime === t) return { loc: after, entry: a };
    let before: Location | undefined;
    try {
      before = await this.previous(after);
    } catch (error) {
      const segments = await this.segments();
      const bound = segments[(after?.g ?? segments.length) - 1]?.end;
      if (!(error instanceof MalformedDataError) || !after || !a || bound === undefined || t - bound <= a.logTime - t) throw error;
      return { loc: after, entry: a };
    }
    const b = before && (await this.at(before));
    if (!a && !b) throw new MalformedDataError(`Stream ${this.name} has no readable frames.`);
    if (after && a && (!b || a.logTime - t < t - b.logTime)) return { loc: after, entry: a };
    return { loc: before!, entry: b! };
  }
}
