import type { ChannelId } from '@foxglove/ws-protocol';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSocket } from 'ws';
import { InvalidArgumentError } from '../core/errors.js';
import type { RecordingReader, StreamInfo } from '../store/recording-reader.js';
import { isVideoStreamCodec, keyframeAtOrBefore } from '../store/stream-index.js';
import { encodeItem, type StreamItem } from '../store/stream-message.js';
import { ControlQueue, type QueueMode } from './control-queue.js';
import { imageChannel, jsonChannel, videoChannel } from './foxglove-channels.js';
import { FoxgloveSession } from './foxglove-session.js';
import { PLAYBACK_SCHEMA_NAME, PLAYBACK_STATE_SCHEMA, PLAYBACK_TOPIC, SERVICES, type PlaybackState, type RecordingIndex } from './replay-protocol.js';
import { ReplayTelemetry } from './replay-telemetry.js';
import type { SendLimits } from './send-gate.js';

/** Playback rates a viewer may ask for. */
const MIN_SPEED = 1 / 16;
const MAX_SPEED = 16;
/** How often a playing session tells the viewer its position, ms. */
const STATE_INTERVAL_MS = 250;
/** Most keyframe marks sent per stream in the index. */
const MAX_MARKS = 5000;
/** Most frames one step may move. */
const MAX_STEP = 1000;

/** What a replay session allows its viewer, and where it reports closing it. */
export interface ReplaySessionOptions {
  /** How much the viewer may leave unread, and for how long; defaults as in {@link SendLimits}. */
  readonly limits?: SendLimits;
  /** Receives one line if the viewer is closed for not reading. */
  readonly log?: (message: string) => void;
}

interface ReplayStream {
  readonly info: StreamInfo;
  readonly kind: 'video' | 'image';
  readonly channel: ChannelId;
}

function parseTime(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !/^[0-9]{1,20}$/.test(value)) {
    throw new InvalidArgumentError(`${what} must be a decimal string of ns since the Unix epoch.`);
  }
  return BigInt(value);
}

function requestObject(request: unknown): Record<string, unknown> {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new InvalidArgumentError('A request must be a JSON object.');
  }
  return request as Record<string, unknown>;
}

/**
 * One viewer replaying one recording: its own position, speed and play state. On a seek it
 * sends the playback state (with each stream's target frame) and then, per stream, the
 * packets from the key packet at or before the target up to the target, so the viewer can
 * draw exactly that frame; playing sends the packets after it paced by their timestamps.
 * Control calls run one at a time once the viewer's socket has room, and a seek replaces
 * the seeks still waiting, so a viewer that asks faster than it reads gets the latest answer
 * and server memory stays bounded.
 */
export class ReplaySession {
  private readonly session: FoxgloveSession;
  private readonly streams: ReplayStream[] = [];
  private telemetry: ReplayTelemetry | undefined;
  private playbackChannel: ChannelId = 0;
  private start = 0n;
  private end = 0n;
  private position = 0n;
  private seekId = 0;
  private playing = false;
  private speed = 1;
  /** Increments whenever playback is redirected; a play loop of an older epoch stops. */
  private epoch = 0;
  private readonly calls: ControlQueue;
  private closed = false;

  private constructor(
    ws: WebSocket,
    label: string,
    private readonly reader: RecordingReader,
    private readonly name: string,
    options: ReplaySessionOptions,
  ) {
    this.session = new FoxgloveSession(
      ws,
      label,
      { serverName: 'framebus replay', metadata: { mode: 'replay', recording: name }, services: true, limits: options.limits, log: options.log },
      {
        onClose: () => {
          this.closed = true;
          this.epoch++;
          this.calls.close();
          void reader.close();
        },
      },
    );
    this.calls = new ControlQueue(() => this.session.room());
  }

  /**
   * Starts replaying `reader` to a connected viewer, paused at the recording's start. Owns
   * the reader and closes it when the viewer leaves.
   */
  static async start(ws: WebSocket, label: string, reader: RecordingReader, name: string, options: ReplaySessionOptions = {}): Promise<ReplaySession> {
    const replay = new ReplaySession(ws, label, reader, name, options);
    await replay.open();
    return replay;
  }

  /** Closes the viewer's connection. */
  close(): void {
    this.session.close(1001, 'Server is shutting down');
  }

