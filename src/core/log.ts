/** Receives one human-readable warning line (no trailing newline). */
export type WarningSink = (message: string) => void;

/** The default sink: `framebus: <message>` on stderr. */
export const warnOnStderr: WarningSink = (message) => {
  process.stderr.write(`framebus: ${message}\n`);
};
