import type { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerDemo } from './demo.js';
import { registerEncode } from './encode.js';
import { registerProbe } from './probe.js';
import { registerRecording } from './recording.js';
import { runSeekBench } from '../../bench/seek-bench.js';
import { registerServe } from './serve.js';
import { runViewerBench } from '../../bench/viewer-bench.js';

/** Adds every framebus subcommand to `program`; one module per command. */
export function registerCommands(program: Command): void {
  registerEncode(program);
  registerProbe(program);
  registerRecording(program);
  registerDemo(program);
  registerServe(program);
  registerBench(program, {
    seek: { description: 'Random frameAt latency (cold and cached) vs PyAV seek-and-decode on the same packets', run: () => runSeekBench() },
    viewer: { description: 'Glass-to-glass latency: publish → drawn in headless Chromium, 640x480 30 fps on loopback', run: () => runViewerBench() },
  });
}
