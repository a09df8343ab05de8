import type { Command } from 'commander';
import { Bus } from '../../bus/bus.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { exportClip } from '../../media/export.js';
import { extractVideoFrames } from '../../media/extract-video-frames.js';
import { importVideo } from '../../media/import.js';
import { isLiveSource, openSource } from '../../source/open-source.js';
import { extractFrames } from '../../store/extract-frames.js';
import { recordBus } from '../../store/bus-recorder.js';
import { loadLcmTypes } from '../../wire/lcm-types.js';
import { playRecording } from '../../store/play-recording.js';
import { recordSource } from '../../store/record-source.js';
import { recordCameras } from '../../media/record-cameras.js';
import type { FrameSource } from '../../source/frame-source.js';
import { recordingInfo } from '../../store/recording-info.js';
import { recover } from '../../store/recover.js';
import type { RecordingSummary } from '../../store/recording.js';
import { duration, fps, positiveInt, printJson, quality, seconds, secondsList, size, speed, wholeNumber } from '../options.js';
import { startProgress } from '../progress.js';
import { interruptSignal } from '../until-interrupted.js';
import { nsToSeconds } from '../../core/time.js';
import { logToStderr } from '../../core/log.js';

function printRecording(s: RecordingSummary): void {
  process.stdout.write(`${s.path}: ${s.fileBytes} bytes\n`);
  for (const st of s.streams) {
    const seconds = st.frames > 1 ? nsToSeconds(st.end - st.start) : 0;
    process.stdout.write(`  ${st.name}: ${st.codec} ${st.width}x${st.height}, ${st.frames} frames, ${st.keyframeCount} keyframes, ${st.bytes} bytes, ${seconds.toFixed(3)} s\n`);
  }
}

/** The name of a recording's stream when it has exactly one video or image stream. */
async function onlyVideoStream(path: string): Promise<string> {
  const streams = (await recordingInfo(path)).streams;
  if (streams.length !== 1) {
    throw new InvalidArgumentError(`${path} has ${streams.length} streams (${streams.map((s) => s.name).join(', ')}); choose one with --stream.`);
  }
  return streams[0].name;
}

/** Several cameras into one recording (and with --mp4-dir one MP4 each), through StreamingVideoEncoder's workers. */
async function recordSeveral(
  specs: string[],
  o: { out: string; codec: string; stream: string; size?: { width: number; height: number }; fps?: number; mp4Dir?: string; duration?: number; frames?: number },
  signal: AbortSignal,
): Promise<void> {
  if (!['h264', 'h265', 'av1', 'auto'].includes(o.codec)) {
    throw new InvalidArgumentError(`Several sources or --mp4-dir record video: use --codec h264, h265, av1 or auto, not ${o.codec}.`);
  }
  const sources: FrameSource[] = [];
  try {
    for (const spec of specs) sources.push(await openSource(spec, { ...o.size, fps: o.fps, realtime: isLiveSource(spec) }));
  } catch (error) {
    await Promise.all(sources.map((s) => s.close()));
    throw error;
  }
  const streams = specs.length === 1 ? [o.stream as string] : specs.map((_, i) => `${o.stream}${i}`);
  const summary = await recordCameras(sources, o.out, {
    overwrite: true,
    streams,
    encoder: { codec: o.codec as 'h264' | 'h265' | 'av1' | 'auto' },
    mp4Dir: o.mp4Dir,
    duration: o.duration,
    frames: o.frames,
    signal,
    // A file waits for its encoder (every frame kept); a live camera beside it still drops.
    waitForRoom: specs.map((spec: string) => !isLiveSource(spec)),
  });
  printRecording(summary);
  for (const c of Object.values(summary.cameras)) {
    process.stdout.write(`  camera ${c.key}: ${c.frames} frames encoded, ${c.dropped} dropped, encoder ${c.encoder} at ${c.encodeFps.toFixed(1)} fps${c.path ? `, ${c.path}` : ''}\n`);
  }
}