  private async open(): Promise<void> {
    const infos = (await this.reader.streams()).filter((s) => s.frames > 0 && s.codec !== 'raw');
    if (infos.length > 0) {
      this.start = infos.reduce((m, s) => (s.start < m ? s.start : m), infos[0].start);
      this.end = infos.reduce((m, s) => (s.end > m ? s.end : m), infos[0].end);
    }
    this.position = this.start;
    // Services first: the viewer asks for the index when it sees the playback channel.
    const service = (name: string, call: (r: Record<string, unknown>) => Promise<unknown>, properties: object = {}, mode?: (r: Record<string, unknown>) => QueueMode) =>
      this.session.addService({
        name,
        requestSchema: { type: 'object', properties },
        call: (request) => {
          const r = requestObject(request);
          return this.calls.push(() => call(r), mode?.(r));
        },
      });
    service(SERVICES.index, async () => this.index());
    // A seek to a time makes every seek and step still waiting before it pointless; a step is
    // relative, so it supersedes nothing.
    const seekMode = (r: Record<string, unknown>): QueueMode => ({ supersedable: true, supersedes: r.step === undefined });
    service(SERVICES.seek, (r) => this.seekRequest(r), { time_ns: { type: 'string' }, step: { type: 'integer' }, topic: { type: 'string' } }, seekMode);
    service(SERVICES.play, (r) => this.play(r.speed), { speed: { type: 'number' } });
    service(SERVICES.pause, async () => this.pause());
    this.playbackChannel = this.session.addChannel(jsonChannel(PLAYBACK_TOPIC, PLAYBACK_SCHEMA_NAME, PLAYBACK_STATE_SCHEMA));
    for (const info of infos) {
      const kind = isVideoStreamCodec(info.codec) ? 'video' : 'image';
      const channel = this.session.addChannel(kind === 'video' ? videoChannel(info.name) : imageChannel(info.name));
      this.streams.push({ info, kind, channel });
    }
    this.telemetry = await ReplayTelemetry.open(this.reader.path, this.session);
    this.session.sendTime(this.position);
  }

  private index(): RecordingIndex {
    return {
      name: this.name,
      start_ns: this.start.toString(),
      end_ns: this.end.toString(),
      streams: this.streams.map(({ info, kind }) => ({
        topic: info.name,
        kind,
        frames: info.frames,
        keyframes_ns: info.keyframes.slice(0, MAX_MARKS).map((k) => k.timestamp.toString()),
      })),
    };
  }

  private primary(topic?: unknown): ReplayStream {
    if (topic !== undefined) {
      const found = this.streams.find((s) => s.info.name === topic);
      if (!found) throw new InvalidArgumentError(`The recording has no stream ${JSON.stringify(topic)}.`);
      return found;
    }
    const first = this.streams.find((s) => s.kind === 'video') ?? this.streams[0];
    if (!first) throw new InvalidArgumentError('The recording has no streams to replay.');
    return first;
  }

  private async seekRequest(r: Record<string, unknown>): Promise<PlaybackState> {
    if (r.step !== undefined) {
      const step = r.step;
      if (!Number.isInteger(step) || step === 0 || Math.abs(step as number) > MAX_STEP) {
        throw new InvalidArgumentError(`step must be a non-zero whole number of frames from -${MAX_STEP} to ${MAX_STEP}.`);
      }
      const stream = this.primary(r.topic);
      this.playing = false;
      return this.seek((await this.stepFrom(stream, step as number)) ?? this.position, false);
    }
    return this.seek(parseTime(r.time_ns, 'time_ns'), this.playing);
  }

  private async play(speed: unknown): Promise<PlaybackState> {
    if (speed !== undefined) {
      if (typeof speed !== 'number' || !(speed >= MIN_SPEED && speed <= MAX_SPEED)) {
        throw new InvalidArgumentError(`speed must be a number from ${MIN_SPEED} to ${MAX_SPEED}.`);
      }
      this.speed = speed;
    }
    // Playing restarts at a key packet, so the viewer's decoder never resumes mid-GOP.
    return this.seek(this.position >= this.end ? this.start : this.position, true);
  }

  private async pause(): Promise<PlaybackState> {
    this.epoch++;
    this.playing = false;
    return this.sendState();
  }

  /** The timestamp `n` frames of `stream` after (n > 0) or before (n < 0) the position. */
  private async stepFrom(stream: ReplayStream, n: number): Promise<bigint | undefined> {
    const name = stream.info.name;
    if (n > 0) {
      let seen = 0;
      for await (const item of this.reader.packets(name, { start: this.position + 1n })) {
        if (++seen === n) return item.timestamp;
      }
      return undefined;
    }
    // Look back in growing windows until enough frames are found (bounded by the start).
    for (let window = 1_000_000_000n; ; window *= 4n) {
      const from = this.position - window > stream.info.start ? this.position - window : stream.info.start;
      const times: bigint[] = [];
      if (this.position > from) {
        for await (const item of this.reader.packets(name, { start: from, end: this.position - 1n })) times.push(item.timestamp);
      }
      if (times.length >= -n) return times[times.length + n];
      if (from === stream.info.start) return times[0];
    }
  }

