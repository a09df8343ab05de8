import { setTimeout as sleep } from 'node:timers/promises';
import type { FrameSource } from '../source/frame-source.js';
import { openSource } from '../source/open-source.js';
import { runFmp4Stream, type Fmp4StreamHandle } from './fmp4-stream-run.js';
import type { ViewerServerOptions } from './viewer-server.js';

/** Options of {@link streamSource}. */
export interface SourceStreamOptions extends ViewerServerOptions {
  /** Seconds per segment (each starts with a key frame). Default 2. */
  segmentSeconds?: number;
  /** Stream name in the URLs. Default `stream`. */
  name?: string;
}

/**
 * `framebus stream <source>`: any source (synthetic, camera, file, PNG folder) encoded once
 * and served as live fMP4 at its frame rate: `GET /live/<name>.mp4` for players, the viewer
 * page in MSE mode for browsers. Ends when the source does.
 */
export async function streamSource(spec: string | FrameSource, options: SourceStreamOptions = {}): Promise<Fmp4StreamHandle> {
  const source = typeof spec === 'string' ? await openSource(spec, { realtime: true }) : spec;
  const { width, height, fps } = source.info;
  const frames = Math.max(1, Math.round((options.segmentSeconds ?? 2) * fps));
  try {
    return await runFmp4Stream(options.name ?? 'stream', { width, height, fps }, options, async (streamer, signal) => {
      try {
        let segment = await streamer.beginSegment();
        let inSegment = 0;
        let handed = 0;
        const start = performance.now();
        for await (const frame of source) {
          signal.throwIfAborted();
          // A file decodes faster than real time: hand frames over at the source's own rate, so
          // the stream is live (players that join later see the present, not a finished file).
          const wait = start + (handed * 1000) / fps - performance.now();
          if (wait > 0) await sleep(wait, undefined, { signal });
          handed++;
          if (inSegment === frames) {
            segment.end();
            segment = await streamer.beginSegment();
            inSegment = 0;
          }
          segment.addFrame(frame);
          inSegment++;
        }
        if (inSegment > 0) segment.end();
      } finally {
        await source.close();
      }
    });
  } catch (error) {
    await source.close();
    throw error;
  }
}
