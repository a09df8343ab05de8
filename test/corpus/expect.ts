import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { RecordingReader } from '../../src/store/recording-reader.js';
import type { PyavView, Rgb } from './reference.js';

/** One frame interval of a file: the longest gap between its frames (VFR), at least 1 / fps. */
export function frameInterval(av: PyavView): number {
  let gap = 1 / av.fps;
  for (let i = 1; i < av.times.length; i++) gap = Math.max(gap, av.times[i] - av.times[i - 1]);
  return gap;
}

/**
 * An input that cannot work: a one-line error naming the file and saying why, exit code 2,
 * and none of `outputs` left behind (a folder counts when it holds anything).
 */
export function assertRefused(r: { code: number | null; stderr: string }, input: string, why: RegExp, outputs: string[] = []): void {
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^framebus: /);
  assert.ok(lines[0].includes(basename(input)), `names the file: ${lines[0]}`);
  assert.match(lines[0], why);
  for (const out of outputs) {
    const left = existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0);
    assert.ok(!left, `no partial output: ${out} exists`);
  }
}

/** A warning on stderr that names the file and how many frames were lost. */
export function assertLossWarned(stderr: string, input: string): void {
  const name = basename(input).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(stderr, new RegExp(`${name}.*\\d+.*frame.*(lost|missing|dropped|skipped|undecodable|could not be decoded)|${name}.*(lost|missing|dropped|skipped).*\\d+.*frame`, 'i'), `a warning naming ${basename(input)} and the frames lost; stderr:\n${stderr}`);
}

/** What a recording holds for its only stream, read with the library's RecordingReader. */
export interface RecordingView {
  codec: string;
  width: number;
  height: number;
  /** Each frame's time, seconds from the first frame, in stored order. */
  times: number[];
  /** Positions of key packets. */
  keys: number[];
  /** Stored timestamps, ns, for asking `frames --at`. */
  stamps: bigint[];
}

export async function readRecording(path: string): Promise<RecordingView> {
  const reader = await RecordingReader.open(path, { warn: () => {} });
  try {
    assert.equal(reader.streamNames.length, 1, `one stream in ${path}`);
    const info = await reader.stream(reader.streamNames[0]);
    const stamps: bigint[] = [];
    const keys: number[] = [];
    for await (const item of reader.packets(info.name)) {
      if (item.kind !== 'video-packet' || item.key) keys.push(stamps.length);
      stamps.push(item.timestamp);
    }
    return { codec: info.codec, width: info.width, height: info.height, stamps, keys, times: stamps.map((t) => Number(t - stamps[0]) / 1e9) };
  } finally {
    await reader.close();
  }
}

/** Asserts every timestamp rises strictly over the one before it. */
export function assertRising(stamps: readonly bigint[], what: string): void {
  const back = stamps.findIndex((t, i) => i > 0 && t <= stamps[i - 1]);
  assert.equal(back, -1, `${what}: timestamps must rise; frame ${back} at ${stamps[back]} ns follows ${stamps[back - 1]} ns`);
}

/** The `frames` command's lines: file written and the frame's own time. */
export function framesWritten(stdout: string): { file: string; actual: number }[] {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^(.*\.png) {2}\(asked .* s, frame at (-?[\d.]+) s\)$/.exec(line);
      assert.ok(m, `unexpected frames output line: ${line}`);
      return { file: m[1], actual: Number(m[2]) };
    });
}

/** The output position whose presentation time is nearest to `t` seconds. */
export function positionAt(times: readonly number[], t: number): number {
  let best = 0;
  for (let i = 1; i < times.length; i++) if (Math.abs(times[i] - t) < Math.abs(times[best] - t)) best = i;
  return best;
}

/** A picture turned a quarter clockwise (`cw`) or counter-clockwise. */
export function quarterTurn(p: Rgb, cw: boolean): Rgb {
  const { width, height } = p;
  const out = Buffer.alloc(p.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [nx, ny] = cw ? [height - 1 - y, x] : [y, width - 1 - x];
      for (let c = 0; c < 3; c++) out[(ny * height + nx) * 3 + c] = p.data[(y * width + x) * 3 + c];
    }
  }
  return { data: out, width: height, height: width };
}
