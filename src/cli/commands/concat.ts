import type { Command } from 'commander';
import { concatVideos } from '../../media/concat-videos.js';
import { printJson } from '../options.js';

/** `framebus concat a.mp4 b.mp4 … --out all.mp4`: join episodes without re-encoding. */
export function registerConcat(program: Command): void {
  program
    .command('concat')
    .description("Join videos of the same encoding into one MP4 without re-encoding; prints each input's from/to seconds in the output")
    .argument('<videos...>', 'inputs, in order')
    .requiredOption('--out <all.mp4>', 'output file (replaced when it exists)')
    .option('--json', 'print JSON')
    .action(async (inputs: string[], o) => {
      const s = await concatVideos(inputs, o.out);
      if (o.json) return printJson(s);
      process.stdout.write(`${s.output}: ${s.frames} frames, ${s.duration.toFixed(3)} s\n`);
      for (const g of s.segments) process.stdout.write(`  ${g.input}: ${g.from.toFixed(6)}–${g.to.toFixed(6)} s, ${g.frames} frames\n`);
    });
}
