import type { Bus } from '../bus/bus.js';
import type { PacketGuardOptions } from '../bus/video/packet-guard.js';
import { RateLimitedLog } from '../bus/rate-limited-log.js';
import type { LogSink } from '../core/log.js';
import type { VideoSubscription } from '../bus/video/video-subscriber.js';
import type { VideoTopic } from '../bus/video/video-topic.js';
import { KeyframeGate } from '../codec/keyframe-gate.js';
import { FramebusError, InvalidArgumentError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import { MAX_TIMER_MS } from '../core/time.js';
import { Recording, type RecordingOptions, type RecordingStream, type RecordingSummary } from './recording.js';
import { topicRecordToMetadata, type TopicRecordStats } from './topic-record.js';
import { exactPattern } from '../bus/channel-pattern.js';
import type { RawMessage, Subscription } from '../bus/topic.js';
import type { LcmMessageType } from '../wire/lcm-struct-codec.js';
import type { TelemetryChannel } from './telemetry-channel.js';

export type { TopicRecordStats } from './topic-record.js';

/** How to record a bus. */
export interface BusRecorderOptions extends RecordingOptions {
  /** Video topics to record; each becomes a stream of the same name (and `<topic>@2`, … after a publisher restart). */
  topics: readonly string[];
  /** Receives rate-limited lines about packets not stored. Default: stderr. */
  log?: LogSink;
  /** Limits of the guard that drops forged and garbage packets before they are stored. */
  guard?: PacketGuardOptions;
  /**
   * Telemetry types (e.g. `loadLcmTypes(…).types`): a message on one of `topics` whose
   * fingerprint is one of these is stored as typed telemetry, JSON with a JSON Schema (see
   * `TelemetryChannel`), beside the topic's video if it has any.
   */
  types?: readonly LcmMessageType<unknown>[];
}

/** One recorded topic: its subscription, the stream its current segment goes to, and counts. */
interface TopicState {
  readonly name: string;
  readonly topic: VideoTopic;
  readonly subscription: VideoSubscription;
  /** Names of the streams stored so far, the current one last. */
  readonly streams: string[];
  stream: RecordingStream | undefined;
  /** The subscription's segment that `stream` holds. */
  segment: number;
  /** Admits only packets that decode in sequence within `stream`: after a gap or a refusal, nothing until the next key packet. */
  gate: KeyframeGate;
  /** Packets and payload bytes stored, over all segments. */
  packets: number;
  bytes: number;
  /** Packets refused here: by the recording, or out of sequence. */
  refused: number;
}

/**
 * Records video topics of a bus: every packet as published (the subscription starts at a
 * key packet, with the publisher's cached GOP), stored byte for byte with its sequence number
 * and frame id, one stream per topic. Stop it with `stop()`.
 *
 * What it stores decodes in sequence: the subscription's guard drops forged and garbage
 * packets (counted as `outliers`), and a packet is stored only when it continues the stored
 * sequence; after a gap or a packet the recording refused, nothing is stored until the next
 * key packet (counted as `dropped`).
 * When a publisher restarts (a new clock, sequence, size or codec), the topic continues in a
 * new stream, `<topic>@2`, then `<topic>@3`, …: a segment, with its own time range and
 * keyframe index, so Foxglove and every reader play each as an ordinary stream. Each
 * segment's channel names the topic's first stream in its `framebus.segment_of` metadata, and
 * when the recorder stops it writes one `framebus.topic-record` metadata record per topic
 * with its counts and streams (`framebus info` shows them).
 */
export class BusRecorder {
  private readonly topics = new Map<string, TopicState>();
  private stopping: Promise<RecordingSummary> | undefined;
  private readonly telemetry = new Map<string, TelemetryChannel>();
  private readonly rawSubscriptions: Subscription[] = [];
  private readonly writes = new Set<Promise<void>>();
  /** Telemetry messages that did not decode as the type their fingerprint names. */
  private telemetryDropped = 0;

  private constructor(
    private readonly recording: Recording,
    private readonly log: RateLimitedLog,
  ) {}

  /**
   * Subscribes to the topics and starts recording into a new file.
   * @throws InvalidArgumentError for no topics, a duplicate, or bad guard options; the file
   *   errors of `Recording.create`.
   */
  static async start(bus: Bus, path: string, options: BusRecorderOptions): Promise<BusRecorder> {
    const names = options.topics;
    if (!Array.isArray(names) || names.length === 0) throw new InvalidArgumentError('Give at least one video topic to record.');
    if (new Set(names).size !== names.length) throw new InvalidArgumentError(`A topic is listed twice: ${names.join(', ')}.`);
    const recorder = new BusRecorder(await Recording.create(path, options), new RateLimitedLog(options.log));
    for (const name of names) {
      const topic = bus.video(name);
      const subscription = topic.subscribePackets((packet, segment) => recorder.store(name, packet, segment), { guard: options.guard, log: options.log });
      recorder.topics.set(name, { name, topic, subscription, streams: [], stream: undefined, segment: 0, gate: new KeyframeGate(), packets: 0, bytes: 0, refused: 0 });
    }
    const byFingerprint = new Map((options.types ?? []).map((t) => [t.fingerprint, t]));
    if (byFingerprint.size > 0) {
      for (const name of names) recorder.rawSubscriptions.push(bus.subscribeRaw(exactPattern(name), (m) => recorder.storeTelemetry(m, byFingerprint)));
    }
    return recorder;
  }

  /** Telemetry messages stored, by topic and type (`topic (package.name)`), and those dropped as undecodable. */
  get telemetryStats(): { stored: Record<string, number>; dropped: number } {
    const stored: Record<string, number> = {};
    for (const [key, channel] of this.telemetry) stored[key] = channel.messages;
    return { stored, dropped: this.telemetryDropped };
  }

  private storeTelemetry(message: RawMessage, types: ReadonlyMap<bigint, LcmMessageType<unknown>>): void {
    const type = message.fingerprint === undefined ? undefined : types.get(message.fingerprint);
    if (!type || this.stopping) return;
    let value: unknown;
    try {
      value = type.decode(message.payload());
    } catch (error) {
      this.telemetryDropped++;
      this.log.log(`${message.topic}:telemetry`, `Topic ${message.topic}: a ${type.name} message not recorded: ${(error as Error).message}`);
      return;
    }
    const key = `${message.topic} (${type.name})`;
    let channel = this.telemetry.get(key);
    if (!channel) {
      channel = this.recording.addTelemetry(message.topic, type);
      this.telemetry.set(key, channel);
    }
    const write = channel
      .write(message.receivedAt, value)
      .catch((error: Error) => {
        this.telemetryDropped++;
        this.log.log(`${message.topic}:telemetry`, `Topic ${message.topic}: a ${type.name} message not recorded: ${error.message}`);
      })
      .finally(() => this.writes.delete(write));
    this.writes.add(write);
  }

  /** Per-topic counters, as of now. */
  get stats(): Record<string, TopicRecordStats> {
    const out: Record<string, TopicRecordStats> = {};
    for (const t of this.topics.values()) {
      const s = t.subscription.stats;
      out[t.name] = {
        packets: t.packets,
        bytes: t.bytes,
        outliers: s.outliers,
        dropped: t.refused + s.undecodable + s.dropped,
        lost: s.lost,
        streams: [...t.streams],
      };
    }
    return out;
  }

  private async store(name: string, packet: VideoPacket, segment: number): Promise<void> {
    if (this.stopping) return;
    const t = this.topics.get(name)!;
    if (segment !== t.segment) {
      t.segment = segment;
      t.stream = undefined;
      t.gate = new KeyframeGate();
    }
    if (!t.gate.admit(packet)) {
      t.refused++;
      return;
    }
    const stream = (t.stream ??= this.newStream(t, packet));
    try {
      await stream.writePacket(packet);
    } catch (error) {
      if (!(error instanceof FramebusError) || error.code !== 'invalid-argument') throw error;
      t.refused++;
      t.gate.reject(packet.sequence, error);
      this.log.log(`${name}:refused`, `Topic ${name}: packet ${packet.sequence} not recorded: ${error.message}`);
      return;
    }
    if (t.streams.at(-1) !== stream.name) t.streams.push(stream.name);
    t.packets++;
    t.bytes += packet.data.byteLength;
  }

  /** The stream of the topic's next segment: the topic's name first, then `<topic>@2`, … (skipping names taken). */
  private newStream(t: TopicState, packet: VideoPacket): RecordingStream {
    for (let n = t.streams.length + 1; ; n++) {
      const name = n === 1 ? t.name : `${t.name}@${n}`;
      if (this.recording.stream(name)) continue;
      return this.recording.addStream(name, { codec: packet.codec, segmentOf: n === 1 ? undefined : t.name });
    }
  }

  /** Unsubscribes, writes what is pending and each topic's counts, and finishes the file. Idempotent. */
  stop(): Promise<RecordingSummary> {
    this.stopping ??= (async () => {
      for (const s of this.rawSubscriptions) s.unsubscribe();
      await Promise.all([...this.topics.values()].map((t) => t.topic.close()));
      await Promise.all([...this.writes]);
      const stats = this.stats;
      for (const [name, s] of Object.entries(stats)) await this.recording.addMetadata(topicRecordToMetadata(name, s));
      return this.recording.close();
    })();
    return this.stopping;
  }
}

/**
 * Records video topics of a bus for `duration` seconds (or until `signal` aborts), calling
 * `onProgress` about once a second.
 */
export async function recordBus(
  bus: Bus,
  path: string,
  options: BusRecorderOptions & { duration?: number; signal?: AbortSignal; onProgress?: (stats: Record<string, TopicRecordStats>) => void },
): Promise<RecordingSummary> {
  if (options.duration !== undefined && !(Number.isFinite(options.duration) && options.duration > 0 && options.duration <= MAX_TIMER_MS / 1000)) {
    throw new InvalidArgumentError(`duration must be a number of seconds > 0 and ≤ ${MAX_TIMER_MS / 1000} (24.8 days), got ${String(options.duration)}.`);
  }
  if (options.duration === undefined && !options.signal) throw new InvalidArgumentError('Give a duration or an abort signal, or the recording never ends.');
  const recorder = await BusRecorder.start(bus, path, options);
  await new Promise<void>((resolve) => {
    const finish = () => {
      clearInterval(ticker);
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', finish);
      resolve();
    };
    const ticker = setInterval(() => options.onProgress?.(recorder.stats), 1000);
    const timer = options.duration === undefined ? undefined : setTimeout(finish, options.duration * 1000);
    if (options.signal?.aborted) finish();
    options.signal?.addEventListener('abort', finish);
  });
  options.onProgress?.(recorder.stats);
  return recorder.stop();
}
