import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CodecError, fileSystemError, InvalidArgumentError } from '../core/errors.js';
import { packedSize, type Frame, type PixelFormat } from '../core/frame.js';
import { logToStderr, type LogSink } from '../core/log.js';
import { partialFilesOf } from '../core/output-file.js';
import type { VideoPacket } from '../core/packet.js';
import type { CameraEncoderSettings, CameraWorkerData, CameraWorkerSummary, FromCameraWorker, ToCameraWorker } from './camera-encoder-protocol.js';
import { copyPacked, FrameRing } from './frame-ring.js';

export type { CameraEncoderSettings } from './camera-encoder-protocol.js';

/** How a `StreamingVideoEncoder` encodes. Codec options are `encode`'s, with dataset defaults. */
export interface StreamingVideoEncoderOptions extends CameraEncoderSettings {
  /**
   * Frames each camera's queue holds while its encoder is busy. A frame that finds the queue
   * full is dropped (counted, and warned about). Default 16, about half a second at 30 fps.
   */
  queueSize?: number;
  /** Receives drop warnings and encoder notices. Default: stderr. */
  log?: LogSink;
  /**
   * Receives every encoded packet on the caller's thread, in order per camera (e.g. to store
   * them in a recording). Without it packets only go to the episode's files.
   */
  onPacket?: (key: string, packet: VideoPacket) => void;
  /**
   * Nice value of the encoder threads, 0 (normal) to 19 (lowest). Default 10: when the CPU is
   * short the caller's loop keeps its pace and the encoders drop frames. Linux only.
   */
  encoderNice?: number;
}

/** What one camera recorded in an episode (`finishEpisode`). */
export interface CameraEpisodeResult extends CameraWorkerSummary {
  key: string;
  /** Frames dropped because the camera's queue was full. */
  dropped: number;
}

/** The frame layout of a camera, fixed by its first frame in an episode. */
interface Layout {
  width: number;
  height: number;
  format: PixelFormat;
}

interface Waiter {
  resolve: (m: FromCameraWorker) => void;
  reject: (e: Error) => void;
}

interface Camera {
  key: string;
  worker: Worker;
  /** Shared with the worker: `[0]` = 1 asks it to skip queued frames (see CameraWorkerData). */
  control: Int32Array;
  stopped: Promise<void>;
  /** The episode's queue, made at the camera's first frame. */
  ring?: FrameRing;
  layout?: Layout;
  lastTimestamp?: bigint;
  dropped: number;
  failure?: CodecError;
  waiters: Map<string, Waiter>;
  exited: boolean;
}

const KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/**
 * How long a worker gets to end by itself, in ms, before it is terminated: terminating a
 * thread inside an FFmpeg call aborts the whole process, so it is only the last resort for a
 * hung encoder.
 */
const STOP_WAIT_MS = 10_000;

/**
 * x264/x265 at `ultrafast` unless told otherwise: a live recorder must keep up, and
 * `cameras_realtime` (3 cameras, 640x480, 30 fps, 2 cores under load 14–18) dropped 806 of 5400
 * frames at `veryfast`, 46 at `ultrafast` (x264 CPU per frame 1.9 ms instead of 6.5 ms; files
 * about 1.5x larger at the same CRF). Other encoders keep their own defaults.
 */
function defaultPreset(o: CameraEncoderSettings): string | undefined {
  const x26x = o.encoder === undefined ? [undefined, 'h264', 'h265', 'auto'].includes(o.codec) : ['libx264', 'libx265'].includes(o.encoder);
  return x26x ? 'ultrafast' : undefined;
}

/**
 * Starts the worker module beside this one: the built `.js`, or from source the `.ts`
 * through tsx, whose `--import` hook Node 20 does not apply inside worker threads.
 */
