/**
 * Worker-thread entry point of `StreamingVideoEncoder`: encodes one camera's frames, writes
 * its file and accumulates its image statistics, off the caller's thread. Frames arrive in
 * slots of a shared queue and are released as soon as the encoder has copied them.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { frameFromPacked } from '../core/frame.js';
import type { VideoPacket } from '../core/packet.js';
import { nsToSeconds } from '../core/time.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import type { CameraWorkerData, CameraWorkerSummary, FromCameraWorker, ToCameraWorker } from './camera-encoder-protocol.js';
import { ImageStatsAccumulator } from './image-stats.js';
import { Mp4Writer } from './mp4-writer.js';

const port = parentPort!;
const { control, nice } = workerData as CameraWorkerData;

/**
 * Lowers this thread's scheduling priority (Linux: nice is per thread, and threads the
 * encoder starts inherit it), so when the CPU is short the caller's loop runs first and the
 * encoders fall behind instead: that shows as counted drops, not as a late robot loop.
 */
function lowerPriority(): void {
  if (nice === 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid)) setPriority(tid, nice);
  } catch {
    // No /proc/thread-self (not Linux) or not permitted: the encoder runs at normal priority.
  }
}
lowerPriority();

interface Episode {
  start: Extract<ToCameraWorker, { type: 'start' }>;
  encoder?: VideoEncoder;
  writer?: Mp4Writer;
  path?: string;
  stats: ImageStatsAccumulator;
  frames: number;
  busyMs: number;
  failed: boolean;
}

let episode: Episode | undefined;
let queue: Uint8Array | undefined;
let slotBytes = 0;
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

async function encodeFrame(ep: Episode, m: Extract<ToCameraWorker, { type: 'frame' }>): Promise<void> {
  const started = performance.now();
  try {
    const bytes = queue!.subarray(m.slot * slotBytes, (m.slot + 1) * slotBytes);
    const frame = frameFromPacked(bytes, m);
    ep.stats.add(frame);
    ep.encoder ??= await open(ep, m);
    // The encoder copies the pixels into its own picture before returning.
    const packets = await ep.encoder.encode(frame);
    send({ type: 'released', slot: m.slot });
    await output(ep, packets);
    ep.frames++;
  } finally {
    ep.busyMs += performance.now() - started;
  }
}

/** Opens the camera's encoder and file at its first frame, when size and pixel format are known. */
async function open(ep: Episode, first: Extract<ToCameraWorker, { type: 'frame' }>): Promise<VideoEncoder> {
  const { key, dir, settings } = ep.start;
  // Depth is never encoded lossily: gray16 cameras get FFV1 in Matroska.
  const depth = first.format === 'gray16';
  const codec = depth ? { codec: 'ffv1' as const, encoder: undefined, pixelFormat: undefined } : {};
  const encoder = await VideoEncoder.create({
    ...settings,
    ...codec,
    width: first.width,
    height: first.height,
    log: (message) => send({ type: 'log', message: `camera ${JSON.stringify(key)}: ${message}` }),
  });
  if (dir !== undefined) {
    ep.path = join(dir, `${key}${depth ? '.mkv' : '.mp4'}`);
    ep.writer = Mp4Writer.open(ep.path, { overwrite: true });
  }
  return encoder;
}

async function finish(ep: Episode): Promise<CameraWorkerSummary> {
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
      episode = { start: m, stats: new ImageStatsAccumulator(), frames: 0, busyMs: 0, failed: false };
      return send({ type: 'started' });
    case 'queue':
      queue = new Uint8Array(m.buffer);
      slotBytes = m.slotBytes;
      return;
    case 'frame':
      if (!episode || episode.failed || Atomics.load(control, 0) === 1) return send({ type: 'released', slot: m.slot });
      return encodeFrame(episode, m);
    case 'finish':
      if (!episode) return;
      return send({ type: 'finished', summary: await finish(episode) });
    case 'cancel':
      if (episode) {
        await episode.writer?.abort();
        close(episode);
      }
      return port.close();
    case 'exit':
      return port.close();
  }
}

port.on('message', (m: ToCameraWorker) => {
  chain = chain.then(() => handle(m)).catch(async (error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error));
    // A frame that failed still holds its slot.
    if (m.type === 'frame') send({ type: 'released', slot: m.slot });
    if (episode && !episode.failed) {
      episode.failed = true;
      // A failed episode leaves no file: its partial output is of no use.
      await episode.writer?.abort().catch(() => undefined);
    }
    send({ type: 'failed', name: e.name, message: e.message, code: (e as { code?: string }).code });
  });
});
