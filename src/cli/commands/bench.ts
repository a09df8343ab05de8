import type { Command } from 'commander';
import { runCodecBench } from '../../bench/codec-bench.js';
import { runFuzzBench } from '../../bench/fuzz-bench.js';
import { runStorageBench } from '../../bench/storage-bench.js';
import { positiveInt, printJson, wholeNumber } from '../options.js';
import { startProgress } from '../progress.js';

type BenchRunner = (o: Record<string, unknown>) => Promise<unknown>;

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

/** `framebus bench <kind>`: side-by-side benchmarks against reference tools; `--json` for machines. */
export function registerBench(program: Command, extra: Record<string, { description: string; run: BenchRunner }> = {}): void {
  const bench = program.command('bench').description('Benchmarks that compare framebus with reference tools in one run');
  bench
    .command('codec')
    .description('Encode/decode throughput vs the ffmpeg CLI with the same libx264 settings, at 320x240 and 640x480')
    .option('--frames <n>', 'frames per run', positiveInt, 300)
    .option('--repetitions <n>', 'alternating runs per tool (median is reported)', positiveInt, 3)
    .option('--json', 'print JSON')
    .action(async (o) => report(await runCodecBench({ frames: o.frames, repetitions: o.repetitions }), o.json));
  bench
    .command('storage')
    .description('Bytes and PSNR of JPEG q75/q90 vs H.264 on vtest.avi at 320x240, first 150 frames')
    .option('--input <video>', 'video to use instead of vtest.avi')
    .option('--frames <n>', 'frames', positiveInt, 150)
    .option('--json', 'print JSON')
    .action(async (o) => report(await runStorageBench({ input: o.input, frames: o.frames }), o.json));
  bench
    .command('fuzz')
    .description('Mutation campaign: damaged recordings through info, framesAt, export and recover; counts crashes, hangs, wrong frames, recover shortfalls')
    .option('--cases <n>', 'mutated recordings', positiveInt, 10_000)
    .option('--seed <n>', 'fast-check seed (the same seed gives the same cases)', wholeNumber, 15)
    .option('--json', 'print JSON')
    .action(async (o) => {
      const progress = startProgress('fuzz', o.cases);
      const result = await runFuzzBench({ cases: o.cases, seed: o.seed, onProgress: (done) => progress.update(done) });
      progress.stop();
      report(result, o.json);
    });
  for (const [name, b] of Object.entries(extra)) {
    bench
      .command(name)
      .description(b.description)
      .option('--json', 'print JSON')
      .action(async (o) => report(await b.run(o), o.json));
  }
}
