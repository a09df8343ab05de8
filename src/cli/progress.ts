import cliProgress from 'cli-progress';

/** A progress display for a long job; silent when stderr is not a terminal or `quiet` is set. */
export interface Progress {
  /** Sets the amount done, in the job's units. */
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

/**
 * A progress bar on stderr for a job of `total` units (frames, bytes); without a total it shows
 * a running count line instead.
 */
export function startProgress(label: string, total?: number, options: { quiet?: boolean } = {}): Progress {
  if (options.quiet || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format:
        total === undefined
          ? `${label} {value} {info}`
          : `${label} [{bar}] {percentage}% {value}/{total} {info} eta {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total ?? 0, 0, { info: '' });
  return {
    update(done, fields) {
      bar.update(done, { info: fields ? Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' ') : '' });
    },
    stop() {
      bar.stop();
    },
  };
}
