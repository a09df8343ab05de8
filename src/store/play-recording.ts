import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus } from '../bus/bus.js';
import type { VideoTopic } from '../bus/video/video-topic.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import { MAX_TIMER_MS } from '../core/time.js';
import { RecordingReader, type RecordingReaderOptions } from './recording-reader.js';
import { isVideoStreamCodec, type StreamIndex } from './stream-index.js';
import { playTelemetryPass, telemetryLanes, type TelemetryLane } from './play-telemetry.js';
import type { LcmMessageType } from '../wire/lcm-struct-codec.js';

/** Playback rates `playRecording` accepts: 1000 times slower to 1000 times faster. */
export const SPEED_RANGE = { min: 0.001, max: 1000 } as const;

/** How to play a recording. */
export interface PlayOptions extends RecordingReaderOptions {
  /** Streams to play. Default: every video stream. */
  streams?: readonly string[];
  /** Rate: 2 plays twice as fast; within `SPEED_RANGE`. Default 1. */
  speed?: number;
  /** Start again at the end, until `signal` aborts. Default false. */
  loop?: boolean;
  /** Prepended to each stream name to form its bus topic. Default none. */
  topicPrefix?: string;
  /** Stops playback. */
  signal?: AbortSignal;
  /**
   * Telemetry types (e.g. `loadLcmTypes(…).types`): recorded telemetry channels of these types
   * are republished as LCM messages on their topics, with their original timing.
   */
  types?: readonly LcmMessageType<unknown>[];
  /** Called after each packet: packets published so far (and the total of one pass). */
  onProgress?: (published: number, perPass: number) => void;
}

/** What playing a recording on a bus did. */
export interface PlaySummary {
  /** Packets published, all passes and streams together. */
  packets: number;
  /** Completed passes through the recording. */
  passes: number;
  /** The topics played, by stream name. */
  topics: Record<string, string>;
  /** Telemetry messages republished, when `types` was given. */
  telemetry?: number;
}

interface Lane {
  info: StreamIndex;
  topic: VideoTopic;
  packets: AsyncGenerator<unknown>;
  next: VideoPacket | undefined;
  sequence: number;
}

/**
 * Publishes the video streams of a recording onto a bus with their original timing (scaled
 * by `speed`), as ready packets: nothing is re-encoded. Sequence numbers are renumbered per
 * topic so they rise by one across loops, and each loop's timestamps are shifted by the
 * recording's length so they keep rising too.
 * @throws NotFoundError for an unknown stream; InvalidArgumentError for a non-video stream,
 *   a bad speed or a recording with no video.
 */
export async function playRecording(path: string, bus: Bus, options: PlayOptions = {}): Promise<PlaySummary> {
  const speed = options.speed ?? 1;
  if (!(Number.isFinite(speed) && speed >= SPEED_RANGE.min && speed <= SPEED_RANGE.max)) {
    throw new InvalidArgumentError(`speed must be a positive number from ${SPEED_RANGE.min} to ${SPEED_RANGE.max}, got ${String(options.speed)}.`);
  }
  const reader = await RecordingReader.open(path, options);
  const lanes: Lane[] = [];
  let telemetry: TelemetryLane[] = [];
  let telemetryPublished = 0;
  const summary = (packets: number, passes: number, topics: Record<string, string>): PlaySummary =>
    options.types ? { packets, passes, topics, telemetry: telemetryPublished } : { packets, passes, topics };
  try {
    const all = await reader.streams();
    const chosen = options.streams ? await Promise.all(options.streams.map((n) => reader.stream(n))) : all.filter((s) => isVideoStreamCodec(s.codec));
    for (const info of chosen) {
      if (!isVideoStreamCodec(info.codec)) throw new InvalidArgumentError(`Stream ${info.name} is ${info.codec}; only video streams play onto a bus.`);
    }
    if (chosen.length === 0) throw new InvalidArgumentError(`${path} has no video stream to play.`);
    const topics = Object.fromEntries(chosen.map((s) => [s.name, `${options.topicPrefix ?? ''}${s.name}`]));
    const start = chosen.reduce((m, s) => (s.start < m ? s.start : m), chosen[0].start);
    const end = chosen.reduce((m, s) => (s.end > m ? s.end : m), chosen[0].end);
    const longest = chosen.reduce((a, b) => (b.frames > a.frames ? b : a));
    const period = longest.frames > 1 ? (longest.end - longest.start) / BigInt(longest.frames - 1) : 33_333_333n;
    const passLength = end - start + period;
    const perPass = chosen.reduce((n, s) => n + s.frames, 0);
    for (const info of chosen) lanes.push({ info, topic: bus.video(topics[info.name]), packets: reader.packets(info.name), next: undefined, sequence: 0 });
    if (options.types) telemetry = await telemetryLanes(path, bus, options.types, options.topicPrefix);

    let published = 0;
    let passes = 0;
    const t0 = performance.now();
    for (;;) {
      const shift = BigInt(passes) * passLength;
      const telemetryPass = playTelemetryPass(telemetry, { start, shift, t0, speed, signal: options.signal });
      for (const lane of lanes) {
        if (passes > 0) lane.packets = reader.packets(lane.info.name);
        lane.next = (await lane.packets.next()).value as VideoPacket | undefined;
      }
      for (;;) {
        if (options.signal?.aborted) {
          telemetryPublished += await telemetryPass;
          return summary(published, passes, topics);
        }
        let lane: Lane | undefined;
        for (const l of lanes) if (l.next && (!lane || l.next.timestamp < lane.next!.timestamp)) lane = l;
        if (!lane) break;
        const packet = lane.next!;
        const due = Number(packet.timestamp + shift - start) / 1e6 / speed;
        // A slow speed can put a packet weeks away: wait in steps a timer can take.
        for (let wait = due - (performance.now() - t0); wait > 0 && !options.signal?.aborted; wait = due - (performance.now() - t0)) {
          await sleep(Math.min(wait, MAX_TIMER_MS), undefined, { signal: options.signal }).catch(() => undefined);
        }
        if (options.signal?.aborted) {
          telemetryPublished += await telemetryPass;
          return summary(published, passes, topics);
        }
        await lane.topic.publishPacket({ ...packet, sequence: lane.sequence++, timestamp: packet.timestamp + shift });
        published++;
        options.onProgress?.(published, perPass);
        lane.next = (await lane.packets.next()).value as VideoPacket | undefined;
      }
      telemetryPublished += await telemetryPass;
      passes++;
      if (!options.loop) return summary(published, passes, topics);
    }
  } finally {
    for (const lane of lanes) {
      await lane.packets.return(undefined);
      await lane.topic.close();
    }
    await reader.close();
  }
}
