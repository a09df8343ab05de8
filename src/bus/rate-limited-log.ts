import { logToStderr, type LogSink } from '../core/log.js';

const MAX_KEYS = 1024;

/**
 * Logs at most one line per key per interval, so a flood of bad input costs one line every
 * few seconds instead of one per message. Lines held back are counted and the count is
 * appended to the next line of the same key.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  /**
   * @param sink where lines go.
   * @param intervalMs minimum milliseconds between two lines of the same key. Default 10,000.
   */
  constructor(
    private readonly sink: LogSink = logToStderr,
    private readonly intervalMs = 10_000,
  ) {}

  /** Logs `message` unless a line of the same `key` went out less than an interval ago. */
  log(key: string, message: string): void {
    const now = performance.now();
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    // Keys can come from the network (channel names); forget them all rather than grow.
    if (!entry && this.last.size >= MAX_KEYS) this.last.clear();
    this.last.set(key, { at: now, suppressed: 0 });
    this.sink(suppressed > 0 ? `${message} (${suppressed} similar since the last report)` : message);
  }
}
