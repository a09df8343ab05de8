import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Bus } from '../bus/bus.js';
import type { LocalNatsCluster } from '../bus/nats/local-nats-cluster.js';
import type { NatsTransport } from '../bus/nats/nats-transport.js';
import type { TransportBus } from '../bus/transport-bus.js';
import { KeyframeGate } from '../codec/keyframe-gate.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { readFrameCode, SyntheticSource } from '../source/synthetic-source.js';
import { BusRecorder } from '../store/bus-recorder.js';
import { RecordingReader } from '../store/recording-reader.js';
import { round } from './stats.js';

/** What one failover run measured. JSON-able. */
export interface NatsFailoverFigures {
  /**
   * Milliseconds from SIGKILL of the subscriber's server (just after a frame was published) to
   * the subscriber showing a frame published after the kill; at least one frame interval.
   */
  failover_gap_ms: number;
  /** Frames published but never shown to the subscriber around the failover. */
  frames_lost: number;
  /** Frames shown whose picture is not the frame they claim to be, plus packets the decoder found corrupt. */
  corrupt_frames: number;
  /** Frames published, and frames the subscriber showed. */
  published: number;
  shown: number;
  /** Times the subscriber's and recorder's clients reconnected. */
  reconnects: number;
  /** Times the subscriber resumed at a key packet after the gap, and keyframe requests it sent. */
  resumed: number;
  keyframe_requests: number;
  /** Key frames the publisher forced because a subscriber (the one shown, or the recorder) asked for one. */
  forced_keyframes: number;
  /** Servers (`host:port`) the subscriber was on before the kill and after. */
  server_before: string;
  server_after: string;
  /** Packets the recorder stored, and of those, frame times whose frame failed to decode (goal 0). */
  recorded: number;
  undecodable_recorded: number;
  /** Recorded packets that fail a keyframe gate replayed over the file (goal 0). */
  gate_failures: number;
}

/** Options of a failover run; the defaults take about 5 s. */
export interface NatsFailoverOptions {
  /** Members of `cluster` the publisher and the subscriber (and recorder) connect to. Default 0 and 2. */
  publisherNode?: number;
  subscriberNode?: number;
  /** Seconds of stream before the kill, with the server down, and after its restart. Default 1.5, 1, 1.5. */
  beforeSeconds?: number;
  downSeconds?: number;
  afterSeconds?: number;
  /** Picture and rate. Default 320x240 at 15 fps, GOP 150 (10 s: recovery must come from a keyframe request). */
  width?: number;
  height?: number;
  fps?: number;
  gop?: number;
  /** Extra URL options for every client, e.g. `prefix=lab.robot1`. */
  urlOptions?: string;
  /**
   * Milliseconds the subscriber's server hangs (SIGSTOP) before the SIGKILL, swallowing what is
   * routed to it, so the subscriber surely meets a gap. Default 0: a clean SIGKILL.
   */
  hangMs?: number;
}

function transportOf(bus: Bus): NatsTransport {
  return (bus as TransportBus).transport as NatsTransport;
}

/**
 * Publishes a live synthetic stream on member A, shows it decoded and records it on member C,
 * SIGKILLs C mid-stream and restarts it later: measures how long the subscriber shows
 * nothing, what it lost, whether anything shown or recorded was damaged, and whether the
 * recording decodes at every frame time.
 */
