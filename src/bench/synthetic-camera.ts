import type { Bus } from '../bus/bus.js';
import { SyntheticSource } from '../source/synthetic-source.js';

/** A synthetic camera published on a bus video topic in real time (tests and benches). */
export interface SyntheticCamera {
  /** Frames published so far; the newest published frame is number `published - 1`. */
  readonly published: number;
  /** Key packets the encoder produced so far. */
  readonly keyPackets: number;
  stop(): Promise<void>;
}

/** Publishes a real-time synthetic scene on `topic`, encoded once by the bus's video topic. */
export function startSyntheticCamera(
  bus: Bus,
  topic: string,
  options: { width?: number; height?: number; fps?: number; gop?: number; frames?: number } = {},
): SyntheticCamera {
  const fps = options.fps ?? 30;
  const source = new SyntheticSource({ width: options.width ?? 320, height: options.height ?? 240, fps, frames: options.frames ?? 3000, realtime: true });
  const video = bus.video(topic, { encoder: { gop: options.gop ?? 30, fps } });
  let published = 0;
  const loop = (async () => {
    for await (const frame of source) {
      await video.publishFrame(frame);
      published++;
    }
  })();
  return {
    get published() {
      return published;
    },
    get keyPackets() {
      return video.publisherStats.keyPackets;
    },
    async stop() {
      await source.close();
      await loop.catch(() => undefined);
      await video.close();
    },
  };
}
