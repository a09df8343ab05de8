import { Bus } from '../bus/bus.js';
import type { VideoEncoderOptions } from '../codec/video-encoder-options.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { FrameSource } from '../source/frame-source.js';
import { openSource } from '../source/open-source.js';
import { Recording, type RecordingSummary } from '../store/recording.js';
import { startLiveServer } from './live-server.js';
import type { ViewerServerOptions } from './viewer-server.js';

/** Options of {@link runDemo}. */
export interface DemoOptions extends ViewerServerOptions {
  /** A source spec (`synthetic:640x480@30`, `camera:/dev/video0`, a file) or an open source. Default `synthetic:640x480@30`. */
  source?: string | FrameSource;
  /** Bus URL the packets are published on. Default `memory:demo`. */
  bus?: string;
  /** Video topic name. Default `camera`. */
  topic?: string;
  /** Record the same packets to this MCAP file (overwritten); none when omitted. */
  record?: string;
  /** Stop after this many seconds; runs until `close()` or the source ends when omitted. */
  durationSeconds?: number;
  /** Encoder settings; defaults are H.264, GOP 30, zerolatency. */
  encoder?: Partial<VideoEncoderOptions>;
}

/** What a demo run did. */
export interface DemoSummary {
  /** Frames encoded and published. */
  frames: number;
  /** Key packets among them. */
  keyPackets: number;
  /** Bytes of encoded video published. */
  bytes: number;
  /** Wall-clock seconds from start to stop. */
  seconds: number;
  /** The recording written, when `record` was given. */
  recording?: RecordingSummary;
}

/** A running demo. */
export interface DemoHandle {
  /** The viewer URL (with the token when one is required). */
  readonly url: string;
  readonly token: string | undefined;
  /** Settles when the source ends or the duration has passed (not on `close()` alone). */
  readonly done: Promise<DemoSummary>;
  /** Stops the source, finishes the recording, and closes the server and bus. Idempotent. */
  close(): Promise<DemoSummary>;
}

/**
 * The embedded default, end to end: frames from a source are encoded once and published on a
 * bus video topic; the same packets go to an MCAP recording (when asked) and, through the
 * live server, to viewers in the browser or the Foxglove app.
 * @throws InvalidArgumentError for a bad duration or source spec; TransportError when the bus
 *   or server cannot start.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoHandle> {
  const duration = options.durationSeconds;
  if (duration !== undefined && !(Number.isFinite(duration) && duration > 0)) {
    throw new InvalidArgumentError(`durationSeconds must be a positive number, got ${String(duration)}.`);
  }
  const source = typeof options.source === 'object' ? options.source : await openSource(options.source ?? 'synthetic:640x480@30', { realtime: true });
  const topicName = options.topic ?? 'camera';
  const bus = await Bus.open(options.bus ?? 'memory:demo');
  const cleanup: (() => Promise<unknown>)[] = [() => source.close(), () => bus.close()];
  try {
    const recording = options.record ? await Recording.create(options.record, { overwrite: true }) : undefined;
    if (recording) cleanup.unshift(() => recording.close());
    const stream = recording?.addStream(topicName, { codec: 'h264' });
    const video = bus.video(topicName, { encoder: { fps: source.info.fps, ...options.encoder } });
    const server = await startLiveServer({ ...options, bus, topics: [topicName] });
    const started = performance.now();
    let frames = 0;
    let stopping = false;

    const pump = (async () => {
      for await (const frame of source) {
        if (stopping) break;
        const packets = await video.publishFrame(frame);
        // The recording stores the very packets the bus carried: encoded once.
        for (const packet of packets) await stream?.writePacket(packet);
        frames++;
      }
    })();
    const timer = duration !== undefined ? setTimeout(() => void source.close(), duration * 1000) : undefined;

    let finished: Promise<DemoSummary> | undefined;
    const finish = (): Promise<DemoSummary> =>
      (finished ??= (async () => {
        stopping = true;
        clearTimeout(timer);
        await source.close();
        await pump.catch(() => undefined);
        const stats = video.publisherStats;
        await server.close();
        await video.close();
        const summary: DemoSummary = {
          frames,
          keyPackets: stats.keyPackets,
          bytes: stats.bytes,
          seconds: (performance.now() - started) / 1000,
          recording: recording ? await recording.close() : undefined,
        };
        await bus.close();
        return summary;
      })());

    const done = pump.then(finish, async (error: unknown) => {
      await finish();
      throw error;
    });
    done.catch(() => undefined);
    return { url: server.url, token: server.token, done, close: finish };
  } catch (error) {
    for (const step of cleanup) await step().catch(() => undefined);
    throw error;
  }
}
