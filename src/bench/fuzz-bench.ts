import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { FramebusError } from '../core/errors.js';
import type { Frame, PixelFormat } from '../core/frame.js';
import { exportClip } from '../media/export.js';
import { FileSource } from '../source/file-source.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { Recording } from '../store/recording.js';
import { recordingInfo } from '../store/recording-info.js';
import { RecordingReader } from '../store/recording-reader.js';
import { recover } from '../store/recover.js';
import { describeMutation, mutateRecordingAll, mutationsArbitrary, recordingLayout, type Mutation, type RecordingLayout } from './recording-mutation.js';

/** How to run the mutation campaign. */
export interface FuzzOptions {
  /** Mutated recordings to try. Default 10,000. */
  cases?: number;
  /** fast-check seed: the same seed and case count give the same mutations. Default 15. */
  seed?: number;
  /** Frames in the recording that is mutated (160x120 H.264, GOP 8, chunks of about 2 KiB: 7 chunks for 24 frames). Default 24. */
  frames?: number;
  /** A case still running after this many ms counts as a hang. Default 30,000. */
  caseTimeoutMs?: number;
  /** Called after each case with cases done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Which call of a case went wrong. */
export type FuzzStep = 'info' | 'framesAt' | 'export' | 'recover';

/** One thing a case did wrong, with the mutations that make it happen again. */
export interface FuzzFailure {
  /** Case number (0-based) in the seeded sequence. */
  case: number;
  kind: 'crash' | 'hang' | 'wrong-frame' | 'recover-shortfall';
  step: FuzzStep | undefined;
  detail: string;
  mutations: Record<string, unknown>[];
}

/** What the campaign found. Every count but `cases` should be 0. */
export interface FuzzResult {
  seed: number;
  cases: number;
  /** Frames and chunks of the recording that was mutated. */
  frames: number;
  chunks: number;
  /** Errors other than framebus's typed ones (FramebusError subclasses). */
  crashes: number;
  /** Cases that did not finish within the per-case timeout. */
  hangs: number;
  /** Frames returned that differ from a clean decode of the original at their timestamp (or exported frames at no original timestamp). */
  wrong_frames: number;
  /** Cases where the recovered file held fewer correct frames than `framesAt` or `export` read from the damaged one. */
  recover_shortfalls: number;
  /** Cases where recover kept more correct frames than any reader path read. */
  recover_gains: number;
  /** The first 50 failures, to replay. */
  failures: FuzzFailure[];
}

const T0 = 1_700_000_000_000_000_000n;
const FORMAT: PixelFormat = 'yuv420p';
const STREAM = 'camera';
const quiet = { warn: () => {} };
const LISTED_FAILURES = 50;

function frameHash(frame: Frame): string {
  const h = createHash('sha1').update(`${frame.width}x${frame.height}:${frame.format}`);
  for (const p of frame.planes) h.update(p.data);
  return h.digest('hex');
}

/** What a clean decode of the original shows, and memos of outputs already checked. */
interface Truth {
  /** Frame hash by timestamp. */
  readonly frames: ReadonlyMap<bigint, string>;
  readonly times: readonly bigint[];
  /** Checked output files (exported MP4s, recovered recordings) by content hash: correct and wrong frames. */
  readonly checked: Map<string, Counted>;
}

interface Counted {
  good: number;
  wrong: number;
}

async function makeRecording(path: string, frames: number): Promise<void> {
  const recording = await Recording.create(path, { maxChunkBytes: 2 * 1024, flushInterval: 3600 });
  const stream = recording.addStream(STREAM, { encoder: { gop: 8 } });
  for await (const frame of new SyntheticSource({ width: 160, height: 120, frames, startTimestamp: T0 })) await stream.writeFrame(frame);
  await recording.close();
}

async function cleanTruth(path: string): Promise<Truth> {
  const frames = new Map<bigint, string>();
  const reader = await RecordingReader.open(path);
  try {
    for await (const f of reader.frames(STREAM, { format: FORMAT })) frames.set(f.timestamp, frameHash(f));
  } finally {
    await reader.close();
  }
  return { frames, times: [...frames.keys()], checked: new Map() };
}

function count(truth: Truth, frames: readonly Frame[], at: (f: Frame) => bigint | undefined): Counted {
  const result = { good: 0, wrong: 0 };
  for (const f of frames) {
    const t = at(f);
    if (t !== undefined && truth.frames.get(t) === frameHash(f)) result.good++;
    else result.wrong++;
  }
  return result;
}

/** Asks for every original frame by exact timestamp: all at once, and one by one when that fails. */
async function readFramesAt(path: string, truth: Truth): Promise<Counted> {
  const reader = await RecordingReader.open(path, quiet);
  try {
    if (!reader.streamNames.includes(STREAM)) return { good: 0, wrong: 0 };
    const exact = (t: bigint) => (f: Frame) => (f.timestamp === t ? t : undefined);
    try {
      const frames = await reader.framesAt(STREAM, truth.times, { tolerance: 0n, format: FORMAT });
      const result = { good: 0, wrong: 0 };
      frames.forEach((f, i) => {
        const c = count(truth, [f], exact(truth.times[i]));
        result.good += c.good;
        result.wrong += c.wrong;
      });
      return result;
    } catch (error) {
      if (!(error instanceof FramebusError)) throw error;
    }
    const result = { good: 0, wrong: 0 };
    for (const t of truth.times) {
      try {
        const [f] = await reader.framesAt(STREAM, [t], { tolerance: 0n, format: FORMAT });
        const c = count(truth, [f], exact(t));
        result.good += c.good;
        result.wrong += c.wrong;
      } catch (error) {
        if (!(error instanceof FramebusError)) throw error;
      }
    }
    return result;
  } finally {
    await reader.close();
  }
}

async function contentHash(path: string): Promise<string> {
  return createHash('sha1').update(await readFile(path)).digest('hex');
}

/** Exports the whole stream and decodes the MP4: each frame must be an original one at its time. */
async function readExport(path: string, out: string, truth: Truth): Promise<Counted> {
  const summary = await exportClip(path, out, quiet);
  const key = await contentHash(out);
  const memo = truth.checked.get(key);
  if (memo) return memo;
  const frames: Frame[] = [];
  const source = await FileSource.open(out, { format: FORMAT, startTimestamp: summary.start });
  for await (const f of source) frames.push(f);
  // MP4 times are 90 kHz ticks: an original frame is the one within a millisecond.
  const nearest = (f: Frame) => truth.times.find((t) => (t > f.timestamp ? t - f.timestamp : f.timestamp - t) < 1_000_000n);
  const result = count(truth, frames, nearest);
  truth.checked.set(key, result);
  return result;
}

/** Recovers to a new file and decodes it from the start: what a user has after `recover`. */
async function readRecovered(path: string, out: string, truth: Truth): Promise<Counted> {
  await recover(path, { output: out });
  const key = await contentHash(out);
  const memo = truth.checked.get(key);
  if (memo) return memo;
  const frames: Frame[] = [];
  const reader = await RecordingReader.open(out, quiet);
  try {
    if (reader.streamNames.includes(STREAM)) {
      try {
        for await (const f of reader.frames(STREAM, { format: FORMAT })) frames.push(f);
      } catch (error) {
        if (!(error instanceof FramebusError)) throw error;
      }
    }
  } finally {
    await reader.close();
  }
  const result = count(truth, frames, (f) => f.timestamp);
  truth.checked.set(key, result);
  return result;
}

interface CaseReport {
  failures: Omit<FuzzFailure, 'case' | 'mutations'>[];
  wrongFrames: number;
  gain: boolean;
}

async function runCase(dir: string, n: number, bytes: Buffer, truth: Truth): Promise<CaseReport> {
  const path = join(dir, `case-${n}.mcap`);
  const mp4 = join(dir, `case-${n}.mp4`);
  const recovered = join(dir, `case-${n}-recovered.mcap`);
  await writeFile(path, bytes);
  const failures: CaseReport['failures'] = [];
  const attempt = async <T>(step: FuzzStep, task: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await task();
    } catch (error) {
      if (!(error instanceof FramebusError)) failures.push({ kind: 'crash', step, detail: (error as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(error) });
      return undefined;
    }
  };
  try {
    await attempt('info', () => recordingInfo(path, quiet));
    const read = await attempt('framesAt', () => readFramesAt(path, truth));
    const exported = await attempt('export', () => readExport(path, mp4, truth));
    const kept = await attempt('recover', () => readRecovered(path, recovered, truth));
    let wrongFrames = 0;
    for (const [step, c] of [['framesAt', read], ['export', exported], ['recover', kept]] as const) {
      if (!c || c.wrong === 0) continue;
      wrongFrames += c.wrong;
      failures.push({ kind: 'wrong-frame', step, detail: `${c.wrong} wrong frames (${c.good} right)` });
    }
    const best = Math.max(read?.good ?? 0, exported?.good ?? 0);
    if ((kept?.good ?? 0) < best) failures.push({ kind: 'recover-shortfall', step: 'recover', detail: `recover kept ${kept?.good ?? 0} frames; framesAt read ${read?.good ?? 0}, export ${exported?.good ?? 0}` });
    return { failures, wrongFrames, gain: (kept?.good ?? 0) > best };
  } finally {
    await Promise.all([path, mp4, recovered].map((p) => rm(p, { force: true })));
  }
}

/**
 * The mutation campaign: a small H.264 recording in several chunks is damaged in seeded ways
 * (bit flips, truncations, zeroed ranges, swapped and reversed chunks, altered chunk and
 * stream index fields, with and without a re-sealed summary CRC), and each result goes
 * through `info`, `framesAt` (every original timestamp, tolerance 0), `export` (the MP4
 * decoded again) and `recover` (the recovered file decoded again). Counts crashes (anything
 * but a typed FramebusError), hangs, frames that differ from a clean decode of the original,
 * and recovered files that hold fewer correct frames than a reader path read.
 */
export async function runFuzzBench(options: FuzzOptions = {}): Promise<FuzzResult> {
  const cases = options.cases ?? 10_000;
  const seed = options.seed ?? 15;
  const timeout = options.caseTimeoutMs ?? 30_000;
  const dir = await mkdtemp(join(tmpdir(), 'framebus-fuzz-'));
  try {
    const original = join(dir, 'original.mcap');
    await makeRecording(original, options.frames ?? 24);
    const bytes = await readFile(original);
    const layout: RecordingLayout = recordingLayout(bytes);
    const truth = await cleanTruth(original);
    const result: FuzzResult = {
      seed,
      cases,
      frames: truth.times.length,
      chunks: layout.chunkBlocks.length,
      crashes: 0,
      hangs: 0,
      wrong_frames: 0,
      recover_shortfalls: 0,
      recover_gains: 0,
      failures: [],
    };
    const samples: Mutation[][] = fc.sample(mutationsArbitrary, { seed, numRuns: cases });
    for (const [n, mutations] of samples.entries()) {
      let timer: NodeJS.Timeout | undefined;
      const hang = new Promise<CaseReport>((resolve) => {
        timer = setTimeout(() => resolve({ failures: [{ kind: 'hang', step: undefined, detail: `still running after ${timeout} ms` }], wrongFrames: 0, gain: false }), timeout);
      });
      const work = runCase(dir, n, mutateRecordingAll(bytes, layout, mutations), truth);
      // A hung case that fails after it was counted must not end the campaign.
      work.catch(() => undefined);
      const report = await Promise.race([work, hang]).finally(() => clearTimeout(timer));
      if (report.gain) result.recover_gains++;
      result.wrong_frames += report.wrongFrames;
      for (const f of report.failures) {
        if (f.kind === 'crash') result.crashes++;
        else if (f.kind === 'hang') result.hangs++;
        else if (f.kind === 'recover-shortfall') result.recover_shortfalls++;
        if (result.failures.length < LISTED_FAILURES) result.failures.push({ ...f, case: n, mutations: mutations.map(describeMutation) });
      }
      options.onProgress?.(n + 1, cases);
    }
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
