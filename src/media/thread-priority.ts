import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers the calling thread's scheduling priority to `nice` (0–19; Linux: nice is per thread,
 * and threads started later, such as an encoder's, inherit it), so when the CPU is short the
 * producer's thread runs first and the worker falls behind instead. Does nothing where there
 * is no /proc/thread-self (not Linux) or it is not permitted.
 */
export function lowerThreadPriority(nice: number): void {
  if (nice === 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid)) setPriority(tid, nice);
  } catch {
    // Not Linux or not permitted: the thread runs at normal priority.
  }
}
