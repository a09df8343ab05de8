import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { frameFromPacked, type Frame } from '../core/frame.js';
import { copyPacked } from '../media/frame-ring.js';
import { SegmentFeed } from '../media/fmp4-source.js';
import { absoluteNow } from '../media/segment-packager.js';
import { SegmentStreamer } from '../media/segment-streamer.js';
import { serveFmp4 } from '../server/fmp4-server.js';
import { SyntheticSource } from '../source/synthetic-source.js';

/** The fMP4 benchmark's stream: 640x480, 30 fps, 2 s segments, 48 kHz stereo. */
export const WIDTH = 640;
export const HEIGHT = 480;
export const FPS = 30;
export const SEGMENT_FRAMES = 60;
export const RATE = 48000;
export const PCM_PER_FRAME = RATE / FPS;

/** `frames` video frames' worth of a 440 Hz stereo tone (interleaved float32), from sample `from`, written into `out` when given. */
export function tone(frames: number, from: number, out = new Float32Array(frames * PCM_PER_FRAME * 2)): Float32Array {
  const n = frames * PCM_PER_FRAME;
  for (let i = 0; i < n; i++) out[2 * i] = out[2 * i + 1] = 0.2 * Math.sin((2 * Math.PI * 440 * (from + i)) / RATE);
  return out;
}

/** One segment of the synthetic scene as packed RGB frames. */
export async function scene(): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of new SyntheticSource({ width: WIDTH, height: HEIGHT, fps: FPS, frames: SEGMENT_FRAMES })) {
    frames.push(frameFromPacked(f.planes[0].data.slice(), { width: WIDTH, height: HEIGHT, format: 'rgb24', timestamp: 0n }));
  }
  return frames;
}

/** Runs `call` and appends how long it took, ms. */
export function timed(call: () => void, into: number[]): void {
  const t = performance.now();
  call();
  into.push(performance.now() - t);
}

/**
 * The reference a handoff is compared with: a bare copy of the same bytes into the next of as
 * many slots as the streamer's ring has (two segments of frames), in memory written before, so
 * it meets the same caches and memory bandwidth as the ring's copy, without anything else.
 */
export class CopyReference {
  private readonly slots = new Uint8Array(WIDTH * HEIGHT * 3 * SEGMENT_FRAMES * 2).fill(1);
  private next = 0;

  copy(data: Frame | Float32Array): void {
    const at = (this.next++ % (SEGMENT_FRAMES * 2)) * WIDTH * HEIGHT * 3;
    if (data instanceof Float32Array) this.slots.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    else copyPacked(data, this.slots, at);
  }
}

/**
 * Runs `step(i)` for `count` frames at 30 fps from frame `first` of a clock started at `start`
 * (ms, `performance.now()`), and returns the longest the event loop was blocked meanwhile, ms.
 */
async function watchStalls(count: number, start: number, first: number, step: (i: number) => void): Promise<number> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  for (let i = 0; i < count; i++) {
    const wait = start + ((first + i) * 1000) / FPS - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    step(i);
  }
  delay.disable();
  // The histogram's resolution (1 ms) is timer lateness any idle loop shows; above it is blocking.
  return Math.max(0, delay.max / 1e6 - 1);
}

/** What a producer process measured. */
export interface ProducerRun {
  /** Per measured 2 s segment (or idle period), the longest the producer's event loop was blocked, ms. */
  stalls: number[];
  /** When each frame was handed over, ms since the Unix epoch. */
  handedAt: number[];
  /** Each handoff call of the measured segments, ms. */
  handoffs: number[];
  /** The bare-copy reference beside each handoff, ms. */
  copies: number[];
}

/** What the producer process is asked to do (its role, in its environment). */
interface ProducerPlan {
  /** Segments (or idle periods) measured, after {@link WARMUP_SEGMENTS} that are not. */
  segments: number;
  audio: boolean;
  /** Hand over nothing and run no streamer or server: the idle reference. */
  idle: boolean;
}

/**
 * Segments run before the measured ones: a fresh process's first seconds are not an
 * application's steady state (code compiled on first use; a full collection the ring's 55 MB
 * of shared memory provokes, then V8's memory reducer, which follows a full collection by
 * about 8 s; the first segment stalled 34–74 ms without it).
 */
const WARMUP_SEGMENTS = 1;

type ToProducer = { type: 'go' } | { type: 'close' };
type FromProducer = { type: 'ready'; url?: string } | { type: 'result'; run: ProducerRun } | { type: 'failed'; message: string };

/**
 * A producer of generated video in a process of its own, as an application would run one: it
 * hands 2 s segments of frames (and audio) to a {@link SegmentStreamer} in real time and serves
 * them as live fMP4, while its event loop is watched. The benchmark's Chromium driver stays in
 * the parent: it receives every WebSocket frame the page gets as a DevTools event, and in the
 * producer's process its parsing and garbage would count as the producer's stalls.
 */
