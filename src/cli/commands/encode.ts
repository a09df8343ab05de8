import type { Command } from 'commander';
import { encodeToMp4 } from '../../media/encode-to-mp4.js';
import { defaultFrameCap, openSource } from '../../source/open-source.js';
import { crf, fps, gop, positiveInt, size } from '../options.js';
import { startProgress } from '../progress.js';
import { nsToSeconds } from '../../core/time.js';

/** `framebus encode <source> --out file.mp4`: encode once, mux without re-encoding. */
export function registerEncode(program: Command): void {
  program
    .command('encode')
    .description('Encode a source (file, PNG folder, camera:/dev/videoN, synthetic) into an MP4')
    .argument('<source>', 'video file, folder of frame-NNNNNN.png, camera:/dev/video0, or synthetic[:WxH@FPS]')
    .requiredOption('--out <file.mp4>', 'output MP4 file')
    .option('--codec <codec>', 'h264, h265, av1 or auto (hardware when one opens)', 'h264')
    .option('--fps <n>', 'output frame rate (resamples files)', fps)
    .option('--gop <n>', 'frames between keyframes', gop, 30)
    .option('--crf <n>', 'constant rate factor (quality; lower is better)', crf)
    .option('--bitrate <bps>', 'target bitrate in bits/s instead of crf', positiveInt)
    .option('--preset <name>', 'encoder speed preset')
    .option('--size <WxH>', 'output size, e.g. 640x480', size)
    .option('--frames <n>', 'stop after N frames', positiveInt)
    .option('--fragmented', 'write fragmented MP4 (fMP4)')
    .option('--json', 'print the summary as JSON')
    .action(async (spec: string, o) => {
      const source = await openSource(spec, { ...o.size, fps: o.fps, frames: o.frames ?? defaultFrameCap(spec) });
      const progress = startProgress('encode', source.info.frameCount);
      try {
        const summary = await encodeToMp4(
          source,
          o.out,
          { codec: o.codec, gop: o.gop, crf: o.crf, bitrate: o.bitrate, preset: o.preset, fps: o.fps, fragmented: o.fragmented },
          (done) => progress.update(done),
        );
        progress.stop();
        const line = { out: o.out, encoder: summary.encoder, frames: summary.packets, keyframes: summary.keyframes, bytes: summary.videoBytes, seconds: nsToSeconds(summary.durationNs) };
        process.stdout.write(o.json ? `${JSON.stringify(line)}\n` : `${o.out}: ${line.frames} frames (${line.keyframes} key) by ${line.encoder}, ${line.bytes} bytes of video, ${line.seconds.toFixed(3)} s\n`);
      } finally {
        progress.stop();
      }
    });
}
