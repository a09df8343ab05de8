/** Resolves on the first SIGINT or SIGTERM (Ctrl-C), or when `done` settles. */
export function untilInterrupted(done?: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    done?.then(stop, stop);
  });
}

/** An AbortSignal that fires on Ctrl-C (SIGINT or SIGTERM), so long jobs finish their files cleanly. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  void untilInterrupted().then(() => controller.abort());
  return controller.signal;
}