/** Recording commands: record, info, frames, export, import, recover, play. */
export function registerRecording(program: Command): void {
  program
    .command('record')
    .description('Record a source (encoded once) or the video topics of a bus (packets as they arrive) to MCAP')
    .requiredOption('--out <run.mcap>', 'recording file (overwritten)')
    .option('--source <source>', 'synthetic[:WxH@FPS], camera:/dev/video0, a video file or a PNG folder; repeat for several cameras (streams <stream>0, <stream>1, …, each encoded in its own thread)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--mp4-dir <dir>', 'also write one MP4 per camera into this folder (<stream>.mp4)')
    .option('--bus <url>', 'record video topics from this bus (memory:, lcm://…, nats://…, webrtc://…) instead of a source')
    .option('--topics <a,b>', 'with --bus: the topics to record')
    .option('--types <paths...>', 'with --bus: .lcm files or folders; messages of these types on the topics are recorded as JSON with a JSON Schema')
    .option('--codec <codec>', 'h264, h265, av1, jpeg, png or raw', 'h264')
    .option('--quality <q>', 'JPEG quality 1-100', quality)
    .option('--size <WxH>', 'source size', size)
    .option('--fps <n>', 'source frame rate', fps)
    .option('--duration <s>', 'stop after this many seconds', duration)
    .option('--frames <n>', 'stop after this many frames', positiveInt)
    .option('--stream <name>', 'stream name', 'camera')
    .action(async (o) => {
      const signal = interruptSignal();
      if (o.bus) {
        if (!o.topics) throw new InvalidArgumentError('record --bus needs --topics a,b (the video topics to record).');
        const bus = await Bus.open(o.bus);
        try {
          const summary = await recordBus(bus, o.out, {
            overwrite: true,
            topics: o.topics.split(','),
            types: o.types ? (await loadLcmTypes(o.types)).types : undefined,
            duration: o.duration,
            signal,
            onProgress: (stats) =>
              process.stderr.isTTY &&
              process.stderr.write(`\r${Object.entries(stats).map(([t, s]) => `${t}: ${JSON.stringify(s)}`).join('  ')}`),
          });
          if (process.stderr.isTTY) process.stderr.write('\n');
          printRecording(summary);
        } finally {
          await bus.close();
        }
        return;
      }
      if (o.source.length > 1 || o.mp4Dir) return recordSeveral(o.source.length ? o.source : ['synthetic'], o, signal);
      const spec = o.source[0] ?? 'synthetic';
      const source = await openSource(spec, { ...o.size, fps: o.fps, realtime: isLiveSource(spec) });
      const started = performance.now();
      const progress = startProgress('record', o.frames);
      const summary = await recordSource(source, o.out, {
        overwrite: true,
        stream: o.stream,
        streamOptions: { codec: o.codec, quality: o.quality },
        duration: o.duration,
        frames: o.frames,
        signal,
        onProgress: (p) => {
          const wall = (performance.now() - started) / 1000;
          progress.update(p.frames, {
            fps: (p.frames / Math.max(wall, 1e-3)).toFixed(1),
            MB: (p.bytes / 1e6).toFixed(2),
            kbps: ((p.bytes * 8) / 1000 / Math.max(p.seconds, 1e-3)).toFixed(0),
          });
        },
      });
      progress.stop();
      printRecording(summary);
    });
  program
    .command('info')
    .description('Streams of a recording: codec, size, frames, keyframes, bytes, time range; its other channels (telemetry) and their message counts; per topic of a bus recording: outliers, dropped, lost')
    .argument('<run.mcap>')
    .option('--json', 'print JSON')
    .action(async (path: string, o) => {
      const info = await recordingInfo(path, { warn: logToStderr });
      if (o.json) return printJson(info);
      process.stdout.write(`${path}\n`);
      for (const s of info.streams) {
        process.stdout.write(`  ${s.name}: ${s.codec} ${s.width}x${s.height}, ${s.frames} frames, ${s.keyframes} keyframes, ${s.bytes} bytes, ${s.duration.toFixed(3)} s${s.indexed ? '' : ' (index rebuilt by scanning)'}\n`);
      }
      for (const c of info.channels ?? []) {
        process.stdout.write(`  channel ${c.topic}: ${c.schema || 'no schema'} (${c.encoding}), ${c.messages ?? 'uncounted'} messages\n`);
      }
      for (const t of info.topics ?? []) {
        process.stdout.write(`  topic ${t.topic}: ${t.packets} packets recorded in ${t.streams.join(', ') || 'no stream'}; outliers: ${t.outliers}, dropped: ${t.dropped}, lost: ${t.lost}\n`);
      }
    });
  program
    .command('frames')
    .description('Write the frames nearest to the given times (seconds from the first frame) as PNG files')
    .argument('<run.mcap|video>', 'a recording, or any video FFmpeg reads (decoded directly)')
    .requiredOption('--at <t1,t2>', 'times in seconds from the stream start, comma-separated', secondsList)
    .requiredOption('--out <dir>', 'output folder')
    .option('--stream <name>', 'stream (default: the only video stream)')
    .option('--tolerance <s>', 'fail when the nearest frame is farther than this', seconds)
    .action(async (path: string, o) => {
      const written = path.endsWith('.mcap')
        ? await extractFrames(path, o.stream ?? (await onlyVideoStream(path)), o.at, o.out, { tolerance: o.tolerance })
        : await extractVideoFrames(path, o.at, o.out, { tolerance: o.tolerance });
      for (const f of written) process.stdout.write(`${f.file}  (asked ${f.requested} s, frame at ${f.actual.toFixed(6)} s)\n`);
    });
  program
    .command('export')
    .description('Export a time range of a video stream to MP4 (faststart) or fMP4, without re-encoding')
    .argument('<run.mcap>')
    .requiredOption('--out <clip.mp4>', 'output file')
    .option('--stream <name>', 'stream (default: the only video stream)')
    .option('--from <s>', 'start, seconds from the stream start', seconds)
    .option('--to <s>', 'end, seconds from the stream start', seconds)
    .option('--fragmented', 'write fragmented MP4')
    .action(async (path: string, o) => {
      const progress = startProgress('export');
      const s = await exportClip(path, o.out, { stream: o.stream, start: o.from, end: o.to, fragmented: o.fragmented, onProgress: (d) => progress.update(d) });
      progress.stop();
      process.stdout.write(`${s.output}: ${s.frames} frames of ${s.stream} (${s.packets} packets stored from the key packet before the start), ${nsToSeconds(s.durationNs).toFixed(3)} s\n`);
    });
  program
    .command('import')
    .description('Import a video into a recording: H.264 without B-frames is remuxed, anything else transcoded once')
    .argument('<video>')
    .requiredOption('--out <run.mcap>', 'recording file (overwritten)')
    .option('--stream <name>', 'stream name', 'video')
    .option('--frames <n>', 'import at most N frames', wholeNumber)
    .action(async (path: string, o) => {
      const progress = startProgress('import');
      const s = await importVideo(path, o.out, { overwrite: true, stream: o.stream, frames: o.frames || undefined, onProgress: (d, t) => progress.update(d, t === undefined ? undefined : { of: t }) });
      progress.stop();
      process.stdout.write(`${s.mode}${s.reason ? ` (${s.reason})` : ''}\n`);
      printRecording(s);
    });
  program
    .command('recover')
    .description('Rewrite an unfinished or damaged recording (e.g. after a crash) as a complete, indexed file')
    .argument('<file>')
    .option('--out <file>', 'write here instead of replacing the file')
    .action(async (path: string, o) => {
      const s = await recover(path, { output: o.out });
      process.stdout.write(`${s.output}: ${s.wasComplete ? 'was complete' : 'recovered'}, ${s.messages} messages kept, ${s.lostBytes} bytes lost\n`);
      for (const p of s.problems) process.stdout.write(`  ${p}\n`);
      for (const st of s.streams) process.stdout.write(`  ${st.name}: ${st.codec}, ${st.frames} frames, ${st.keyframeCount} keyframes\n`);
    });
  program
    .command('play')
    .description('Publish the video streams of a recording on a bus with their original timing (no re-encode)')
    .argument('<run.mcap>')
    .requiredOption('--bus <url>', 'memory:, lcm://… or nats://…')
    .option('--speed <x>', 'playback rate', speed, 1)
    .option('--loop', 'start again at the end until Ctrl-C')
    .option('--streams <a,b>', 'only these streams')
    .option('--types <paths...>', '.lcm files or folders: recorded telemetry of these types is republished as LCM too')
    .action(async (path: string, o) => {
      const types = o.types ? (await loadLcmTypes(o.types)).types : undefined;
      const bus = await Bus.open(o.bus, { types });
      try {
        const s = await playRecording(path, bus, { speed: o.speed, loop: o.loop, streams: o.streams?.split(','), types, signal: interruptSignal() });
        const telemetry = s.telemetry === undefined ? '' : ` and ${s.telemetry} telemetry messages`;
        process.stdout.write(`published ${s.packets} packets${telemetry} in ${s.passes} pass(es) on ${Object.values(s.topics).join(', ')}\n`);
      } finally {
        await bus.close();
      }
    });
}