export async function measureNatsFailover(cluster: LocalNatsCluster, options: NatsFailoverOptions = {}): Promise<NatsFailoverFigures> {
  const { publisherNode = 0, subscriberNode = 2, beforeSeconds = 1.5, downSeconds = 1, afterSeconds = 1.5, width = 320, height = 240, fps = 15, gop = 150, hangMs = 0 } = options;
  if (publisherNode === subscriberNode) throw new InvalidArgumentError('The publisher and subscriber must start on different members.');
  const extra = options.urlOptions ?? '';
  const dir = await mkdtemp(join(tmpdir(), 'framebus-failover-'));
  const quiet = () => {};
  const pubBus = await Bus.open(cluster.url([publisherNode], extra), { log: quiet });
  const subBus = await Bus.open(cluster.url([subscriberNode], extra), { log: quiet });
  const recBus = await Bus.open(cluster.url([subscriberNode], extra), { log: quiet });
  const source = new SyntheticSource({ width, height, fps, realtime: true });
  try {
    const serverBefore = transportOf(subBus).server;
    const publisher = pubBus.video('cam/front', { encoder: { gop, fps }, keyframeIntervalMs: 200 });
    const shown: { frameId: number; at: number; ok: boolean }[] = [];
    const subscription = subBus.video('cam/front').subscribeFrames((f: Frame) => {
      const ok = readFrameCode(f.planes[0].data, f.width, f.height, 3, f.planes[0].stride) === (f.frameId & 0xffff);
      shown.push({ frameId: f.frameId, at: performance.now(), ok });
    });
    const path = join(dir, 'failover.mcap');
    const recorder = await BusRecorder.start(recBus, path, { topics: ['cam/front'], log: quiet });
    await Promise.all([subBus.flush(), recBus.flush(), pubBus.flush()]);
    let published = 0;
    let killedAt = 0;
    let killedAfter = -1;
    let phase: 'before' | 'hung' | 'down' | 'after' = 'before';
    let hungAt = 0;
    let restarting: Promise<void> = Promise.resolve();
    const start = performance.now();
    for await (const frame of source) {
      await publisher.publishFrame(frame);
      published++;
      const t = (performance.now() - start) / 1000;
      if (phase === 'before' && t >= beforeSeconds && hangMs > 0) {
        cluster.pause(subscriberNode);
        hungAt = performance.now();
        phase = 'hung';
      } else if ((phase === 'before' && t >= beforeSeconds) || (phase === 'hung' && performance.now() - hungAt >= hangMs)) {
        killedAt = performance.now();
        killedAfter = frame.frameId;
        await cluster.kill(subscriberNode);
        phase = 'down';
      } else if (phase === 'down' && t >= beforeSeconds + downSeconds) {
        // The stream goes on while the member restarts, as it would in a real cluster.
        restarting = cluster.restart(subscriberNode);
        // Rethrown below, once the stream has ended.
        restarting.catch(() => {});
        phase = 'after';
      } else if (phase === 'after' && t >= beforeSeconds + downSeconds + afterSeconds) break;
    }
    await restarting;
    await sleep(300);
    const serverAfter = transportOf(subBus).server;
    const stats = subscription.stats;
    await subscription.unsubscribe();
    const summary = await recorder.stop();
    // The first frame published after the kill, or a later one, shown.
    const resumedAt = shown.find((s) => s.frameId > killedAfter);
    const frames = await recordedFrames(path);
    return {
      failover_gap_ms: resumedAt ? round(resumedAt.at - killedAt, 1) : Infinity,
      frames_lost: published - shown.length,
      corrupt_frames: shown.filter((s) => !s.ok).length + stats.corrupt,
      published,
      shown: shown.length,
      reconnects: subBus.stats.reconnects + recBus.stats.reconnects,
      resumed: stats.resumed,
      keyframe_requests: stats.keyframeRequests,
      forced_keyframes: publisher.publisherStats.forcedKeyframes,
      server_before: serverBefore,
      server_after: serverAfter,
      recorded: summary.streams.reduce((n, s) => n + s.frames, 0),
      undecodable_recorded: frames.undecodable,
      gate_failures: frames.gateFailures,
    };
  } finally {
    await source.close();
    await Promise.all([pubBus.close(), subBus.close(), recBus.close()]);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Replays a recording's packets through a keyframe gate and decodes it at every stored frame time. */
async function recordedFrames(path: string): Promise<{ undecodable: number; gateFailures: number }> {
  const reader = await RecordingReader.open(path);
  let undecodable = 0;
  let gateFailures = 0;
  try {
    for (const name of reader.streamNames) {
      const gate = new KeyframeGate();
      const times: bigint[] = [];
      for await (const item of reader.packets(name)) {
        if (item.kind !== 'video-packet') continue;
        if (!gate.admit(item)) gateFailures++;
        times.push(item.timestamp);
      }
      try {
        const decoded = await reader.framesAt(name, times, { tolerance: 0n });
        undecodable += times.length - decoded.length;
      } catch {
        undecodable += times.length;
      }
    }
  } finally {
    await reader.close();
  }
  return { undecodable, gateFailures };
}
