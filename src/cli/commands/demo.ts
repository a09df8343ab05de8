import type { Command } from 'commander';
import { runDemo, type DemoSummary } from '../../server/demo.js';
import { openInBrowser } from '../open-browser.js';
import { webrtcLines } from './serve.js';
import { duration, port } from '../options.js';
import { untilInterrupted } from '../until-interrupted.js';
import { addGeneratedDemoOptions, runGeneratedDemoCommand } from './stream.js';

function printSummary(s: DemoSummary): void {
  const mb = (s.bytes / 1e6).toFixed(2);
  process.stdout.write(`published ${s.frames} frames (${s.keyPackets} key), ${mb} MB in ${s.seconds.toFixed(1)} s\n`);
  if (s.recording) {
    for (const st of s.recording.streams) {
      process.stdout.write(
        `recorded ${s.recording.path}: stream ${st.name} ${st.codec} ${st.width}x${st.height}, ${st.frames} frames, ${st.keyframeCount} keyframes, ${st.bytes} bytes of video, file ${s.recording.fileBytes} bytes\n`,
      );
    }
  }
}

/** `framebus demo`: the main job — camera → encode once → bus → recording + live viewer. */
export function registerDemo(program: Command): void {
  const demo = program
    .command('demo')
    .description('Live demo: a source encoded once, published on a bus, recorded to MCAP, shown in the browser viewer')
    .option('--source <source>', 'synthetic[:WxH@FPS], camera:/dev/video0, a video file or a PNG folder', 'synthetic:640x480@30')
    .option('--bus <url>', 'memory:, lcm://239.255.76.67:7667?ttl=0 or nats://127.0.0.1:4222', 'memory:demo')
    .option('--topic <name>', 'video topic', 'camera')
    .option('--out <file.mcap>', 'recording file', 'demo.mcap')
    .option('--no-record', 'do not record')
    .option('--host <host>', 'viewer interface; a non-loopback one requires a token', '127.0.0.1')
    .option('--port <n>', 'viewer port (0 picks a free one)', port, 8765)
    .option('--duration <s>', 'stop after this many seconds', duration)
    .option('--open', 'open the viewer in a browser');
  addGeneratedDemoOptions(demo).action(async (o) => {
      if (o.generated) return runGeneratedDemoCommand(o);
      const demo = await runDemo({
        source: o.source,
        bus: o.bus,
        topic: o.topic,
        record: o.record ? o.out : undefined,
        durationSeconds: o.duration,
        host: o.host,
        port: o.port,
      });
      process.stdout.write(`viewer: ${demo.url}\n${webrtcLines(demo.url, demo.token, [o.topic])}${o.record ? `recording to ${o.out}; ` : ''}Ctrl-C to stop\n`);
      if (o.open) openInBrowser(demo.url);
      await untilInterrupted(demo.done);
      printSummary(await demo.close());
    });
}
