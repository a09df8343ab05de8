/**
 * Worker-thread entry point of `StreamingVideoEncoder`: encodes one camera's frames, writes
 * its file and accumulates its image statistics, off the caller's thread. Frames arrive in
 * a `FrameRing` in shared memory; each slot is released as soon as the encoder has copied it.
 */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { frameFromPacked } from '../core/frame.js';
import type { VideoPacket } from '../core/packet.js';
import { nsToSeconds } from '../core/time.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import type { CameraWorkerData, CameraWorkerSummary, FromCameraWorker, ToCameraWorker } from './camera-encoder-protocol.js';
import { FrameRing } from './frame-ring.js';
import { ImageStatsAccumulator } from './image-stats.js';
import { Mp4Writer } from './mp4-writer.js';
import { lowerThreadPriority } from './thread-priority.js';

const port = parentPort!;
const { control, nice } = workerData as CameraWorkerData;

// When the CPU is short the caller's loop runs first and the encoders fall behind instead: that shows as counted drops, not as a late robot loop.
lowerThreadPriority(nice);

interface Episode {
  start: Extract<ToCameraWorker, { type: 'start' }>;
  encoder?: VideoEncoder;
  writer?: Mp4Writer;
  path?: string;
  stats: ImageStatsAccumulator;
  /** Frames encoded. */
  frames: number;
  busyMs: number;
  failed: boolean;
  ring?: FrameRing;
  /** Frames taken from the ring (encoded or skipped). */
  taken: number;
  /** Set by finish or cancel: take what is written, then stop. */
  closing: boolean;
  consuming?: Promise<void>;
}

let episode: Episode | undefined;
let chain: Promise<void> = Promise.resolve();

function send(message: FromCameraWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

async function output(ep: Episode, packets: VideoPacket[]): Promise<void> {
  for (const packet of packets) {
    await ep.writer?.write(packet);
    if (ep.start.emitPackets) {
      const data = new Uint8Array(packet.data);
      send({ type: 'packet', packet: { ...packet, data } }, [data.buffer]);
    }
  }
}

/** A failed episode leaves no file (its partial output is of no use) and skips its remaining frames. */
async function fail(ep: Episode, error: unknown): Promise<void> {
  const e = error instanceof Error ? error : new Error(String(error));
  if (!ep.failed) {
    ep.failed = true;
    await ep.writer?.abort().catch(() => undefined);
  }
  send({ type: 'failed', name: e.name, message: e.message, code: (e as { code?: string }).code });
}

/** Takes every frame written to the ring until the episode closes: encodes it, or skips it once cancelled or failed. */
async function consume(ep: Episode, ring: FrameRing): Promise<void> {
  for (;;) {
    const written = ring.written;
    if (ep.taken < written) {
      if (!ep.failed && Atomics.load(control, 0) === 0) {
        try {
          await encodeFrame(ep, ring);
        } catch (error) {
          await fail(ep, error);
        }
      }
      ring.release(++ep.taken);
      continue;
    }
    if (ep.closing) return;
    await ring.pause(written);
  }
}

async function encodeFrame(ep: Episode, ring: FrameRing): Promise<void> {
  const started = performance.now();
  try {
    const { offset, timestamp, frameId } = ring.read(ep.taken);
    const { width, height, format, slotBytes } = ring.shape;
    const frame = frameFromPacked(ring.bytes.subarray(offset, offset + slotBytes), { width, height, format, timestamp, frameId });
    ep.stats.add(frame);
    ep.encoder ??= await open(ep, ring.shape);
    // The encoder copies the pixels into its own picture before returning: the slot may go back once the packets are out.
    await output(ep, await ep.encoder.encode(frame));
    ep.frames++;
  } finally {
    ep.busyMs += performance.now() - started;
  }
}

/** Opens the camera's encoder and file at its first frame, when size and pixel format are known. */
async function open(ep: Episode, layout: { width: number; height: number; format: string }): Promise<VideoEncoder> {
  const { key, dir, settings } = ep.start;
  // Depth is never encoded lossily: gray16 cameras get FFV1 in Matroska.
  const depth = layout.format === 'gray16';
  const codec = depth ? { codec: 'ffv1' as const, encoder: undefined, pixelFormat: undefined } : {};
  const encoder = await VideoEncoder.create({
    ...settings,
    ...codec,
    width: layout.width,
    height: layout.height,
    log: (message) => send({ type: 'log', message: `camera ${JSON.stringify(key)}: ${message}` }),
  });
  if (dir !== undefined) {
    ep.path = join(dir, `${key}${depth ? '.mkv' : '.mp4'}`);
    ep.writer = Mp4Writer.open(ep.path, { overwrite: true });
  }
  return encoder;
}

/** Lets the consumer take what is written, then stops it. */
async function drain(ep: Episode): Promise<void> {
  ep.closing = true;
  ep.ring?.wake();
  await ep.consuming;
}

async function finish(ep: Episode): Promise<CameraWorkerSummary | undefined> {
  await drain(ep);
  if (ep.failed) {
    close(ep);
    return undefined;
  }
  const started = performance.now();
  if (ep.encoder) await output(ep, await ep.encoder.flush());
  const written = await ep.writer?.close();
  ep.busyMs += performance.now() - started;
  const summary: CameraWorkerSummary = {
    path: written && written.packets > 0 ? ep.path : undefined,
    frames: ep.frames,
    encodeFps: ep.busyMs > 0 ? (ep.frames * 1000) / ep.busyMs : 0,
    encoder: ep.encoder?.encoderName ?? '',
    durationS: written ? nsToSeconds(written.durationNs) : 0,
    stats: ep.stats.result(),
  };
  close(ep);
  return summary;
}

function close(ep: Episode): void {
  ep.encoder?.close();
  ep.stats.close();
  if (episode === ep) episode = undefined;
}

async function handle(m: ToCameraWorker): Promise<void> {
  switch (m.type) {
    case 'start':
      episode = { start: m, stats: new ImageStatsAccumulator(), frames: 0, busyMs: 0, failed: false, taken: 0, closing: false };
      return send({ type: 'started' });
    case 'queue':
      if (!episode) return;
      episode.ring = new FrameRing(m.ring);
      episode.consuming = consume(episode, episode.ring);
      return;
    case 'finish': {
      if (!episode) return;
      const summary = await finish(episode);
      // A failure was already reported; the caller's thread rejects finishEpisode with it.
      if (summary) send({ type: 'finished', summary });
      return;
    }
    case 'cancel':
      if (episode) {
        await drain(episode);
        await episode.writer?.abort();
        close(episode);
      }
      return port.close();
    case 'exit':
      return port.close();
  }
}

port.on('message', (m: ToCameraWorker) => {
  chain = chain.then(() => handle(m)).catch((error: unknown) => (episode ? fail(episode, error) : undefined));
});
