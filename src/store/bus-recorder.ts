import type { Bus } from '../bus/bus.js';
import type { VideoTopic } from '../bus/video-topic.js';
import { FramebusError, InvalidArgumentError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import { MAX_TIMER_MS } from '../core/time.js';
import { Recording, type RecordingOptions, type RecordingStream, type RecordingSummary } from './recording.js';

/** Counters of one recorded topic. */
export interface TopicRecordStats {
  /** Packets stored. */
  packets: number;
  /** Payload bytes stored. */
  bytes: number;
  /** Packets the recording refused (size change, time going backwards); each is logged. */
  rejected: number;
  /** Packets the bus subscription dropped or never received (gaps in sequence numbers). */
  lost: number;
}

/** How to record a bus. */
export interface BusRecorderOptions extends RecordingOptions {
  /** Video topics to record; each becomes a stream of the same name. */
  topics: readonly string[];
  /** Receives one line per refused packet. Default: stderr. */
  log?: (message: string) => void;
}

/**
 * Records video topics of a bus: every packet as published (the subscription starts at a
 * key packet, with the publisher's cached GOP), stored byte for byte with its sequence number
 * and frame id, one stream per topic. Stop it with `stop()`.
 */
export class BusRecorder {
  /** Per-topic counters. */
  readonly stats: Record<string, TopicRecordStats> = {};
  private readonly topics: VideoTopic[] = [];
  private readonly streams = new Map<string, RecordingStream>();
  private readonly lastSequence = new Map<string, number>();
  private stopping: Promise<RecordingSummary> | undefined;

  private constructor(
    private readonly recording: Recording,
    private readonly log: (message: string) => void,
  ) {}

  /**
   * Subscribes to the topics and starts recording into a new file.
   * @throws InvalidArgumentError for no topics or a duplicate; the file errors of `Recording.create`.
   */
  static async start(bus: Bus, path: string, options: BusRecorderOptions): Promise<BusRecorder> {
    const names = options.topics;
    if (!Array.isArray(names) || names.length === 0) throw new InvalidArgumentError('Give at least one video topic to record.');
    if (new Set(names).size !== names.length) throw new InvalidArgumentError(`A topic is listed twice: ${names.join(', ')}.`);
    const recorder = new BusRecorder(await Recording.create(path, options), options.log ?? ((m) => process.stderr.write(`framebus: ${m}\n`)));
    for (const name of names) {
      recorder.stats[name] = { packets: 0, bytes: 0, rejected: 0, lost: 0 };
      const topic = bus.video(name);
      recorder.topics.push(topic);
      topic.subscribePackets((packet) => recorder.store(name, packet));
    }
    return recorder;
  }

  private async store(name: string, packet: VideoPacket): Promise<void> {
    if (this.stopping) return;
    const stats = this.stats[name];
    let stream = this.streams.get(name);
    if (!stream) {
      stream = this.recording.addStream(name, { codec: packet.codec });
      this.streams.set(name, stream);
    }
    const before = stream.frames;
    try {
      await stream.writePacket(packet);
    } catch (error) {
      if (!(error instanceof FramebusError) || error.code !== 'invalid-argument') throw error;
      stats.rejected++;
      this.log(`Topic ${name}: packet ${packet.sequence} not recorded: ${error.message}`);
      return;
    }
    const expected = before === 0 ? packet.sequence : this.lastSequence.get(name)! + 1;
    if (packet.sequence > expected) stats.lost += packet.sequence - expected;
    this.lastSequence.set(name, packet.sequence);
    stats.packets++;
    stats.bytes += packet.data.byteLength;
  }

  /** Unsubscribes, writes what is pending and finishes the file. Idempotent. */
  stop(): Promise<RecordingSummary> {
    this.stopping ??= (async () => {
      await Promise.all(this.topics.map((t) => t.close()));
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
