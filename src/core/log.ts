/** Receives one human-readable line (no trailing newline): warnings and notes for a person. */
export type LogSink = (message: string) => void;

/** The default sink: `framebus: <message>` on stderr. */
export const logToStderr: LogSink = (message) => {
  process.stderr.write(`framebus: ${message}\n`);
};
