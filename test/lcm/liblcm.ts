/**
 * Builds and runs the liblcm reference program (test/lcm/interop.c) for framebus's LCM
 * tests. The build goes to a cache directory keyed by the sources, so test files running
 * in parallel processes share one build.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MissingDependencyError } from '../../src/core/errors.js';
import type { VideoPacketMessage } from '../../src/wire/messages.js';

const run = promisify(execFile);

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '../..');
const LCM_DIR = path.join(REPO, 'lcm');

/** The repo's `lcm/*.lcm` files plus the test-only types the interop program includes. */
export async function lcmSources(): Promise<string[]> {
  const own = (await readdir(LCM_DIR)).filter((f) => f.endsWith('.lcm')).sort();
  return [...own.map((f) => path.join(LCM_DIR, f)), path.join(HERE, 'codec_test_types.lcm')];
}

async function need(program: string): Promise<void> {
  try {
    await run('sh', ['-c', `command -v ${program}`]);
  } catch (cause) {
    throw new MissingDependencyError(
      `${program} is missing; install liblcm-dev liblcm-bin gcc (as root, npm test installs them with scripts/prepare-system.sh).`,
      { cause },
    );
  }
}

let built: Promise<string> | undefined;

/** Path of the compiled interop program, building it on first use. */
export function interopBinary(): Promise<string> {
  built ??= (async () => buildLcmProgram(await lcmSources(), path.join(HERE, 'interop.c')))();
  return built;
}

/**
 * Builds a C program against lcm-gen's C output for `lcmFiles` and liblcm, into a cache
 * directory keyed by the sources (test files in parallel processes share one build).
 * Returns the binary's path.
 */
export async function buildLcmProgram(lcmFiles: readonly string[], cFile: string): Promise<string> {
  await need('lcm-gen');
  await need('gcc');
  const sources = [...lcmFiles, cFile];
  const hash = createHash('sha256');
  for (const s of sources) hash.update(s).update(await readFile(s));
  const name = path.basename(cFile, '.c');
  const dir = path.join(os.tmpdir(), `framebus-lcm-${name}-${hash.digest('hex').slice(0, 16)}`);
  const binary = path.join(dir, name);
  if (existsSync(binary)) return binary;
  await mkdir(path.dirname(dir), { recursive: true });
  const work = await mkdtemp(`${dir}.tmp-`);
  try {
    await run('lcm-gen', ['-c', '--c-cpath', work, '--c-hpath', work, ...lcmFiles]);
    const generated = (await readdir(work)).filter((f) => f.endsWith('.c')).map((f) => path.join(work, f));
    await run('gcc', ['-O2', '-std=gnu11', '-I', work, '-o', path.join(work, name), cFile, ...generated, '-llcm', '-lm']);
    try {
      await rename(work, dir);
    } catch {
      // Another test process finished the same build first; its result is identical.
      await rm(work, { recursive: true, force: true });
    }
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
  return binary;
}

/** Runs the interop program to completion and returns its stdout. */
export async function runInterop(args: string[], input?: string): Promise<string> {
  const binary = await interopBinary();
  if (input === undefined) return (await run(binary, args, { maxBuffer: 256 << 20 })).stdout;
  return new Promise((resolve, reject) => {
    const child = execFile(binary, args, { maxBuffer: 256 << 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    child.stdin!.end(input);
  });
}

/** A running interop program whose stdout lines can be awaited one by one. */
export interface InteropProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every line printed so far. */
  readonly lines: string[];
  /** Resolves with the first line (already printed or to come) that satisfies `match`. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** Resolves when the program exits, with its exit code. */
  readonly exited: Promise<number | null>;
}

/** Starts the interop program (or another built with {@link buildLcmProgram}) with `args` (e.g. `subscribe …`). */
export async function startInterop(args: string[], binary?: string): Promise<InteropProcess> {
  const child = spawn(binary ?? (await interopBinary()), args);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters) w();
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitForLine(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const line = lines.find(match);
          if (line === undefined) return;
          cleanup();
          resolve(line);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`interop ${args[0]}: no expected line after ${timeoutMs} ms; got ${JSON.stringify(lines.slice(-5))}; stderr ${stderr}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        void exited.then(() => setTimeout(check, 0));
        check();
      });
    },
  };
}

/** Byte `j` of the data of test message `message`, as interop.c computes it. */
export function patternByte(message: number, j: number): number {
  return (j * 131 + message * 7 + (j >> 8)) & 0xff;
}

/** The data of test message `message`: `size` bytes of {@link patternByte}. */
export function patternData(message: number, size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let j = 0; j < size; j++) data[j] = patternByte(message, j);
  return data;
}

/** The video packet interop.c publishes as message `i` with `size` bytes of data (and expects framebus to send). */
export function interopPacket(i: number, size: number): VideoPacketMessage {
  return {
    codec: 'h264',
    key: i % 2 === 0,
    sequence: BigInt(i),
    timestamp_ns: 1_700_000_000_000_000_000n + BigInt(i),
    frame_id: 1000n + BigInt(i),
    width: 1920,
    height: 1080,
    data: patternData(i, size),
  };
}

/** A UDP port for one test, away from LCM's default 7667 and from other tests' ports. */
export function randomLcmPort(): number {
  return 20000 + Math.floor(Math.random() * 30000);
}
