import { FramebusError, InvalidArgumentError, TransportError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { VideoPacket } from '../core/packet.js';
import { absoluteNow } from './segment-packager.js';
import { SegmentChannel } from './segment-channel.js';
import { audioSamples, checkFrame, frameCommand, packetCommand } from './segment-handoff.js';
import { checkStreamerOptions, checkTrim } from './segment-options.js';
import { SegmentTimer } from './segment-timer.js';
import type {
  Segment,
  SegmentAudio,
  SegmentInput,
  SegmentStreamerOptions,
  StreamEvent,
  StreamEventListener,
  StreamerCloseResult,
  WorkerCommand,
  WorkerReply,
} from './segment-types.js';

interface SegmentState {
  readonly index: number;
  readonly timer: SegmentTimer;
  trimFrames: number;
  trimSamples: number;
  video: number;
  ended: boolean;
  /** Commands held until the worker starts this segment. */
  held: { command: WorkerCommand; transfer: ArrayBuffer[] }[];
}

/** What a segment handle needs from its streamer. */
interface SegmentPort {
  width: number;
  height: number;
  audio: SegmentStreamerOptions['audio'];
  send(state: SegmentState, message: { command: WorkerCommand; transfer: ArrayBuffer[] }): void;
  /** Hands over a checked frame or float32 PCM (copied: the producer may reuse its buffers; `samples` may be the producer's). */
  frame(state: SegmentState, frame: Frame): void;
  pcm(state: SegmentState, samples: Float32Array): void;
  discard(state: SegmentState): void;
  /** No segment may follow. */
  finalize(): void;
  throwIfEnded(): void;
}

class SegmentHandle implements Segment {
  constructor(
    private readonly port: SegmentPort,
    private readonly state: SegmentState,
  ) {}

  get index(): number {
    return this.state.index;
  }

  addFrame(frame: Frame): void {
    const s = this.open();
    if (s.trimFrames > 0) {
      s.trimFrames--;
      return;
    }
    checkFrame(s.index, frame, this.port.width, this.port.height);
    this.port.frame(s, frame);
    s.video++;
  }

  addPacket(packet: VideoPacket): void {
    const s = this.open();
    if (s.trimFrames > 0) {
      s.trimFrames--;
      return;
    }
    this.port.send(s, packetCommand(s.index, packet));
    s.video++;
  }

  addAudio(audio: SegmentAudio): void {
    const s = this.open();
    const total = (audio?.samples?.length ?? 0) / (audio?.channels || 1);
    const samples = audioSamples(s.index, audio, this.port.audio, s.trimSamples);
    s.trimSamples = Math.max(0, s.trimSamples - total);
    if (samples.length > 0) this.port.pcm(s, samples);
  }

  end(options: { final?: boolean } = {}): void {
    const s = this.open();
    s.ended = true;
    if (s.video === 0) {
      this.port.discard(s);
      throw new InvalidArgumentError(`Segment ${s.index} has no video frames${s.trimFrames === 0 ? '' : ' after trimming'}; it was dropped.`);
    }
    if (options.final) this.port.finalize();
    this.port.send(s, { command: { type: 'end', segment: s.index, final: options.final === true }, transfer: [] });
  }

  private open(): SegmentState {
    this.port.throwIfEnded();
    if (this.state.ended) throw new InvalidArgumentError(`Segment ${this.state.index} has ended.`);
    return this.state;
  }
}

/**
 * Streams generated video as live fragmented MP4. A producer hands over segments (frames or
 * ready packets, plus optional PCM); each call returns at once with the data copied. One
 * ordered worker thread encodes every segment once (a key frame at each segment start) and
 * packages it on one continuous timeline, emitting in order: `init` once, `chunk` per
 * `moof`+`mdat` fragment, `complete` per segment with its timings, and `error` when a segment
 * fails, which also aborts `signal` and ends the stream.
 */
export class SegmentStreamer {
  /** Aborted (with the cause) when packaging fails: generation should stop. */
  readonly signal: AbortSignal;
  readonly width: number;
  readonly height: number;
  /** Empty segments ended and dropped so far. */
  emptySegments = 0;
  /** Queued segments dropped by `overflow: 'drop-oldest'` so far. */
  droppedSegments = 0;

  private readonly controller: AbortController;
  private readonly channel: SegmentChannel;
  private readonly maxQueued: number;
  private readonly listeners = new Map<string, Set<(event: StreamEvent) => void>>();
  private nextIndex = 0;
  private active: SegmentState | undefined;
  private readonly waiting: SegmentState[] = [];
  private producing: SegmentState | undefined;
  private slotWaiters: (() => void)[] = [];
  private completed = 0;
  private finalized = false;
  private cause: Error | undefined;
  private finished = false;
  private onIdle: (() => void) | undefined;
  private onClosed: (() => void) | undefined;
  private readonly port: SegmentPort;
  private markReady!: () => void;
  /** Resolves when the worker has loaded and opened its encoders; handing over earlier is fine (it is queued). */
  readonly ready: Promise<void> = new Promise((resolve) => (this.markReady = resolve));

  private constructor(readonly options: SegmentStreamerOptions) {
    this.width = options.width;
    this.height = options.height;
    this.maxQueued = options.maxQueued ?? 2;
    this.port = {
      width: options.width,
      height: options.height,
      audio: options.audio,
      send: (state, message) => this.send(state, message),
      frame: (state, frame) => (state === this.active ? this.channel.frame(state.index, frame) : state.held.push(frameCommand(state.index, frame))),
      pcm: (state, samples) => {
        if (state === this.active) return this.channel.audio(state.index, samples);
        const own = samples.slice();
        state.held.push({ command: { type: 'audio', segment: state.index, samples: own }, transfer: [own.buffer] });
      },
      discard: (state) => this.discard(state),
      finalize: () => (this.finalized = true),
      throwIfEnded: () => this.throwIfEnded(),
    };
    this.controller = options.abortController ?? new AbortController();
    this.signal = this.controller.signal;
    const layout = options.frameFormat && { width: options.width, height: options.height, format: options.frameFormat };
    this.channel = new SegmentChannel(options.fps ?? 30, this.maxQueued, layout);
    this.channel.worker.on('message', (reply: WorkerReply) => this.receive(reply));
    this.channel.worker.on('error', (error) => this.fail(-1, error instanceof FramebusError ? error : new TransportError(`The packaging worker failed: ${error.message}`, { cause: error })));
    this.channel.worker.on('exit', () => {
      if (!this.finished) this.fail(-1, new TransportError('The packaging worker exited unexpectedly.'));
    });
    const open: WorkerCommand = { type: 'open', options: { ...options, abortController: undefined, fps: options.fps ?? 30, fragmentFrames: options.fragmentFrames ?? 3 } };
    this.channel.post(open);
  }

  /**
   * Starts a stream and its worker.
   * @throws InvalidArgumentError for bad options.
   */
  static create(options: SegmentStreamerOptions): SegmentStreamer {
    checkStreamerOptions(options);
    return new SegmentStreamer(options);
  }

  /** Listens for one kind of event. Events arrive in stream order on the producer's thread. */
  on<T extends StreamEvent['type']>(type: T, listener: StreamEventListener<T>): this {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as (event: StreamEvent) => void);
    return this;
  }

  off<T extends StreamEvent['type']>(type: T, listener: StreamEventListener<T>): this {
    this.listeners.get(type)?.delete(listener as (event: StreamEvent) => void);
    return this;
  }

  /**
   * Begins the next segment. Waits while `maxQueued` segments are queued (or, with
   * `overflow: 'drop-oldest'`, drops the oldest queued one and emits `warning`).
   * @throws InvalidArgumentError while the previous segment is not ended; the stream's error once it failed.
   */
  async beginSegment(options: { trimFrames?: number; trimSamples?: number } = {}): Promise<Segment> {
    const trimFrames = checkTrim('trimFrames', options.trimFrames);
    const trimSamples = checkTrim('trimSamples', options.trimSamples);
    this.throwIfEnded();
    if (this.finalized) throw new InvalidArgumentError('The stream ended with a final segment; no segment may follow.');
    if (this.producing && !this.producing.ended) throw new InvalidArgumentError(`End segment ${this.producing.index} before beginning another.`);
    while (this.waiting.length >= this.maxQueued) {
      if (this.options.overflow === 'drop-oldest') {
        const dropped = this.waiting.shift()!;
        this.droppedSegments++;
        this.emit({ type: 'warning', segment: dropped.index, message: `Segment ${dropped.index} dropped: ${this.maxQueued} segment(s) were queued (${this.droppedSegments} dropped so far).` });
      } else {
        await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
        this.throwIfEnded();
      }
    }
    const state: SegmentState = { index: this.nextIndex++, timer: new SegmentTimer(absoluteNow()), trimFrames, trimSamples, video: 0, ended: false, held: [] };
    this.producing = state;
    if (this.active) this.waiting.push(state);
    else this.start(state);
    return new SegmentHandle(this.port, state);
  }

  /** Hands over a whole segment: begin, every frame or packet, the audio, end. Returns the segment index. */
  async writeSegment(input: SegmentInput): Promise<number> {
    const segment = await this.beginSegment({ trimFrames: input.trimFrames, trimSamples: input.trimSamples });
    for (const frame of input.frames ?? []) segment.addFrame(frame);
    for (const packet of input.packets ?? []) segment.addPacket(packet);
    if (input.audio) segment.addAudio(input.audio);
    segment.end({ final: input.final });
    return segment.index;
  }

  /** Posts a command for a segment now, or holds it until the worker starts the segment. */
  private send(state: SegmentState, message: { command: WorkerCommand; transfer: ArrayBuffer[] }): void {
    if (state === this.active) this.channel.post(message.command, message.transfer);
    else state.held.push(message);
  }

  /** Drops an empty segment. */
  private discard(state: SegmentState): void {
    this.emptySegments++;
    const at = this.waiting.indexOf(state);
    if (at >= 0) this.waiting.splice(at, 1);
    else if (state === this.active) this.channel.post({ type: 'discard', segment: state.index });
  }

  private throwIfEnded(): void {
    if (this.cause) throw this.cause;
    if (this.finished) throw new InvalidArgumentError('This segment streamer is closed.');
  }

  private start(state: SegmentState): void {
    this.active = state;
    this.channel.post({ type: 'begin', segment: state.index, at: absoluteNow() });
    for (const m of state.held) this.channel.post(m.command, m.transfer);
    state.held = [];
  }

  private next(): void {
    this.active = undefined;
    const state = this.waiting.shift();
    if (state) this.start(state);
    this.slotWaiters.shift()?.();
    if (!this.active) this.onIdle?.();
  }

  private receive(reply: WorkerReply): void {
    if (this.finished && reply.type !== 'closed') return;
    switch (reply.type) {
      case 'ready':
        this.markReady();
        return;
      case 'init':
        this.emit({ type: 'init', bytes: reply.bytes, mimeType: reply.mimeType, codecs: reply.codecs });
        return;
      case 'started':
        this.active?.timer.started(reply.at);
        return;
      case 'chunk':
        this.active?.timer.chunk(reply.at, reply.bytes.byteLength);
        this.emit({ type: 'chunk', segment: reply.segment, bytes: reply.bytes, startTime: reply.startTime, endTime: reply.endTime });
        return;
      case 'complete': {
        const timings = this.active!.timer.finish(reply);
        this.completed++;
        this.next();
        this.emit({ type: 'complete', segment: reply.segment, bytes: timings.bytes, timings });
        return;
      }
      case 'discarded':
        this.next();
        return;
      case 'error':
        this.fail(reply.segment, new FramebusError(reply.code, reply.message.startsWith(`Segment ${reply.segment} `) ? reply.message : `Segment ${reply.segment}: ${reply.message}`));
        return;
      case 'closed':
        this.onClosed?.();
        return;
    }
  }

  private fail(segment: number, cause: Error): void {
    if (this.cause || this.finished) return;
    this.cause = cause;
    this.emit({ type: 'error', segment: segment >= 0 ? segment : (this.active?.index ?? -1), message: cause.message, code: (cause as FramebusError).code ?? 'packaging' });
    this.controller.abort(cause);
    this.end();
  }

  private end(): void {
    this.finished = true;
    void this.channel.worker.terminate();
    for (const wake of this.slotWaiters.splice(0)) wake();
    this.markReady();
    this.onIdle?.();
    this.onClosed?.();
  }

  private emit(event: StreamEvent): void {
    for (const listener of this.listeners.get(event.type) ?? []) {
      try {
        listener(event);
      } catch (error) {
        // A listener's bug must not stop the stream's bookkeeping; surface it like any uncaught error.
        process.nextTick(() => {
          throw error;
        });
      }
    }
  }

  /**
   * Finishes the queued segments and stops the worker. After `timeoutMs` (default 10000) the
   * worker is stopped wherever it is and the result names the segment that was cut. Never
   * hangs; an unended segment being produced is ended (or dropped when empty).
   */
  async close(options: { timeoutMs?: number } = {}): Promise<StreamerCloseResult> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!(Number.isFinite(timeoutMs) && timeoutMs >= 0)) throw new InvalidArgumentError(`timeoutMs must be a number ≥ 0, got ${String(timeoutMs)}.`);
    const result = (cut?: number): StreamerCloseResult => ({
      completed: this.completed,
      cut,
      abandoned: this.waiting.map((s) => s.index),
      dropped: this.droppedSegments,
      cause: this.cause,
    });
    if (this.finished) return result();
    const p = this.producing;
    if (p && !p.ended) {
      try {
        new SegmentHandle(this.port, p).end();
      } catch {
        // An empty last segment is dropped; nothing to package.
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const drained = (async () => {
      if (this.active) await new Promise<void>((resolve) => (this.onIdle = resolve));
      if (this.finished) return 'done' as const;
      const closed = new Promise<void>((resolve) => (this.onClosed = resolve));
      this.channel.post({ type: 'close' });
      await closed;
      return 'done' as const;
    })();
    const outcome = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    const cut = outcome === 'timeout' && !this.finished ? this.active?.index : undefined;
    const summary = result(cut);
    if (!this.finished) this.end();
    return summary;
  }
}
