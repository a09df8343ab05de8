import type { Command } from 'commander';
import { numberIn, positiveInt, printJson, wholeNumber } from '../options.js';
import { startProgress } from '../progress.js';
import { InvalidArgumentError } from '../../core/errors.js';

/** Prints a bench result: JSON with --json, else one `key: value` line per figure. */
function report(result: unknown, json: boolean): void {
  if (json) return printJson(result);
  const lines: string[] = [];
  const walk = (value: unknown, prefix: string) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${prefix}[${i}]`));
    } else {
      lines.push(`${prefix}: ${String(value)}`);
    }
  };
  walk(result, '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** A DataChannel payload size for `bench webrtc --sizes`, bytes. */
const payloadBytes = numberIn(1, 64 * 2 ** 20, { integer: true, unit: 'bytes' });

/** Benchmarks without options of their own; each module loads only when its bench runs. */
const PLAIN_BENCHES: Record<string, { description: string; run: () => Promise<unknown> }> = {
  bus: {
    description: 'memory, LCM and NATS: msgs/s, MB/s, loss, p50/p99 latency (64 B–4 MiB), late_join_ms, 30 fps stream loss; LCM vs liblcm C',
    run: async () => {
      const bus = await (await import('../../bench/bus-bench.js')).runBusBench();
      const lcm = await (await import('../../bench/lcm-bench.js')).runLcmBench();
      const natsCluster = await (await import('../../bench/nats-cluster-bench.js')).runNatsClusterBench();
      return { ...bus, lcm_vs_liblcm: lcm.lcm_vs_liblcm, lcm, nats_cluster: natsCluster };
    },
  },
  seek: {
    description: 'Random frameAt latency (cold and cached) vs PyAV seek-and-decode on the same packets',
    run: async () => (await import('../../bench/seek-bench.js')).runSeekBench(),
  },
  soak: {
    description: 'The demo for 10 minutes with a viewer attached: RSS growth after warm-up (goal < 10%)',
    run: async () => (await import('../../bench/soak-bench.js')).runSoakBench(),
  },
  fmp4: {
    description: 'Live fMP4 of generated 640x480 segments with audio: handoff, first fragment, encode speed, producer stall, latency to Chromium via MSE; vs an ffmpeg pipe per segment',
    run: async () => (await import('../../bench/fmp4-bench.js')).runFmp4Bench(),
  },
  viewer: {
    description: 'Glass-to-glass latency: publish → drawn in headless Chromium, 640x480 30 fps on loopback',
    run: async () => (await import('../../bench/viewer-bench.js')).runViewerBench(),
  },
};

/**
 * `framebus bench <kind>`, every kind registered here: side-by-side benchmarks against
 * reference tools; `--json` for machines. Bench code (and the browser driver) loads only when
 * a bench runs, so other commands start without it.
 */
export function registerBench(program: Command): void {
  const bench = program.command('bench').description('Benchmarks that compare framebus with reference tools in one run');
  bench
    .command('codec')
    .description('Encode/decode throughput vs the ffmpeg CLI with the same libx264 settings, at 320x240 and 640x480')
    .option('--frames <n>', 'frames per run', positiveInt, 300)
    .option('--repetitions <n>', 'alternating runs per tool (median is reported)', positiveInt, 3)
    .option('--json', 'print JSON')
    .action(async (o) => report(await (await import('../../bench/codec-bench.js')).runCodecBench({ frames: o.frames, repetitions: o.repetitions }), o.json));
  bench
    .command('storage')
    .description('Bytes and PSNR of JPEG q75/q90 vs H.264 on vtest.avi at 320x240, first 150 frames')
    .option('--input <video>', 'video to use instead of vtest.avi')
    .option('--frames <n>', 'frames', positiveInt, 150)
    .option('--json', 'print JSON')
    .action(async (o) => report(await (await import('../../bench/storage-bench.js')).runStorageBench({ input: o.input, frames: o.frames }), o.json));
  bench
    .command('fuzz')
    .description('Mutation campaign: damaged recordings through info, framesAt, export and recover; counts crashes, hangs, wrong frames, recover shortfalls')
    .option('--cases <n>', 'mutated recordings', positiveInt, 10_000)
    .option('--seed <n>', 'fast-check seed (the same seed gives the same cases)', wholeNumber, 15)
    .option('--json', 'print JSON')
    .action(async (o) => {
      const progress = startProgress('fuzz', o.cases);
      const { runFuzzBench } = await import('../../bench/fuzz-bench.js');
      const result = await runFuzzBench({ cases: o.cases, seed: o.seed, onProgress: (done) => progress.update(done) });
      progress.stop();
      report(result, o.json);
    });
  bench
    .command('dataset')
    .description('decodeVideoFrames vs PyAV (LeRobot pyav backend): 1 and 6 random timestamps, cold; sequential decode vs ffmpeg -threads 1; cameras_realtime: 3 cameras 640x480 30 fps fed in real time into StreamingVideoEncoder')
    .option('--only <part>', 'run one part: decode or cameras')
    .option('--duration <s>', 'cameras_realtime: seconds of real time', positiveInt, 60)
    .option('--preset <name>', 'cameras_realtime: encoder preset instead of the default, to compare')
    .option('--nice <n>', 'cameras_realtime: nice value of the encoder threads instead of the default 10, to compare', wholeNumber)
    .option('--json', 'print JSON')
    .action(async (o) => {
      if (o.only !== undefined && o.only !== 'decode' && o.only !== 'cameras') throw new InvalidArgumentError(`--only takes decode or cameras, not ${JSON.stringify(o.only)}.`);
      const decode = o.only === 'cameras' ? {} : await (await import('../../bench/dataset-bench.js')).runDatasetBench();
      const cameras = o.only === 'decode'
        ? {}
        : { cameras_realtime: await (await import('../../bench/dataset-cameras-bench.js')).runCamerasRealtimeBench({ duration: o.duration, preset: o.preset, encoderNice: o.nice }) };
      report({ ...decode, ...cameras }, o.json);
    });
  bench
    .command('webrtc')
    .description('DataChannels on loopback, node-datachannel vs werift: msgs/s, MB/s, loss, p50/p99 latency (64 B–16 MiB), dc_msgs_per_s_256, dc_mbit_per_s_64k, dc_max_message_bytes; WHEP glass-to-glass in headless Chromium (vs the WebSocket viewer) and first frame mid-GOP')
    .option('--only <part>', 'run one part: datachannel or whep')
    .option('--sizes <bytes,...>', 'DataChannel payload sizes, bytes, comma-separated (default 64 B to 16 MiB)', (v: string) => v.split(',').map((n) => payloadBytes(n.trim())))
    .option('--json', 'print JSON')
    .action(async (o) => {
      if (o.only !== undefined && o.only !== 'datachannel' && o.only !== 'whep') throw new InvalidArgumentError(`--only takes datachannel or whep, not ${JSON.stringify(o.only)}.`);
      const dataChannels = o.only === 'whep' ? {} : await (await import('../../bench/webrtc-bench.js')).runWebRtcBench({ sizes: o.sizes });
      const whep = o.only === 'datachannel' ? {} : await (await import('../../bench/whep-bench.js')).runWhepBench();
      report({ ...dataChannels, ...whep }, o.json);
    });
  for (const [name, b] of Object.entries(PLAIN_BENCHES)) {
    bench
      .command(name)
      .description(b.description)
      .option('--json', 'print JSON')
      .action(async (o) => report(await b.run(), o.json));
  }
}
