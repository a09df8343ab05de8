import type { Command } from 'commander';
import type { StreamerCloseResult } from '../../media/segment-types.js';
import type { Fmp4StreamHandle } from '../../server/fmp4-stream-run.js';
import { runGeneratedDemo } from '../../server/generated-demo.js';
import { streamSource } from '../../server/source-stream.js';
import { openInBrowser } from '../open-browser.js';
import { numberIn, port, positiveInt, wholeNumber } from '../options.js';
import { untilInterrupted } from '../until-interrupted.js';

const segmentSeconds = numberIn(0, 60, { above: true, unit: 'seconds' });

async function serveUntilDone(handle: Fmp4StreamHandle, open: boolean): Promise<void> {
  process.stdout.write(`viewer: ${handle.url}\nplayers: ${handle.liveUrl}\nCtrl-C to stop\n`);
  if (open) openInBrowser(handle.url);
  await untilInterrupted(handle.done);
  const result: StreamerCloseResult = await handle.close();
  process.stdout.write(`segments packaged: ${result.completed}${result.cut !== undefined ? `, segment ${result.cut} cut` : ''}${result.dropped ? `, ${result.dropped} dropped` : ''}\n`);
  if (result.cause) {
    process.stderr.write(`stream stopped: ${result.cause.message}\n`);
    process.exitCode = 1;
  }
}

/** What `framebus demo --generated` takes. */
export interface GeneratedDemoFlags {
  host: string;
  port: number;
  segmentSeconds?: number;
  segments?: number;
  delay?: number;
  failSegment?: number;
  open?: boolean;
}

/** `framebus demo --generated`: the generator streamed as live fMP4. */
export async function runGeneratedDemoCommand(o: GeneratedDemoFlags): Promise<void> {
  const handle = await runGeneratedDemo({
    host: o.host,
    port: o.port,
    segmentSeconds: o.segmentSeconds,
    segments: o.segments,
    delayMs: o.delay,
    failSegment: o.failSegment,
  });
  await serveUntilDone(handle, o.open ?? false);
}

/** The `demo --generated` options, added to the demo command. */
export function addGeneratedDemoOptions(command: Command): Command {
  return command
    .option('--generated', 'stream a synthetic generator (segments of video with a tone) as live fMP4 instead')
    .option('--segment-seconds <s>', 'with --generated: seconds per segment', segmentSeconds, 2)
    .option('--segments <n>', 'with --generated: segments to generate (default: until stopped)', positiveInt)
    .option('--delay <ms>', 'with --generated: generation time per segment, ms', wholeNumber, 0)
    .option('--fail-segment <n>', 'with --generated: make segment n (from 0) fail packaging, to see a clean error stop', wholeNumber);
}

/** `framebus stream <source>`: any source encoded once and served as live fMP4. */
export function registerStream(program: Command): void {
  program
    .command('stream')
    .description('Serve a source (synthetic, camera, file, PNG folder) as live fMP4: GET /live/stream.mp4 for players, the viewer in MSE mode')
    .argument('<source>', 'synthetic[:WxH@FPS], camera:/dev/video0, a video file or a PNG folder')
    .option('--host <host>', 'interface; a non-loopback one requires a token', '127.0.0.1')
    .option('--port <n>', 'port (0 picks a free one)', port, 8765)
    .option('--segment-seconds <s>', 'seconds per segment (each starts with a key frame)', segmentSeconds, 2)
    .option('--open', 'open the viewer in a browser')
    .action(async (source: string, o) => {
      await serveUntilDone(await streamSource(source, { host: o.host, port: o.port, segmentSeconds: o.segmentSeconds }), o.open ?? false);
    });
}
