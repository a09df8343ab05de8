import { setTimeout as sleep } from 'node:timers/promises';
import { VideoEncoder } from '../codec/video-encoder.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { runFmp4Stream, type Fmp4StreamHandle } from './fmp4-stream-run.js';
import type { ViewerServerOptions } from './viewer-server.js';

/** Options of {@link runGeneratedDemo}. */
export interface GeneratedDemoOptions extends ViewerServerOptions {
  /** Picture size, pixels. Default 640x480. */
  width?: number;
  height?: number;
  /** Default 30. */
  fps?: number;
  /** Seconds of video per segment. Default 2. */
  segmentSeconds?: number;
  /** Segments to generate; unbounded when omitted. */
  segments?: number;
  /** Simulated generation time per segment, ms. Default 0 (as fast as the queue allows). */
  delayMs?: number;
  /** Hand segment N (from 0) over as packets of another size, so its packaging fails and the demo stops with that error. */
  failSegment?: number;
}

const RATE = 48000;

/** A tone per segment, rising a step each segment, so a listener hears the segments go by. */
function segmentTone(segment: number, samples: number): Float32Array {
  const pcm = new Float32Array(samples * 2);
  const hz = 330 * 2 ** ((segment % 12) / 12);
  for (let i = 0; i < samples; i++) {
    const fade = Math.min(1, i / 480, (samples - i) / 480);
    pcm[2 * i] = pcm[2 * i + 1] = 0.2 * fade * Math.sin((2 * Math.PI * hz * i) / RATE);
  }
  return pcm;
}

/**
 * `framebus demo --generated`: a synthetic generator that produces segments of video with a
 * tone, at a chosen generation delay, streamed as live fMP4 while it generates. With
 * `failSegment` the packaging of that segment fails and the generator stops on the aborted signal.
 */
export async function runGeneratedDemo(options: GeneratedDemoOptions = {}): Promise<Fmp4StreamHandle> {
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  const fps = options.fps ?? 30;
  const segmentSeconds = options.segmentSeconds ?? 2;
  if (!(Number.isFinite(segmentSeconds) && segmentSeconds > 0 && segmentSeconds <= 60)) {
    throw new InvalidArgumentError(`segmentSeconds must be a number of seconds from 0 to 60, got ${String(segmentSeconds)}.`);
  }
  const frames = Math.max(1, Math.round(segmentSeconds * fps));
  return runFmp4Stream('generated', { width, height, fps, audio: { sampleRate: RATE, channels: 2 } }, options, async (streamer, signal) => {
    const scene = new SyntheticSource({ width, height, fps })[Symbol.asyncIterator]();
    for (let s = 0; options.segments === undefined || s < options.segments; s++) {
      if (options.delayMs) await sleep(options.delayMs, undefined, { signal });
      signal.throwIfAborted();
      const segment = await streamer.beginSegment();
      if (s === options.failSegment) {
        const wrong = await VideoEncoder.create({ width: 64, height: 64, log: () => {} });
        for (let i = 0; i < frames; i++) {
          const { value } = await scene.next();
          for (const packet of await wrong.encode(value as Frame)) segment.addPacket(packet);
        }
        wrong.close();
      } else {
        for (let i = 0; i < frames; i++) segment.addFrame((await scene.next()).value as Frame);
      }
      segment.addAudio({ samples: segmentTone(s, Math.round((frames * RATE) / fps)), sampleRate: RATE, channels: 2 });
      segment.end();
    }
    await scene.return?.();
  });
}
