import type { Command } from 'commander';

/** Adds every framebus subcommand to `program`; one module per command. */
export function registerCommands(program: Command): void {
  void program;
}