export class ProducerProcess {
  private readonly messages: FromProducer[] = [];
  private wake: () => void = () => {};
  private served: string | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: FromProducer) => {
      this.messages.push(m);
      this.wake();
    });
    child.on('exit', () => this.wake());
  }

  /** Starts a producer and waits until its streamer and server are ready. */
  static async start(plan: ProducerPlan): Promise<ProducerProcess> {
    // The same module runs the producer in the child; execArgv carries any TS loader.
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [ROLE_ENV]: JSON.stringify(plan) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const producer = new ProducerProcess(child);
    const ready = await producer.next();
    if (ready.type !== 'ready') {
      child.kill();
      throw new Error(`the fMP4 bench's producer process did not start: ${ready.type === 'failed' ? ready.message : ready.type}`);
    }
    producer.served = ready.url;
    return producer;
  }

  /** The live fMP4 server's URL (undefined for the idle reference). */
  get url(): string | undefined {
    return this.served;
  }

  /** Starts the real-time segments and resolves with what the producer measured. */
  async run(): Promise<ProducerRun> {
    this.send({ type: 'go' });
    const m = await this.next();
    if (m.type !== 'result') throw new Error(`the fMP4 bench's producer process failed: ${m.type === 'failed' ? m.message : m.type}`);
    return m.run;
  }

  /** Closes the producer's streamer and server and waits for the process to end. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.send({ type: 'close' });
    const timer = setTimeout(() => this.child.kill(), 10_000);
    await exited;
    clearTimeout(timer);
  }

  private send(message: ToProducer): void {
    if (this.child.connected) this.child.send(message);
  }

  private async next(): Promise<FromProducer> {
    for (;;) {
      const m = this.messages.shift();
      if (m) return m;
      if (this.child.exitCode !== null || this.child.signalCode !== null) return { type: 'failed', message: `it exited (${this.child.exitCode ?? this.child.signalCode})` };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** The producer's side, in the child process. */
async function producerMain(plan: ProducerPlan): Promise<void> {
  const send = (m: FromProducer) => process.send!(m);
  const commands: ToProducer[] = [];
  let wake: () => void = () => {};
  process.on('message', (m: ToProducer) => {
    commands.push(m);
    wake();
  });
  const command = async (type: ToProducer['type']) => {
    for (;;) {
      const at = commands.findIndex((c) => c.type === type);
      if (at >= 0) return void commands.splice(at, 1);
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  const frames = await scene();
  const run: ProducerRun = { stalls: [], handedAt: [], handoffs: [], copies: [] };
  if (plan.idle) {
    send({ type: 'ready' });
    await command('go');
    const start = performance.now();
    for (let s = 0; s < WARMUP_SEGMENTS + plan.segments; s++) {
      const stall = await watchStalls(SEGMENT_FRAMES, start, s * SEGMENT_FRAMES, () => {});
      if (s >= WARMUP_SEGMENTS) run.stalls.push(stall);
    }
    send({ type: 'result', run });
    await command('close');
    process.disconnect();
    return;
  }
  const streamer = SegmentStreamer.create({ width: WIDTH, height: HEIGHT, fps: FPS, frameFormat: 'rgb24', audio: plan.audio ? { sampleRate: RATE, channels: 2 } : undefined });
  const server = await serveFmp4(new SegmentFeed('bench', streamer), { port: 0 });
  try {
    await streamer.ready;
    send({ type: 'ready', url: server.url });
    await command('go');
    const reference = new CopyReference();
    // The producer's own audio buffer, reused for every frame: the handoff copies it.
    const samples = new Float32Array(PCM_PER_FRAME * 2);
    const start = performance.now();
    let n = 0;
    for (let s = 0; s < WARMUP_SEGMENTS + plan.segments; s++) {
      const segment = await streamer.beginSegment();
      const measured = s >= WARMUP_SEGMENTS;
      const stall = await watchStalls(frames.length, start, n, (i) => {
        run.handedAt.push(absoluteNow());
        timed(() => segment.addFrame(frames[i]), measured ? run.handoffs : []);
        timed(() => reference.copy(frames[i]), measured ? run.copies : []);
        if (!plan.audio) return;
        tone(1, (n + i) * PCM_PER_FRAME, samples);
        timed(() => segment.addAudio({ samples, sampleRate: RATE, channels: 2 }), measured ? run.handoffs : []);
        timed(() => reference.copy(samples), measured ? run.copies : []);
      });
      if (measured) run.stalls.push(stall);
      n += frames.length;
      segment.end();
    }
    send({ type: 'result', run });
    await command('close');
  } finally {
    await streamer.close({ timeoutMs: 5000 });
    await server.close();
    process.disconnect();
  }
}

/** Set in the producer child's environment: its {@link ProducerPlan} as JSON. */
const ROLE_ENV = 'FRAMEBUS_FMP4_BENCH_PRODUCER';

if (process.env[ROLE_ENV] && process.send) {
  producerMain(JSON.parse(process.env[ROLE_ENV]) as ProducerPlan).catch((error: Error) => {
    process.send!({ type: 'failed', message: error.message } satisfies FromProducer);
    process.exitCode = 1;
    process.disconnect();
  });
}
