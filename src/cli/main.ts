import { Command, CommanderError } from 'commander';
import { FramebusError } from '../core/errors.js';
import { registerCommands } from './commands/index.js';

/** Builds the `framebus` command-line program. */
export function buildProgram(): Command {
  const program = new Command('framebus')
    .description('Encode camera and generated video once; publish, record, seek, export and view the same packets.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  return program;
}

/**
 * Runs the CLI with `argv` (as `process.argv`). Prints typed errors as one line and sets a
 * non-zero exit code instead of a stack trace.
 */
export async function run(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof FramebusError) {
      process.stderr.write(`framebus: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}
