import { FormatContext, Packet, type Frame as AvFrame } from 'node-av/lib';
import * as C from 'node-av/constants';
import type { AVPixelFormat } from 'node-av/constants';
import { PixelConverter } from '../codec/pixel-converter.js';
import { quietFfmpegLogs } from '../codec/ffmpeg-log.js';
import { FrameTimestampError, InvalidArgumentError } from '../core/errors.js';
import { frameFromPacked, type Frame } from '../core/frame.js';
import { checkInputFile } from '../core/input-file.js';
import { FramePool, pooledFrame } from '../codec/frame-pool.js';
import { DecodeCursor } from './decode-cursor.js';

/** Pixel formats `decodeVideoFrames` hands out. */
export type DecodedFormat = 'rgb24' | 'yuv420p';

/** How to pick and hand out frames. */
export interface FramesAtOptions {
  /**
   * A frame answers a timestamp only when it is nearer than this, seconds (LeRobot's rule:
   * distance < tolerance). Default 1e-4, LeRobot's `tolerance_s`.
   */
  toleranceS?: number;
  /**
   * `rgb24` (packed, converted by swscale) or `yuv420p` (the decoder's planes copied as they
   * are: no conversion). Default `rgb24`.
   */
  format?: DecodedFormat;
  /**
   * Memory to write the frames into, given back with `pool.release(frames)` once they are
   * read, so that the next request reuses it instead of allocating (see `FramePool`). Frames
   * of recordings (.mcap) do not use it.
   */
  pool?: FramePool;
}

/** How to open a reader. */
export interface VideoFileReaderOptions {
  /** Positioned decoders kept per file for random access, so requests in different places each continue. Default 3. */
  decoders?: number;
  /** Threads per decoder (0 = one per core). Default 0, except for AV1 random access: 1 (see `CursorOptions.access`). */
  threads?: number;
}

/** A request that reached a skipped picture nearer than the answer: redo it decoding everything. */
class SkippedNearer extends Error {}

const SECOND_NS = 1_000_000_000n;

/** A request this far (seconds) after the previous one moves forward through the video rather than jumping. */
const FORWARD_S = 1;

/** A batch of at least this many frames, each next to the one before, is a forward run. */
const RUN_FRAMES = 8;

/**
 * Frames of a video file at timestamps, in seconds of the file's own presentation time (pts ×
 * time base, as PyAV and LeRobot count). It keeps several positioned decoders: a request
 * continues the decoder that stands in the same GOP before it, else the least recently used
 * one seeks to the key frame before. Batches are sorted and each GOP decoded once; pictures
 * no answer needs and no later picture refers to (H.264 non-reference slices) are not
 * decoded; frames not asked for are never copied or converted.
 */
export class VideoFileReader {
  private readonly cursors: DecodeCursor[] = [];
  /** The decoder of forward runs (set up for throughput, see `CursorOptions.access`), opened on the first run. */
  private runner: DecodeCursor | undefined;
  private readonly converter = new PixelConverter();
  private probe: FormatContext | undefined;
  private readonly probePacket = new Packet();
  private readonly keyCache = new Map<bigint, bigint>();
  private uses = 0;
  /** The last timestamp of the previous request, seconds. */
  private lastAsked: number | undefined;
  private start: number | undefined;
  private closed = false;

  private constructor(
    /** The file. */
    readonly path: string,
    first: DecodeCursor,
    private readonly tb: { num: number; den: number },
    /** Seconds per frame at the stream's average rate. */
    readonly frameDurationS: number,
    private readonly options: { decoders: number; threads: number | undefined },
  ) {
    this.cursors.push(first);
    this.probePacket.alloc();
  }

  /**
   * Opens a video file (any container FFmpeg reads) with one decoder; more open as needed.
   * @throws NotFoundError for a missing file; MalformedDataError when it is not a video.
   */
  static async open(path: string, options: VideoFileReaderOptions = {}): Promise<VideoFileReader> {
    quietFfmpegLogs();
    await checkInputFile(path, 'Video');
    const opts = { decoders: options.decoders ?? 3, threads: options.threads };
    if (!Number.isInteger(opts.decoders) || opts.decoders < 1) throw new InvalidArgumentError(`decoders must be a positive integer, got ${options.decoders}.`);
    const first = DecodeCursor.open(path, { threads: opts.threads, access: 'seek' });
    const { stream } = first;
    const rate = stream.frameRate;
    const frameDurationS = rate.num > 0 ? rate.den / rate.num : 1 / 30;
    return new VideoFileReader(path, first, { num: stream.timeBase.num, den: stream.timeBase.den }, frameDurationS, opts);
  }

