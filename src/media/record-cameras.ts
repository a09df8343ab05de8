import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '../core/errors.js';
import { secondsToNs } from '../core/time.js';
import type { VideoCodec } from '../core/packet.js';
import type { FrameSource } from '../source/frame-source.js';
import { Recording, type RecordingOptions, type RecordingStream, type RecordingSummary } from '../store/recording.js';
import { StreamingVideoEncoder, type CameraEpisodeResult, type StreamingVideoEncoderOptions } from './streaming-video-encoder.js';

/** How often a producer that waits for queue room looks again, in ms. */
const ROOM_POLL_MS = 2;

/** How `recordCameras` records. */
export interface RecordCamerasOptions extends RecordingOptions {
  /** One stream name per source, in order; each is also the camera's key and MP4 name. */
  streams: readonly string[];
  /** Codec options and queue size of the per-camera encoders (see `StreamingVideoEncoder`). */
  encoder?: Omit<StreamingVideoEncoderOptions, 'onPacket'>;
  /** Also write `<mp4Dir>/<stream>.mp4` per camera. */
  mp4Dir?: string;
  /** Stop once a source's timestamps span this many seconds. Default: until every source ends. */
  duration?: number;
  /** Stop each source after this many frames. */
  frames?: number;
  /** Stops recording early; what was recorded is kept and the files are finished. */
  signal?: AbortSignal;
  /**
   * Wait for room in a camera's queue instead of dropping the frame: for sources that are
   * not live (files, a synthetic scene not paced by the clock). `true` for every source, or one
   * flag per source (in the order of `sources`). Default false: live cameras drop.
   */
  waitForRoom?: boolean | readonly boolean[];
}

/** What `recordCameras` wrote: the recording, and per camera what its encoder did. */
export interface RecordCamerasSummary extends RecordingSummary {
  cameras: Record<string, CameraEpisodeResult>;
}

/**
 * Records several sources at once into one recording file, one video stream per source,
 * each encoded once in its own worker thread by a `StreamingVideoEncoder` (so a slow encoder
 * drops frames, counted, instead of holding the other cameras back). With `mp4Dir` the same
 * packets also go to one MP4 per camera. Stops when every source ends, after `duration`
 * seconds or `frames` frames per source, or when `signal` aborts; the files are finished
 * whatever stops it.
 * @throws InvalidArgumentError for bad options; the sources' and encoders' errors (after
 *   finishing the recording with what was recorded).
 */
export async function recordCameras(sources: readonly FrameSource[], path: string, options: RecordCamerasOptions): Promise<RecordCamerasSummary> {
  const names = options.streams;
  const limit = options.duration === undefined ? undefined : secondsToNs(options.duration, 'duration');
  const closeSources = () => Promise.all(sources.map((s) => s.close()));
  if (names.length !== sources.length || sources.length === 0) {
    await closeSources();
    throw new InvalidArgumentError(`recordCameras needs one stream name per source: ${sources.length} sources, ${names.length} names.`);
  }
  if (options.frames !== undefined && !(Number.isInteger(options.frames) && options.frames > 0)) {
    await closeSources();
    throw new InvalidArgumentError(`frames must be a positive whole number, got ${String(options.frames)}.`);
  }
  let recording: Recording;
  try {
    recording = await Recording.create(path, { ...options, inputs: [...(options.inputs ?? []), ...sources.map((s) => s.info.path)] });
  } catch (error) {
    await closeSources();
    throw error;
  }
  const codec: VideoCodec = options.encoder?.codec === 'auto' || options.encoder?.codec === undefined ? 'h264' : options.encoder.codec;
  const streams = new Map<string, RecordingStream>(names.map((n) => [n, recording.addStream(n, { codec })]));
  let storing: Promise<unknown> = Promise.resolve();
  let storeError: unknown;
  const encoder = new StreamingVideoEncoder({
    ...options.encoder,
    fps: options.encoder?.fps ?? sources[0].info.fps,
    onPacket: (key, packet) => {
      const write = streams.get(key)!.writePacket(packet).catch((e: unknown) => (storeError ??= e));
      storing = storing.then(() => write);
    },
  });
  let cameras: Record<string, CameraEpisodeResult> = {};
  try {
    const waits = (i: number): boolean => (Array.isArray(options.waitForRoom) ? options.waitForRoom[i] === true : options.waitForRoom === true);
    await encoder.startEpisode(names, options.mp4Dir);
    await Promise.all(
      sources.map(async (source, i) => {
        let first: bigint | undefined;
        let count = 0;
        for await (const frame of source) {
          if (options.signal?.aborted || storeError) break;
          first ??= frame.timestamp;
          if (limit !== undefined && frame.timestamp - first >= limit) break;
          while (waits(i) && encoder.roomFor(names[i]) === 0) await sleep(ROOM_POLL_MS);
          encoder.feedFrame(names[i], frame);
          if (options.frames !== undefined && ++count >= options.frames) break;
        }
      }),
    );
    cameras = await encoder.finishEpisode();
    await storing;
    if (storeError) throw storeError;
  } catch (error) {
    await encoder.close();
    await closeSources();
    await recording.close().catch(() => undefined);
    throw error;
  }
  await encoder.close();
  await closeSources();
  return { ...(await recording.close()), cameras };
}
