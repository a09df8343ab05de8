import type { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerEncode } from './encode.js';
import { registerProbe } from './probe.js';

/** Adds every framebus subcommand to `program`; one module per command. */
export function registerCommands(program: Command): void {
  registerEncode(program);
  registerProbe(program);
  registerBench(program);
}