  /**
   * The first frame's presentation time, seconds (0 for most MP4 files). When the container's
   * header does not say (MPEG-TS), the first frame is decoded to find it.
   */
  get startS(): number {
    if (this.start === undefined) {
      const stated = this.cursors[0].stream.startTime;
      this.start = stated !== C.AV_NOPTS_VALUE ? this.seconds(stated) : Number(this.framesAt([-1e9], { toleranceS: Infinity, format: 'yuv420p' })[0].timestamp) / 1e9;
    }
    return this.start;
  }

  private seconds(pts: bigint): number {
    return (Number(pts) * this.tb.num) / this.tb.den;
  }

  private ptsOf(seconds: number): bigint {
    return BigInt(Math.floor((seconds * this.tb.den) / this.tb.num + 1e-6));
  }

  /** The pts of the key frame the demuxer seeks to for `pts`, through a demuxer of its own (cached). */
  private keyAtOrBefore(pts: bigint): bigint {
    const cached = this.keyCache.get(pts);
    if (cached !== undefined) return cached;
    if (!this.probe) {
      this.probe = new FormatContext();
      this.probe.allocContext();
      this.probe.openInputSync(this.path);
      for (const s of this.probe.streams) if (s.index !== this.cursors[0].stream.index) s.discard = C.AVDISCARD_ALL;
    }
    let key = -1n;
    const seeked = this.probe.seekFrameSync(this.cursors[0].stream.index, pts, C.AVSEEK_FLAG_BACKWARD) >= 0;
    if (seeked && this.probe.readFrameSync(this.probePacket) >= 0) key = this.probePacket.pts !== C.AV_NOPTS_VALUE ? this.probePacket.pts : this.probePacket.dts;
    this.probePacket.unref();
    if (this.keyCache.size > 4096) this.keyCache.clear();
    this.keyCache.set(pts, key);
    return key;
  }

  /** Every open cursor. */
  private all(): DecodeCursor[] {
    return this.runner ? [...this.cursors, this.runner] : this.cursors;
  }

  /**
   * The cursor that reaches `target` soonest: the run decoder when it stands just before it
   * or when the batch is a forward `run`; else a random-access one standing before it in its
   * GOP, else the least recently used (or a new one), moved there.
   */
  private cursorFor(target: number, run: boolean): DecodeCursor {
    const r = this.runner;
    if (r && r.prevPts !== undefined && this.seconds(r.prevPts) <= target && (r.ended || target - this.seconds(r.prevPts) <= 2 * this.frameDurationS) && r.skipped.length === 0) return r;
    if (run) {
      this.runner ??= DecodeCursor.open(this.path, { threads: this.options.threads, access: 'stream' });
      this.runner.seek(this.ptsOf(target));
      return this.runner;
    }
    let best: DecodeCursor | undefined;
    for (const c of this.cursors) {
      if (c.prevPts === undefined || this.seconds(c.prevPts) > target) continue;
      // A picture it skipped could be the answer (or a neighbour of it): only a fresh walk has it.
      if (c.skipped.some((p) => this.seconds(p) <= target + 2 * this.frameDurationS)) continue;
      if (!best || c.prevPts! > best.prevPts!) best = c;
    }
    if (best && (best.ended || this.worthContinuing(best, best.prevPts!, target))) return best;
    let cursor: DecodeCursor;
    if (this.cursors.length < this.options.decoders) {
      cursor = DecodeCursor.open(this.path, { threads: this.options.threads, access: 'seek' });
      this.cursors.push(cursor);
    } else {
      cursor = this.cursors.reduce((a, b) => (b.lastUsed < a.lastUsed ? b : a));
    }
    cursor.seek(this.ptsOf(target));
    return cursor;
  }

  /**
   * True when walking on from the cursor's frame at `from` (pts) to `target` decodes no more
   * than a seek to the target's key frame would (a seek also refills the decoder's pipeline,
   * counted as two frames). The key frame is taken from the packets the cursor read, else
   * asked of the index.
   */
  private worthContinuing(c: DecodeCursor, from: bigint, target: number): boolean {
    const gap = target - this.seconds(from);
    const slack = 2 * this.frameDurationS;
    if (gap <= slack) return true;
    const t = this.ptsOf(target);
    let key: bigint | undefined;
    if (c.lastReadPts !== undefined && t <= c.lastReadPts) for (const k of c.keysRead) if (k <= t) key = k;
    key ??= this.keyAtOrBefore(t);
    return gap <= target - this.seconds(key) + slack;
  }

