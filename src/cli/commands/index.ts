import type { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerBusCommands } from './bus.js';
import { runBusBench } from '../../bench/bus-bench.js';
import { runLcmBench } from '../../bench/lcm-bench.js';
import { registerDemo } from './demo.js';
import { registerEncode } from './encode.js';
import { registerProbe } from './probe.js';
import { registerRecording } from './recording.js';
import { runSeekBench } from '../../bench/seek-bench.js';
import { runSoakBench } from '../../bench/soak-bench.js';
import { registerServe } from './serve.js';
import { runViewerBench } from '../../bench/viewer-bench.js';

/** Adds every framebus subcommand to `program`; one module per command. */
export function registerCommands(program: Command): void {
  registerEncode(program);
  registerProbe(program);
  registerRecording(program);
  registerBusCommands(program);
  registerDemo(program);
  registerServe(program);
  registerBench(program, {
    bus: {
      description: 'memory, LCM and NATS: msgs/s, MB/s, loss, p50/p99 latency (64 B–4 MiB), late_join_ms, 30 fps stream loss; LCM vs liblcm C',
      run: async () => {
        const bus = await runBusBench();
        const lcm = await runLcmBench();
        return { ...bus, lcm_vs_liblcm: lcm.lcm_vs_liblcm, lcm };
      },
    },
    seek: { description: 'Random frameAt latency (cold and cached) vs PyAV seek-and-decode on the same packets', run: () => runSeekBench() },
    soak: { description: 'The demo for 10 minutes with a viewer attached: RSS growth after warm-up (goal < 10%)', run: () => runSoakBench() },
    viewer: { description: 'Glass-to-glass latency: publish → drawn in headless Chromium, 640x480 30 fps on loopback', run: () => runViewerBench() },
  });
}
