import { SegmentFeed } from '../media/fmp4-source.js';
import { SegmentStreamer } from '../media/segment-streamer.js';
import type { SegmentStreamerOptions, StreamerCloseResult } from '../media/segment-types.js';
import { serveFmp4 } from './fmp4-server.js';
import type { ViewerServerOptions } from './viewer-server.js';

/** A live fMP4 stream being served while its producer runs. */
export interface Fmp4StreamHandle {
  /** The viewer page in MSE mode. */
  readonly url: string;
  /** The long HTTP response players open (`ffplay`, VLC, `ffmpeg -i`). */
  readonly liveUrl: string;
  /** Resolves when the producer finished or the stream failed; the result names the cause. */
  readonly done: Promise<StreamerCloseResult>;
  /** Stops the producer, finishes (at most `timeoutMs`, default 5000) and stops serving. */
  close(options?: { timeoutMs?: number }): Promise<StreamerCloseResult>;
}

/**
 * Serves stream `name` of a new `SegmentStreamer` and runs `produce` (which hands it segments
 * and should stop when `signal` aborts). Shared by the generated demo and `framebus stream`.
 */
export async function runFmp4Stream(
  name: string,
  streamerOptions: SegmentStreamerOptions,
  serverOptions: ViewerServerOptions,
  produce: (streamer: SegmentStreamer, signal: AbortSignal) => Promise<void>,
): Promise<Fmp4StreamHandle> {
  const controller = new AbortController();
  const streamer = SegmentStreamer.create({ ...streamerOptions, abortController: controller });
  const feed = new SegmentFeed(name, streamer);
  let server;
  try {
    server = await serveFmp4(feed, serverOptions);
  } catch (error) {
    await streamer.close({ timeoutMs: 0 });
    throw error;
  }
  const origin = new URL(server.url);
  const token = server.token === undefined ? '' : `?token=${server.token}`;
  let closing: Promise<StreamerCloseResult> | undefined;
  let timeoutMs = 5000;
  const finish = (): Promise<StreamerCloseResult> =>
    (closing ??= (async () => {
      const result = await streamer.close({ timeoutMs });
      feed.finish(result.cause);
      return result;
    })());
  const done = produce(streamer, controller.signal)
    .catch((error: unknown) => {
      // The producer stops with the stream's own cause when packaging failed; that is reported by close().
      if (!controller.signal.aborted) controller.abort(error);
    })
    .then(finish);
  return {
    url: `${origin.origin}/?fmp4=${encodeURIComponent(name)}${token ? `&token=${server.token}` : ''}`,
    liveUrl: `${origin.origin}/live/${encodeURIComponent(name)}.mp4${token}`,
    done,
    async close(options = {}) {
      timeoutMs = options.timeoutMs ?? timeoutMs;
      if (!controller.signal.aborted) controller.abort(new Error('closed'));
      const result = await Promise.race([done, finish()]);
      await server.close();
      return result;
    },
  };
}
