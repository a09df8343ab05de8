import type { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerBusCommands } from './bus.js';
import { registerConcat } from './concat.js';
import { registerDemo } from './demo.js';
import { registerEncode } from './encode.js';
import { registerLcmCommands } from './lcm.js';
import { registerProbe } from './probe.js';
import { registerRecording } from './recording.js';
import { registerServe } from './serve.js';
import { registerStream } from './stream.js';

/** Adds every framebus subcommand to `program`; one module per command family. */
export function registerCommands(program: Command): void {
  registerEncode(program);
  registerProbe(program);
  registerConcat(program);
  registerRecording(program);
  registerBusCommands(program);
  registerLcmCommands(program);
  registerDemo(program);
  registerServe(program);
  registerStream(program);
  registerBench(program);
}