  /**
   * The frames nearest to each of `timestamps` (seconds), in the order asked.
   * @throws FrameTimestampError naming the requested and nearest timestamps when the nearest
   *   frame is not within `toleranceS`; InvalidArgumentError for a timestamp or tolerance that
   *   is not a finite number; MalformedDataError when the file cannot be decoded.
   */
  framesAt(timestamps: readonly number[], options: FramesAtOptions = {}): Frame[] {
    if (this.closed) throw new InvalidArgumentError(`The reader of ${this.path} is closed.`);
    if (!Array.isArray(timestamps) || timestamps.length === 0) throw new InvalidArgumentError('Give at least one timestamp, in seconds.');
    for (const t of timestamps) if (typeof t !== 'number' || !Number.isFinite(t)) throw new InvalidArgumentError(`Timestamps must be finite numbers of seconds, got ${String(t)}.`);
    const tolerance = options.toleranceS ?? 1e-4;
    if (typeof tolerance !== 'number' || !(tolerance >= 0)) throw new InvalidArgumentError(`toleranceS must be a number ≥ 0, got ${String(options.toleranceS)}.`);
    const format = options.format ?? 'rgb24';
    if (format !== 'rgb24' && format !== 'yuv420p') throw new InvalidArgumentError(`format must be rgb24 or yuv420p, got ${String(format)}.`);
    const pool = options.pool;
    if (pool !== undefined && !(pool instanceof FramePool)) throw new InvalidArgumentError('pool must be a FramePool.');
    let answers: Map<number, { frame: Frame; seconds: number }>;
    try {
      try {
        answers = this.decode(timestamps, format, pool, true);
      } catch (error) {
        if (!(error instanceof SkippedNearer)) throw error;
        for (const c of this.all()) c.forget();
        answers = this.decode(timestamps, format, pool, false);
      }
    } catch (error) {
      // A walk cut short leaves its decoder somewhere unknown.
      for (const c of this.all()) c.forget();
      throw error;
    }
    return timestamps.map((t) => {
      const a = answers.get(t)!;
      if (!(Math.abs(a.seconds - t) < tolerance)) {
        throw new FrameTimestampError(
          `${this.path}: no frame within ${tolerance} s of the requested timestamp ${t} s; the nearest frame is at ${a.seconds} s (${Math.abs(a.seconds - t).toFixed(6)} s away). The file's frames may be out of sync with the dataset's timestamps.`,
          BigInt(Math.round(t * 1e9)),
          a.frame.timestamp,
          t,
          a.seconds,
        );
      }
      return a.frame;
    });
  }

