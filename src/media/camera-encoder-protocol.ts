import type { VideoPacket } from '../core/packet.js';
import type { VideoEncoderOptions } from '../codec/video-encoder-options.js';
import type { FrameRingShape } from './frame-ring.js';
import type { ImageStats } from './image-stats.js';

/** Encoder settings a camera worker gets: `VideoEncoderOptions` without the size (taken from the first frame) and the log sink (messages go back to the caller's). */
export type CameraEncoderSettings = Omit<VideoEncoderOptions, 'width' | 'height' | 'log'>;

/** Messages the caller's thread sends a camera encoder worker. */
export type ToCameraWorker =
  /** `dir`: the folder of the episode's files, `<key>.mp4` (`<key>.mkv` for depth). */
  | { type: 'start'; key: string; dir: string | undefined; settings: CameraEncoderSettings; emitPackets: boolean }
  /** The episode's frame queue, sent with the camera's first frame (which fixes the layout). */
  | { type: 'queue'; ring: FrameRingShape }
  /** Encode what is queued, flush, finish the file, reply `finished` (or nothing after `failed`). */
  | { type: 'finish' }
  /** Abandon the episode: skip queued frames, delete the partial file, then end the thread. */
  | { type: 'cancel' }
  /** End the thread once the work before this message is done. */
  | { type: 'exit' };

/**
 * Data a camera worker starts with: `control[0]` becomes 1 when the caller cancels, so the
 * worker skips the frames still queued instead of encoding them first.
 */
export interface CameraWorkerData {
  control: Int32Array;
  /** Nice value (0–19) the worker thread takes before it opens an encoder; its encoder threads inherit it. */
  nice: number;
}

/** What one camera's encoder did in one episode. */
export interface CameraWorkerSummary {
  /** The file written, or `undefined` when no frame was encoded or no folder was given. */
  path: string | undefined;
  /** Frames encoded. */
  frames: number;
  /** Frames per second the encoder managed while busy (frames ÷ time spent encoding and writing). */
  encodeFps: number;
  /** The FFmpeg encoder used, e.g. `libx264`; empty when no frame came. */
  encoder: string;
  /** Duration of the file in seconds (first frame to end of the last). */
  durationS: number;
  stats: ImageStats | undefined;
}

/** Messages a camera encoder worker sends back. */
export type FromCameraWorker =
  | { type: 'started' }
  | { type: 'packet'; packet: VideoPacket }
  | { type: 'log'; message: string }
  | { type: 'finished'; summary: CameraWorkerSummary }
  | { type: 'failed'; name: string; message: string; code: string | undefined };
