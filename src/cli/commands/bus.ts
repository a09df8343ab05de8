import type { Command } from 'commander';
import { Bus } from '../../bus/bus.js';
import { publishSource } from '../../bus/publish-source.js';
import { watchTopics } from '../../bus/watch-topics.js';
import { openSource } from '../../source/open-source.js';
import { duration, fps, gop, jsonText, size } from '../options.js';
import { interruptSignal, untilInterrupted } from '../until-interrupted.js';

/** Bus commands: publish a source on a topic, list the topics seen. */
export function registerBusCommands(program: Command): void {
  program
    .command('publish')
    .description('Publish a source on a bus video topic at its own frame rate, encoded once (a file ends the command when it ends)')
    .requiredOption('--source <source>', 'synthetic[:WxH@FPS], camera:/dev/video0, a video file or a PNG folder')
    .requiredOption('--bus <url>', 'memory:, lcm://239.255.76.67:7667?ttl=0 or nats://127.0.0.1:4222')
    .requiredOption('--topic <name>', 'video topic')
    .option('--size <WxH>', 'source size', size)
    .option('--fps <n>', 'frame rate', fps)
    .option('--gop <n>', 'frames between keyframes', gop)
    .option('--duration <s>', 'stop after this many seconds', duration)
    .action(async (o) => {
      const source = await openSource(o.source, { ...o.size, fps: o.fps });
      const bus = await Bus.open(o.bus);
      const signal = interruptSignal();
      process.stderr.write(`publishing ${source.info.description} on ${o.topic} (${bus.url}); Ctrl-C to stop\n`);
      try {
        const r = await publishSource(bus, o.topic, source, {
          seconds: o.duration,
          signal,
          encoder: o.gop ? { gop: o.gop } : undefined,
          onFrame: (p) => process.stderr.isTTY && process.stderr.write(`\r${p.frames} frames, ${(p.bytes / 1e6).toFixed(2)} MB, ${p.late} late`),
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        process.stdout.write(`published ${r.frames} frames (${r.packets} packets, ${r.bytes} bytes) in ${r.seconds.toFixed(1)} s, ${r.late} late\n`);
      } finally {
        await bus.close();
      }
    });
  program
    .command('topics')
    .description('List the topics seen on a bus with message types, rates and lag (refreshes every second until Ctrl-C)')
    .requiredOption('--bus <url>', 'lcm://239.255.76.67:7667?ttl=0 or nats://127.0.0.1:4222')
    .option('--duration <s>', 'watch this long, print once and exit', duration)
    .option('--json', 'print JSON (with --duration)')
    .action(async (o) => {
      const bus = await Bus.open(o.bus);
      const watcher = watchTopics(bus);
      const print = () => {
        const rows = watcher.snapshot();
        if (o.json) {
          process.stdout.write(`${jsonText(rows)}\n`);
          return;
        }
        const lines = rows.map(
          (r) =>
            `${r.topic.padEnd(32)} ${(r.typeName ?? 'unknown type').padEnd(34)} ${r.messagesPerSecond.toFixed(1).padStart(8)} msg/s ${(r.bytesPerSecond / 1e6).toFixed(3).padStart(9)} MB/s ${String(r.messages).padStart(8)} total ${r.lagMs === undefined ? '' : `${r.lagMs.toFixed(1).padStart(8)} ms lag`}`.trimEnd(),
        );
        process.stdout.write(`${lines.length ? lines.join('\n') : '(no topics seen yet)'}\n`);
      };
      try {
        if (o.duration) {
          await new Promise((r) => setTimeout(r, o.duration * 1000));
          print();
          return;
        }
        const timer = setInterval(() => {
          if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
          print();
        }, 1000);
        await untilInterrupted();
        clearInterval(timer);
      } finally {
        watcher.close();
        await bus.close();
      }
    });
}