  private decode(timestamps: readonly number[], format: DecodedFormat, pool: FramePool | undefined, skipping: boolean): Map<number, { frame: Frame; seconds: number }> {
    const pending = [...new Set(timestamps)].sort((a, b) => a - b);
    const answers = new Map<number, { frame: Frame; seconds: number }>();
    const skipGap = 1.5 * this.frameDurationS;
    const nearGap = 0.501 * this.frameDurationS;
    const run = pending.length >= RUN_FRAMES && pending.every((t, i) => i === 0 || t - pending[i - 1] <= skipGap);
    // A random request drains its decoder once past the last target, rather than decoding the
    // pictures behind it that only a next request nearby could use. Requests that move forward
    // a little (stepping through, or sampling every few frames: within a second, or within the
    // target's GOP) keep their decoder going, so that the next one continues it.
    const last = pending[pending.length - 1];
    const gap = this.lastAsked === undefined ? -1 : pending[0] - this.lastAsked;
    const forward = gap > 0 && (gap <= FORWARD_S || gap <= pending[0] - this.seconds(this.keyAtOrBefore(this.ptsOf(pending[0]))));
    const drainS = skipping && !run && !forward ? last + this.frameDurationS / 2 : undefined;
    this.lastAsked = last;
    while (pending.length > 0) {
      const cursor = this.cursorFor(pending[0], run);
      cursor.lastUsed = ++this.uses;
      let converted: { pts: bigint; frame: Frame } | undefined;
      const answer = (t: number, frame: AvFrame, pts: bigint) => {
        if (converted?.pts !== pts) converted = { pts, frame: this.toFrame(frame, pts, format, pool) };
        answers.set(t, { frame: converted.frame, seconds: this.seconds(pts) });
      };
      let skipped: number[] = [];
      let stop = false;
      let fresh = cursor.prevPts === undefined;
      const stated = cursor.stream.startTime;
      const statedStart = stated === C.AV_NOPTS_VALUE ? -Infinity : this.seconds(stated);
      let back: bigint | undefined;
      let backs = 0;
      let restart = false;
      let restarted = false;
      const onFrame = (frame: AvFrame, pts: bigint): boolean => {
        const s = this.seconds(pts);
        if (fresh && s > pending[0] && s > statedStart) {
          // The seek landed past the target: on a key frame whose earlier-shown pictures are
          // decoded before it (go back one GOP), or through an index that cannot be trusted
          // (a truncated file: start from the beginning).
          const earlier = cursor.lastKeyRead === undefined ? -1n : this.keyAtOrBefore(cursor.lastKeyRead - 1n);
          if (backs < 3 && earlier >= 0n && earlier < cursor.lastKeyRead!) {
            back = earlier;
            return false;
          }
          if (!restarted) {
            restart = true;
            return false;
          }
        }
        fresh = false;
        while (pending.length > 0 && pending[0] <= s) {
          const t = pending[0];
          const usePrev = cursor.prevPts !== undefined && t - this.seconds(cursor.prevPts) <= s - t;
          const distance = usePrev ? t - this.seconds(cursor.prevPts!) : s - t;
          if (skipped.some((k) => Math.abs(k - t) < distance)) throw new SkippedNearer();
          if (usePrev) answer(t, cursor.prev, cursor.prevPts!);
          else answer(t, frame, pts);
          pending.shift();
          skipped = [];
          if (pending.length > 0 && !this.worthContinuing(cursor, pts, pending[0])) stop = true;
        }
        return true;
      };
      const skip = (pts: bigint): boolean => {
        if (!skipping) return false;
        const s = this.seconds(pts);
        // Pictures after the last target stay: the next request may continue to them.
        // Only a picture within half a frame of a target can be its nearest; one skipped that turns out nearer (variable frame rates) is caught and redone.
        if (s >= pending[pending.length - 1] || pending.some((t) => Math.abs(s - t) <= nearGap)) return false;
        skipped.push(s);
        return true;
      };
      for (;;) {
        cursor.walk(onFrame, () => stop || pending.length === 0, skip, drainS === undefined ? undefined : this.ptsOf(drainS));
        // A seek that found nothing (to before the start, or through a broken index) starts over too.
        if (!restarted && cursor.ended && cursor.prevPts === undefined && pending.length > 0) restart = true;
        if (back !== undefined) {
          cursor.seek(back);
          backs++;
        } else if (restart) {
          cursor.restart();
          restarted = true;
        } else {
          break;
        }
        back = undefined;
        restart = false;
        fresh = true;
        skipped = [];
      }
      if (cursor.drained) {
        // Every picture shown before drainS was decoded: a timestamp still open whose earlier
        // neighbour is nearer than drainS is answered by it; any other (a gap in the frames) is
        // redone without draining.
        const prevS = cursor.prevPts === undefined ? undefined : this.seconds(cursor.prevPts);
        while (pending.length > 0 && prevS !== undefined && 2 * pending[0] - prevS <= drainS!) {
          const t = pending.shift()!;
          if (skipped.some((k) => Math.abs(k - t) < t - prevS)) throw new SkippedNearer();
          answer(t, cursor.prev, cursor.prevPts!);
        }
        cursor.forget();
        if (pending.length > 0) throw new SkippedNearer();
        continue;
      }
      if (stop) continue;
      // The stream ended: every timestamp left is nearest to the last frame.
      if (pending.length > 0 && cursor.ended && cursor.prevPts !== undefined) {
        for (const t of pending.splice(0)) answer(t, cursor.prev, cursor.prevPts);
      } else if (pending.length > 0 && cursor.ended) {
        throw new InvalidArgumentError(`${this.path} has no decodable frames.`);
      }
    }
    return answers;
  }

  /** Copies the decoder's picture out (into the pool's memory when given): its planes as they are for yuv420p, one swscale pass for rgb24. */
  private toFrame(f: AvFrame, pts: bigint, format: DecodedFormat, pool: FramePool | undefined): Frame {
    const timestamp = (pts * BigInt(this.tb.num) * SECOND_NS) / BigInt(this.tb.den);
    if (pool) return pooledFrame(pool, f, format, timestamp, this.converter);
    if (format === 'yuv420p' && f.format === C.AV_PIX_FMT_YUV420P) {
      return frameFromPacked(f.toBuffer(), { width: f.width, height: f.height, format, timestamp });
    }
    return this.converter.fromAvPlanes({ data: f.data ?? [], strides: f.linesize, width: f.width, height: f.height, format: f.format as AVPixelFormat }, { format }, { timestamp, frameId: 0 });
  }

  /** Frees every decoder. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.all()) c.close();
    this.probe?.closeInputSync();
    this.probePacket.free();
    this.converter.close();
  }
}
