import type { Command } from 'commander';
import { probeVideo } from '../../media/probe.js';
import { printJson } from '../options.js';

/** `framebus probe <video>`: what is in a media file, counted exactly. */
export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description('Report codec, size, fps, frame and keyframe counts, duration, B-frames and audio of a video')
    .argument('<video>', 'media file')
    .option('--json', 'print JSON')
    .action(async (path: string, o) => {
      const r = await probeVideo(path);
      if (o.json) return printJson(r);
      const v = r.video;
      process.stdout.write(
        `${r.path} (${r.container})\n` +
          `  video: ${v.codec} ${v.width}x${v.height} ${v.pixelFormat ?? ''} @ ${v.fps.toFixed(3)} fps, ${v.frames} frames, ${v.keyframes} keyframes, ${v.duration.toFixed(3)} s, B-frames: ${v.bFrames ? 'yes' : 'no'}\n` +
          `  audio: ${r.audio ? `${r.audio.codec} ${r.audio.sampleRate} Hz, ${r.audio.channels} ch` : 'none'}\n`,
      );
    });
}