function startWorker(workerData: CameraWorkerData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./camera-encoder-worker.js', import.meta.url), { workerData });
  const entry = new URL('./camera-encoder-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`, { eval: true, workerData });
}

/**
 * Encodes several cameras at once while a robot loop runs, like LeRobot's
 * `StreamingVideoEncoder`: one encoder per camera in its own worker thread, fed through a
 * bounded queue in shared memory (`FrameRing`). `feedFrame` copies the frame into a free slot
 * and returns at once, without a message or a lock: the caller's thread never encodes and
 * never waits. A frame that finds its
 * camera's queue full is dropped, counted, and reported through `log` on the 1st and every
 * 10th drop, naming the camera and what to change.
 *
 * Per episode (`startEpisode` … `finishEpisode`), each camera gets a file `<dir>/<key>.mp4`
 * (written atomically) and per-channel image statistics (`ImageStats`). Cameras that send
 * `gray16` frames (depth) are encoded losslessly with FFV1 into `<dir>/<key>.mkv`, whatever
 * the codec option says.
 *
 * Defaults: H.264, GOP 2 (LeRobot's), CRF as `VideoEncoder`'s, preset `ultrafast` for
 * x264/x265 (keeping up matters more than bytes; see `defaultPreset`), threads per encoder =
 * cores ÷ cameras (at least 1): the cameras already run in parallel.
 * Call `close()` at the end: the workers keep the process alive until then.
 */
export class StreamingVideoEncoder {
  private readonly cameras = new Map<string, Camera>();
  private readonly log: LogSink;
  private readonly queueSize: number;
  private readonly nice: number;
  private episode: { keys: string[]; dir: string | undefined } | undefined;
  private closed = false;

  constructor(private readonly options: StreamingVideoEncoderOptions = {}) {
    const q = options.queueSize ?? 16;
    if (!Number.isInteger(q) || q < 1 || q > 1024) throw new InvalidArgumentError(`queueSize must be a whole number from 1 to 1024, got ${String(q)}.`);
    this.queueSize = q;
    const nice = options.encoderNice ?? 10;
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new InvalidArgumentError(`encoderNice must be a whole number from 0 to 19, got ${String(nice)}.`);
    this.nice = nice;
    this.log = options.log ?? logToStderr;
  }

  /**
   * Starts an episode for the cameras `keys` (names made of letters, digits, `.`, `_`, `-`);
   * with `dir`, each camera's video goes to `<dir>/<key>.mp4` (the folder is created).
   * Resolves when every camera's worker is ready for frames.
   * @throws InvalidArgumentError for bad keys or while another episode is open.
   */
  async startEpisode(keys: readonly string[], dir?: string): Promise<void> {
    if (this.closed) throw new InvalidArgumentError('This StreamingVideoEncoder is closed.');
    if (this.episode) throw new InvalidArgumentError('An episode is already open; finish or cancel it first.');
    if (!Array.isArray(keys) || keys.length === 0) throw new InvalidArgumentError('startEpisode needs at least one camera key.');
    for (const key of keys) {
      if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
        throw new InvalidArgumentError(`Camera key ${JSON.stringify(key)} must be 1–128 letters, digits, '.', '_' or '-', not starting with '.' or '-'.`);
      }
    }
    if (new Set(keys).size !== keys.length) throw new InvalidArgumentError(`Camera keys must differ: ${keys.join(', ')}.`);
    if (dir !== undefined) await mkdir(dir, { recursive: true }).catch((e: unknown) => Promise.reject(fileSystemError(e, `Cannot create the folder ${dir}`)));
    for (const [key, camera] of this.cameras) {
      if (!keys.includes(key) || camera.exited) await this.stopWorker(camera);
    }
    const settings: CameraEncoderSettings = {
      ...this.options,
      preset: this.options.preset ?? defaultPreset(this.options),
      gop: this.options.gop ?? 2,
      threads: this.options.threads ?? Math.max(1, Math.floor(availableParallelism() / keys.length)),
    };
    delete (settings as StreamingVideoEncoderOptions).log;
    delete (settings as StreamingVideoEncoderOptions).onPacket;
    delete (settings as StreamingVideoEncoderOptions).queueSize;
    delete (settings as StreamingVideoEncoderOptions).encoderNice;
    this.episode = { keys: [...keys], dir };
    try {
      await Promise.all(
        keys.map((key) => {
          const camera = this.cameras.get(key) ?? this.spawn(key);
          Object.assign(camera, { ring: undefined, layout: undefined, lastTimestamp: undefined, dropped: 0, failure: undefined });
          return this.request(camera, { type: 'start', key, dir, settings, emitPackets: this.options.onPacket !== undefined }, 'started');
        }),
      );
    } catch (error) {
      await this.cancelEpisode();
      throw error;
    }
  }

  /**
   * Hands one frame of camera `key` to its encoder: copies it into a free queue slot and
   * returns without waiting. Every frame of a camera in an episode has the size and pixel
   * format of its first, and a later timestamp.
   * @returns true when queued, false when dropped because the camera's queue was full.
   * @throws CodecError when the camera's encoder failed since the last call (with the cause);
   *   InvalidArgumentError for an unknown camera, no open episode, or a frame that does not fit.
   */
  feedFrame(key: string, frame: Frame): boolean {
    if (!this.episode) throw new InvalidArgumentError('No episode is open; call startEpisode first.');
    const camera = this.episode.keys.includes(key) ? this.cameras.get(key) : undefined;
    if (!camera) throw new InvalidArgumentError(`Unknown camera ${JSON.stringify(key)}; this episode has ${this.episode.keys.join(', ')}.`);
    if (camera.failure) throw camera.failure;
    if (frame?.kind !== 'frame') throw new InvalidArgumentError('feedFrame() takes a Frame.');
    this.checkLayout(camera, frame);
    const ring = camera.ring!;
    if (ring.room() === 0) {
      camera.dropped++;
      if (camera.dropped === 1 || camera.dropped % 10 === 0) {
        this.log(
          `camera ${JSON.stringify(key)}: dropped a frame (${camera.dropped} so far): its encoder is slower than the frames arrive and its queue of ${this.queueSize} is full. ` +
            'Use a faster preset (e.g. ultrafast), a lower resolution or frame rate, fewer cameras per core, or a larger queueSize.',
        );
      }
      return false;
    }
    copyPacked(frame, ring.bytes, ring.nextOffset());
    ring.publish(frame.timestamp, frame.frameId);
    camera.lastTimestamp = frame.timestamp;
    return true;
  }

  /**
   * Free slots in camera `key`'s queue: how many frames `feedFrame` takes now without
   * dropping. A producer that can wait (a file, not a live camera) checks it before feeding.
   */
  roomFor(key: string): number {
    const camera = this.episode?.keys.includes(key) ? this.cameras.get(key) : undefined;
    if (!camera) throw new InvalidArgumentError(`Unknown camera ${JSON.stringify(key)} or no open episode.`);
    if (camera.failure) throw camera.failure;
    return camera.ring ? camera.ring.room() : this.queueSize;
  }

  private checkLayout(camera: Camera, frame: Frame): void {
    const layout = camera.layout;
    if (!layout) {
      camera.layout = { width: frame.width, height: frame.height, format: frame.format };
      camera.ring = FrameRing.create(camera.layout, this.queueSize, packedSize(frame.format, frame.width, frame.height));
      this.post(camera, { type: 'queue', ring: camera.ring.shape });
      return;
    }
    if (frame.width !== layout.width || frame.height !== layout.height || frame.format !== layout.format) {
      throw new InvalidArgumentError(
        `Camera ${JSON.stringify(camera.key)} started the episode with ${layout.width}x${layout.height} ${layout.format} frames; got ${frame.width}x${frame.height} ${frame.format}.`,
      );
    }
    if (camera.lastTimestamp !== undefined && frame.timestamp <= camera.lastTimestamp) {
      throw new InvalidArgumentError(`Camera ${JSON.stringify(camera.key)}: timestamps must rise, ${frame.timestamp} ns follows ${camera.lastTimestamp} ns.`);
    }
  }

  /**
   * Encodes what the queues still hold, finishes every camera's file and returns, per camera,
   * the file, frame counts, encode speed and image statistics.
   * @throws CodecError when a camera's encoder failed; the episode is then cancelled (no files).
   */
  async finishEpisode(): Promise<Record<string, CameraEpisodeResult>> {
    const episode = this.episode;
    if (!episode) throw new InvalidArgumentError('No episode is open.');
    const cameras = episode.keys.map((k) => this.cameras.get(k)!);
    const settled = await Promise.allSettled(cameras.map((c) => (c.failure ? Promise.reject(c.failure) : this.request(c, { type: 'finish' }, 'finished'))));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await this.cancelEpisode();
      throw failed.reason;
    }
    this.episode = undefined;
    const results: Record<string, CameraEpisodeResult> = {};
    settled.forEach((s, i) => {
      const summary = (s as PromiseFulfilledResult<Extract<FromCameraWorker, { type: 'finished' }>>).value.summary;
      results[cameras[i].key] = { key: cameras[i].key, ...summary, dropped: cameras[i].dropped };
    });
    return results;
  }

  /** Abandons the episode: its workers are stopped and every file it started is removed. */
  async cancelEpisode(): Promise<void> {
    const episode = this.episode;
    if (!episode) return;
    this.episode = undefined;
    const cameras = episode.keys.map((k) => this.cameras.get(k)).filter((c): c is Camera => c !== undefined);
    await Promise.all(
      cameras.map(async (camera) => {
        // The worker skips what is queued, deletes its partial file and ends; a worker that
        // hangs is terminated, and what it was writing is removed here.
        Atomics.store(camera.control, 0, 1);
        await this.stopWorker(camera, { type: 'cancel' });
        if (episode.dir !== undefined) {
          for (const ext of ['.mp4', '.mkv']) {
            for (const partial of await partialFilesOf(join(episode.dir, camera.key + ext))) await rm(partial, { force: true });
          }
        }
      }),
    );
  }

  /** Cancels an open episode and stops every worker. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.cancelEpisode();
    this.closed = true;
    await Promise.all([...this.cameras.values()].map((c) => this.stopWorker(c)));
  }

  private spawn(key: string): Camera {
    const control = new Int32Array(new SharedArrayBuffer(4));
    const worker = startWorker({ control, nice: this.nice });
    let exited!: () => void;
    const stopped = new Promise<void>((resolve) => (exited = resolve));
    const camera: Camera = { key, worker, control, stopped, dropped: 0, waiters: new Map(), exited: false };
    this.cameras.set(key, camera);
    worker.on('message', (m: FromCameraWorker) => this.receive(camera, m));
    worker.on('error', (e) => this.fail(camera, `${e.name}: ${e.message}`, e));
    worker.on('exit', (code) => {
      camera.exited = true;
      exited();
      if (this.cameras.get(key) === camera && !camera.failure) this.fail(camera, `its worker thread exited (code ${code})`);
      for (const w of camera.waiters.values()) w.reject(camera.failure ?? new CodecError(`The encoder of camera ${JSON.stringify(key)} stopped.`));
      camera.waiters.clear();
    });
    return camera;
  }

  private receive(camera: Camera, m: FromCameraWorker): void {
    switch (m.type) {
      case 'packet':
        this.options.onPacket?.(camera.key, m.packet);
        return;
      case 'log':
        this.log(m.message);
        return;
      case 'failed':
        this.fail(camera, `${m.name}: ${m.message}`, Object.assign(new Error(m.message), { name: m.name, code: m.code }));
        return;
      default: {
        const waiter = camera.waiters.get(m.type);
        camera.waiters.delete(m.type);
        waiter?.resolve(m);
      }
    }
  }

  private fail(camera: Camera, why: string, cause?: unknown): void {
    camera.failure ??= new CodecError(`The encoder of camera ${JSON.stringify(camera.key)} failed: ${why}`, { cause });
    for (const w of camera.waiters.values()) w.reject(camera.failure);
    camera.waiters.clear();
  }

  private post(camera: Camera, message: ToCameraWorker): void {
    camera.worker.postMessage(message);
  }

  private request<T extends FromCameraWorker['type']>(camera: Camera, message: ToCameraWorker, reply: T): Promise<Extract<FromCameraWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (camera.failure) return reject(camera.failure);
      camera.waiters.set(reply, { resolve: resolve as (m: FromCameraWorker) => void, reject });
      this.post(camera, message);
    });
  }

  /** Asks the worker to end (after `message`'s work) and waits for it; terminates it only if it hangs. */
  private async stopWorker(camera: Camera, message: ToCameraWorker = { type: 'exit' }): Promise<void> {
    if (this.cameras.get(camera.key) === camera) this.cameras.delete(camera.key);
    if (camera.exited) return;
    this.post(camera, message);
    const timer = setTimeout(() => void camera.worker.terminate(), STOP_WAIT_MS);
    await camera.stopped;
    clearTimeout(timer);
  }
}
