/**
 * A live or replay viewer server in a process of its own, so a test can measure that server's
 * memory alone. Start it with `fork` (execArgv `--import tsx --expose-gc`) and one JSON
 * argument, {@link ServerSpec}. Over IPC it sends `{ url }` once listening and `{ log }` for
 * every server log line, and answers `{ op: 'memory', gc }` with `process.memoryUsage()`
 * (after garbage collection when `gc` is true).
 */
import { Bus } from '../../src/bus/bus.js';
import { VideoEncoder } from '../../src/codec/video-encoder.js';
import type { VideoPacket } from '../../src/core/packet.js';
import { frameDurationNs } from '../../src/core/time.js';
import { startLiveServer } from '../../src/server/live-server.js';
import { startReplayServer } from '../../src/server/replay-server.js';
import type { SendLimits } from '../../src/server/send-gate.js';
import { SyntheticSource } from '../../src/source/synthetic-source.js';

/**
 * What the child serves. `stallTimeoutMs: null` stands for Infinity (JSON has none). A live
 * server publishes H.264 on topic `camera` at `fps`: packet `i` has timestamp
 * {@link LIVE_START} + i frame periods and a key packet every `gop`; each packet carries
 * `padBytes` of filler data (a NAL unit decoders skip) to make a stream of that rate cheaply.
 */
export type ServerSpec = { maxBufferedBytes?: number; stallTimeoutMs?: number | null } & (
  | { mode: 'replay'; file: string }
  | { mode: 'live'; fps: number; gop: number; padBytes: number }
);

/** Timestamp of the first live packet, ns since the Unix epoch (2024-01-01T00:00:00Z). */
export const LIVE_START = 1_704_067_200_000_000_000n;

/** An H.264 filler-data NAL unit (type 12) of about `bytes` bytes. */
function fillerNal(bytes: number): Uint8Array {
  const nal = new Uint8Array(bytes + 6).fill(0xff);
  nal.set([0, 0, 0, 1, 12]);
  nal[nal.length - 1] = 0x80;
  return nal;
}

/** Publishes one GOP-looped synthetic stream on `camera` in real time, packet `i` at LIVE_START + i periods. */
async function publishLive(bus: Bus, spec: { fps: number; gop: number; padBytes: number }): Promise<void> {
  const encoder = await VideoEncoder.create({ width: 320, height: 240, fps: spec.fps, gop: spec.gop });
  const source = new SyntheticSource({ width: 320, height: 240, fps: spec.fps, frames: 2 * spec.gop });
  const loop: VideoPacket[] = [];
  for await (const frame of source) loop.push(...(await encoder.encode(frame)));
  loop.push(...(await encoder.flush()));
  encoder.close();
  const filler = fillerNal(spec.padBytes);
  const video = bus.video('camera');
  const period = frameDurationNs(spec.fps);
  const started = performance.now();
  let sent = 0;
  setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * spec.fps);
    for (; sent < due; sent++) {
      const base = loop[sent % loop.length];
      const data = new Uint8Array(base.data.byteLength + filler.byteLength);
      data.set(base.data);
      data.set(filler, base.data.byteLength);
      void video.publishPacket({ ...base, data, sequence: sent, frameId: sent, timestamp: LIVE_START + BigInt(sent) * period });
    }
  }, 1000 / spec.fps / 2);
}

/** A message the child sends to its parent. */
export type ServerProcessMessage = { url: string } | { log: string } | { memory: NodeJS.MemoryUsage };

if (process.send) {
  const send = (message: ServerProcessMessage) => process.send!(message);
  const spec = JSON.parse(process.argv[2] ?? '{}') as ServerSpec;
  const limits: SendLimits & { port: number; log: (line: string) => void } = {
    port: 0,
    maxBufferedBytes: spec.maxBufferedBytes,
    stallTimeoutMs: spec.stallTimeoutMs === null ? Infinity : spec.stallTimeoutMs,
    log: (line) => send({ log: line }),
  };
  let url: string;
  if (spec.mode === 'replay') {
    url = (await startReplayServer({ ...limits, file: spec.file })).url;
  } else {
    const bus = await Bus.open('memory:viewer-server-process');
    url = (await startLiveServer({ ...limits, bus })).url;
    await publishLive(bus, spec);
  }
  process.on('message', (message: { op: 'memory'; gc: boolean }) => {
    if (message.op !== 'memory') return;
    if (message.gc) {
      // Twice: the first pass finds what finalizers release for the second.
      globalThis.gc?.();
      globalThis.gc?.();
    }
    send({ memory: process.memoryUsage() });
  });
  // The parent going away ends this process.
  process.on('disconnect', () => process.exit(0));
  send({ url });
}
