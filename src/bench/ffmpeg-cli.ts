import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MissingDependencyError } from '../core/errors.js';

const run = promisify(execFile);

/**
 * Runs the system `ffmpeg` with `-benchmark` and returns its own measured real time in
 * seconds (the transcode loop, excluding process start-up), so it compares fairly with an
 * in-process measurement.
 * @throws MissingDependencyError when no ffmpeg is on PATH (Debian package `ffmpeg`).
 */
export async function timeFfmpeg(args: string[]): Promise<number> {
  return (await benchmarkFfmpeg(args)).rtime;
}

/**
 * As `timeFfmpeg`, with the CPU time ffmpeg spent in user mode (`utime`, seconds): on a shared
 * machine the CPU time compares work done where wall time mostly measures the neighbours.
 */
export async function benchmarkFfmpeg(args: string[]): Promise<{ rtime: number; utime: number }> {
  let stderr: string;
  try {
    ({ stderr } = await run('ffmpeg', ['-hide_banner', '-nostdin', '-benchmark', ...args], { maxBuffer: 16 * 1024 * 1024 }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MissingDependencyError('The ffmpeg CLI is the reference for this benchmark; install it: apt-get install ffmpeg');
    }
    throw error;
  }
  const m = /utime=([\d.]+)s.*rtime=([\d.]+)s/.exec(stderr);
  if (!m) throw new MissingDependencyError(`ffmpeg -benchmark printed no rtime: ${stderr.slice(-300)}`);
  return { utime: Number(m[1]), rtime: Number(m[2]) };
}
