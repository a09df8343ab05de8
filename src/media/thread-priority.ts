import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers the calling thread's scheduling priority (Linux: per thread, and threads started
 * later, such as an encoder's, inherit it), so when the CPU is short the producer's thread runs
 * first and the worker falls behind instead:
 * - `nice` (0–19) lowers its share of the CPU;
 * - `idle: true` also moves it to `SCHED_IDLE` (through util-linux's `chrt`), so a waking
 *   producer thread takes the CPU from it at once. With `nice` alone, Linux's EEVDF scheduler
 *   (6.6 and later) lets a running encoder thread finish its time slice first: the producer's
 *   event loop was held 2.5–4 ms about 20 times a second beside a 640x480 x264 encoder here,
 *   and under 10 times in 10 s with `SCHED_IDLE`. An idle thread gets no CPU while normal
 *   threads want all of it, so use it only where the worker's backlog holds back its producer.
 * Does nothing where there is no /proc/thread-self (not Linux), `chrt` is missing, or it is
 * not permitted.
 */
export function lowerThreadPriority(nice: number, options: { idle?: boolean } = {}): void {
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return; // Not Linux: the thread runs at normal priority.
  }
  if (!Number.isInteger(tid)) return;
  try {
    if (nice !== 0) setPriority(tid, nice);
    if (options.idle) execFileSync('chrt', ['--idle', '--pid', '0', String(tid)], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // Not permitted, or no chrt: the priority stays as far as it got.
  }
}
