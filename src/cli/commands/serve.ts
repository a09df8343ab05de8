import type { Command } from 'commander';
import { Bus } from '../../bus/bus.js';
import { startLiveServer } from '../../server/live-server.js';
import { startReplayServer } from '../../server/replay-server.js';
import { webrtcEndpointUrls } from '../../server/webrtc-routes.js';
import { openInBrowser } from '../open-browser.js';
import { loadLcmTypes } from '../../wire/lcm-types.js';
import { port } from '../options.js';
import { untilInterrupted } from '../until-interrupted.js';

/** The WHEP/WHIP lines `serve` and `demo` print. */
export function webrtcLines(viewerUrl: string, token: string | undefined, topics: readonly string[], commands?: string): string {
  const lines = topics.map((topic) => `WHEP: ${webrtcEndpointUrls(viewerUrl, topic).whep}\n`);
  lines.push(`WHIP: ${webrtcEndpointUrls(viewerUrl, '<topic>').whip.replace(encodeURIComponent('<topic>'), '<topic>')} (publish a camera on a new topic)\n`);
  if (token !== undefined) lines.push(`WebRTC clients send: Authorization: Bearer ${token}\n`);
  if (commands) {
    const teleop = new URL(viewerUrl);
    teleop.searchParams.set('transport', 'webrtc');
    lines.push(`teleop: ${teleop.href} (commands published on ${commands})\n`);
  }
  return lines.join('');
}

/** `framebus serve` (live viewer for a running bus) and `framebus view` (replay viewer for a recording). */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Serve the live viewer (and the Foxglove WebSocket protocol) for the topics of a running bus')
    .requiredOption('--bus <url>', 'lcm://239.255.76.67:7667?ttl=0 or nats://127.0.0.1:4222')
    .option('--topics <a,b>', 'only these topics (default: every video, image and command topic seen)')
    .option('--types <paths...>', '.lcm files or folders: topics of these types show as telemetry (table and plot)')
    .option('--host <host>', 'interface; a non-loopback one requires a token', '127.0.0.1')
    .option('--port <n>', 'port (0 picks a free one)', port, 8765)
    .option('--commands <topic>', "publish the viewer's teleop commands (framebus.twist_t) on this topic")
    .option('--open', 'open the viewer in a browser')
    .action(async (o) => {
      const types = o.types ? (await loadLcmTypes(o.types)).types : undefined;
      const bus = await Bus.open(o.bus, { types });
      const server = await startLiveServer({ bus, topics: o.topics?.split(','), types, host: o.host, port: o.port, commands: o.commands });
      process.stdout.write(`viewer: ${server.url}\n${webrtcLines(server.url, server.token, o.topics?.split(',') ?? ['<topic>'], o.commands)}Ctrl-C to stop\n`);
      if (o.open) openInBrowser(server.url);
      await untilInterrupted();
      await server.close();
      await bus.close();
    });
  program
    .command('view')
    .description('Serve the replay viewer for a recording (or a folder of recordings): timeline, scrub, frame step')
    .argument('<run.mcap|folder>', 'an MCAP recording or a folder of them')
    .option('--host <host>', 'interface; a non-loopback one requires a token', '127.0.0.1')
    .option('--port <n>', 'port (0 picks a free one)', port, 8765)
    .option('--open', 'open the viewer in a browser')
    .action(async (path: string, o) => {
      const { statSync } = await import('node:fs');
      const isDir = statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
      const server = await startReplayServer({ ...(isDir ? { recordingsDir: path } : { file: path }), host: o.host, port: o.port });
      process.stdout.write(`viewer: ${server.url}\nCtrl-C to stop\n`);
      if (o.open) openInBrowser(server.url);
      await untilInterrupted();
      await server.close();
    });
}