  /** The items a viewer needs to draw `stream` at `t`: key packet … frame at or before `t`. */
  private async itemsTo(stream: ReplayStream, t: bigint): Promise<StreamItem[]> {
    const { info } = stream;
    if (t < info.start) return [];
    if (stream.kind === 'video') {
      const k = keyframeAtOrBefore(info.keyframes, t);
      if (k < 0) return [];
      const items: StreamItem[] = [];
      for await (const item of this.reader.packets(info.name, { start: info.keyframes[k].timestamp, end: t })) items.push(item);
      return items;
    }
    for (let window = 1_000_000_000n; ; window *= 4n) {
      const from = t - window > info.start ? t - window : info.start;
      let last: StreamItem | undefined;
      for await (const item of this.reader.packets(info.name, { start: from, end: t })) last = item;
      if (last || from === info.start) return last ? [last] : [];
    }
  }

  private async seek(t: bigint, play: boolean): Promise<PlaybackState> {
    const epoch = ++this.epoch;
    const clamped = t < this.start ? this.start : t > this.end ? this.end : t;
    const batches: StreamItem[][] = [];
    for (const s of this.streams) batches.push(await this.itemsTo(s, clamped));
    if (epoch !== this.epoch || this.closed) return this.state([]);
    const targets = this.streams.map((s, i) => ({ topic: s.info.name, timestamp_ns: batches[i].at(-1)?.timestamp.toString() ?? null }));
    const primary = this.streams.findIndex((s) => s === this.primary());
    const shown = batches[primary]?.at(-1)?.timestamp;
    this.position = shown ?? clamped;
    this.seekId++;
    this.playing = play;
    // State and time first, then the packets, in one go (the queue waited for room): the
    // viewer learns the targets before they arrive.
    const state = this.sendState(targets);
    this.session.sendTime(this.position);
    this.streams.forEach((s, i) => {
      for (const item of batches[i]) this.session.send(s.channel, item.timestamp, encodeItem(item, s.info.name));
    });
    this.telemetry?.seek(this.position);
    // Each stream resumes after the last packet it was sent, so no packet reaches a decoder twice.
    if (play) void this.playFrom(epoch, this.position, batches.map((b) => b.at(-1)?.timestamp ?? clamped));
    return state;
  }

  private state(targets: PlaybackState['targets']): PlaybackState {
    return { seek_id: this.seekId, playing: this.playing, speed: this.speed, position_ns: this.position.toString(), targets };
  }

  private sendState(targets: PlaybackState['targets'] = []): PlaybackState {
    const state = this.state(targets);
    this.session.send(this.playbackChannel, this.position, Buffer.from(JSON.stringify(state)));
    return state;
  }

  /**
   * Sends each stream's packets after `after[i]` at the pace of their timestamps (`from` plays
   * at once), until redirected or done.
   */
  private async playFrom(epoch: number, from: bigint, after: bigint[]): Promise<void> {
    const iterators = this.streams.map((s, i) => this.reader.packets(s.info.name, { start: after[i] + 1n }));
    try {
      const heads: IteratorResult<StreamItem>[] = [];
      for (const it of iterators) heads.push(await it.next());
      const wallStart = performance.now();
      let lastState = wallStart;
      for (;;) {
        let next = -1;
        heads.forEach((h, i) => {
          if (!h.done && (next < 0 || h.value.timestamp < (heads[next].value as StreamItem).timestamp)) next = i;
        });
        if (next < 0) break;
        const item = heads[next].value as StreamItem;
        const due = wallStart + Number(item.timestamp - from) / 1e6 / this.speed;
        // Short sleeps, so a pause or seek during a long gap in the recording takes effect at once.
        while (epoch === this.epoch && performance.now() < due) await sleep(Math.min(50, due - performance.now()));
        if (!(await this.session.room()) || epoch !== this.epoch) return;
        const stream = this.streams[next];
        this.session.send(stream.channel, item.timestamp, encodeItem(item, stream.info.name));
        this.telemetry?.advance(item.timestamp);
        if (stream === this.primary()) this.position = item.timestamp;
        if (performance.now() - lastState >= STATE_INTERVAL_MS) {
          lastState = performance.now();
          this.sendState();
          this.session.sendTime(item.timestamp);
        }
        heads[next] = await iterators[next].next();
      }
      if (epoch !== this.epoch) return;
      this.playing = false;
      this.sendState();
    } catch (error) {
      if (epoch !== this.epoch) return;
      this.playing = false;
      this.session.status('error', `Replay stopped: ${(error as Error).message}`);
      this.sendState();
    } finally {
      await Promise.all(iterators.map((it) => it.return(undefined).catch(() => undefined)));
    }
  }
}
