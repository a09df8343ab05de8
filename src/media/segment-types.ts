import type { AudioCodec } from '../codec/audio-encoder.js';
import type { VideoEncoderOptions } from '../codec/video-encoder-options.js';
import type { Frame, PixelFormat } from '../core/frame.js';
import type { VideoCodec, VideoPacket } from '../core/packet.js';
import type { FrameRingShape } from './frame-ring.js';

/** The audio track of a segment stream: every segment's PCM has this rate and channel count. */
export interface SegmentAudioOptions {
  /** Default `'opus'` (Chromium's MSE plays Opus in MP4); `'aac'` for AAC-LC. */
  codec?: AudioCodec;
  /** Samples per second per channel, Hz (Opus: 8000, 12000, 16000, 24000 or 48000). */
  sampleRate: number;
  /** 1 or 2; PCM is interleaved. */
  channels: number;
  /** Bits per second. Default 96000 (Opus), 128000 (AAC). */
  bitrate?: number;
}

/** How a `SegmentStreamer` encodes and packages. */
export interface SegmentStreamerOptions {
  /** Picture width in pixels; every frame handed over must have it. */
  width: number;
  /** Picture height in pixels. */
  height: number;
  /** Frames per second of the stream's timeline (video times are frame counts at this rate). Default 30. */
  fps?: number;
  /** Encoder choices (codec, crf, preset…) for segments of frames; the size and GOP are the streamer's. */
  encoder?: Omit<VideoEncoderOptions, 'width' | 'height' | 'fps' | 'gop' | 'log' | 'bFrames'>;
  /** The audio track; omit for video only. */
  audio?: SegmentAudioOptions;
  /**
   * The pixel format of the frames you will hand over. With it the shared ring frames are
   * copied into is made, and its memory touched by the worker, when the streamer is created;
   * without it the ring is made at the first frame, and the first segment's handoffs each pay
   * the page faults of fresh memory (about 1.3 ms per 640x480 RGB frame here). Frames of
   * another format are still taken (the ring is remade if none went into it yet).
   */
  frameFormat?: PixelFormat;
  /** Segments handed over and not yet started by the worker, at most. Default 2. */
  maxQueued?: number;
  /** When the queue is full: `'wait'` (default) makes `beginSegment` wait; `'drop-oldest'` drops the oldest queued segment and counts a warning. */
  overflow?: 'wait' | 'drop-oldest';
  /** Video frames per `moof`+`mdat` fragment (a fragment also ends at every segment end). Default 3 (0.1 s at 30 fps); 1 sends each frame as soon as it is encoded. */
  fragmentFrames?: number;
  /** Aborted with the cause when a segment fails, so generation stops. Default: a controller of the streamer's own (see `signal`). */
  abortController?: AbortController;
}

/** What a producer hands over for one segment in one call (see `SegmentStreamer.writeSegment`). */
export interface SegmentInput {
  /** Frames in any `Frame` pixel format at the stream's size; or give `packets`. */
  frames?: readonly Frame[];
  /** Ready packets (first one key), remuxed without re-encoding. */
  packets?: readonly VideoPacket[];
  /** PCM for the segment. */
  audio?: SegmentAudio;
  /** Video frames (or packets) to drop from the start of the segment. Default 0. */
  trimFrames?: number;
  /** Audio samples (per channel) to drop from the start of the segment. Default 0. */
  trimSamples?: number;
  /** The stream's last segment (see `Segment.end`). Default false. */
  final?: boolean;
}

/** PCM audio: interleaved float32 (-1..1) or int16 samples. */
export interface SegmentAudio {
  samples: Float32Array | Int16Array;
  /** Must equal the stream's sample rate, Hz. */
  sampleRate: number;
  /** Must equal the stream's channel count. */
  channels: number;
}

/** How one segment went, in its own object (never shared with the producer or the worker). */
export interface SegmentTimings {
  /** From `beginSegment` until the worker started the segment, ms. */
  queueWaitMs: number;
  /** Worker time spent encoding and packaging the segment, ms. */
  encodeMs: number;
  /** From `beginSegment` until the first fragment reached the producer's thread, ms. */
  firstChunkMs: number;
  /** Median and 95th percentile of the time between fragments, ms (0 for one fragment). */
  chunkIntervalP50Ms: number;
  chunkIntervalP95Ms: number;
  /** Median time from the worker posting a fragment to its `chunk` event, ms. */
  publishP50Ms: number;
  /** Fragment bytes of the segment. */
  bytes: number;
  /** Video frames in the segment after trimming. */
  frames: number;
  /** Audio samples per channel in the segment after trimming, padding and cutting. */
  audioSamples: number;
  /** Silent samples added so audio ends with the video, per channel. */
  audioPadded: number;
  /** Samples cut because they ran past the segment's video, per channel. */
  audioCut: number;
}

/** The stream's initialization segment: append it before any chunk. */
export interface InitEvent {
  type: 'init';
  bytes: Uint8Array;
  /** For `MediaSource.addSourceBuffer`, e.g. `video/mp4; codecs="avc1.64001e,opus"`. */
  mimeType: string;
  /** The RFC 6381 codec list alone. */
  codecs: string;
}

/** One `moof`+`mdat` fragment. */
export interface ChunkEvent {
  type: 'chunk';
  segment: number;
  bytes: Uint8Array;
  /** Presentation time of the fragment's first video frame on the stream's timeline, seconds. */
  startTime: number;
  /** End of its last video frame, seconds. */
  endTime: number;
}

/** A segment is fully packaged. */
export interface CompleteEvent {
  type: 'complete';
  segment: number;
  bytes: number;
  timings: SegmentTimings;
}

/** A segment failed; the stream ends and the producer's signal is aborted. */
export interface ErrorEvent {
  type: 'error';
  /** The failing segment, or -1 when the stream failed outside one. */
  segment: number;
  message: string;
  /** The `FramebusError` code. */
  code: string;
}

/** A queued segment was dropped (`overflow: 'drop-oldest'`). */
export interface WarningEvent {
  type: 'warning';
  segment: number;
  message: string;
}

export type StreamEvent = InitEvent | ChunkEvent | CompleteEvent | ErrorEvent | WarningEvent;

/** A listener for events of kind `T`. */
export type StreamEventListener<T extends StreamEvent['type']> = (event: Extract<StreamEvent, { type: T }>) => void;

/** One segment being handed over; from `SegmentStreamer.beginSegment`. */
export interface Segment {
  /** The segment's index in the stream, from 0. */
  readonly index: number;
  /**
   * Hands over one frame (any `Frame` pixel format, the stream's size). Returns at once; the
   * pixels are copied, so the caller may reuse its buffers right away.
   * @throws InvalidArgumentError for a frame of another size; the stream's error once it failed.
   */
  addFrame(frame: Frame): void;
  /** Hands over one ready packet (the segment's first must be key); it is remuxed, not re-encoded. */
  addPacket(packet: VideoPacket): void;
  /**
   * Hands over PCM for this segment (copied). Audio is fitted to the segment's video at its
   * end: padded with silence when short, cut when long (both counted in the timings).
   * @throws InvalidArgumentError for another rate or channel count, or NaN/infinite samples.
   */
  addAudio(audio: SegmentAudio): void;
  /**
   * Ends the segment; the worker packages the rest and emits `complete`. `final: true` ends the
   * stream's audio too (the encoder gives up the samples it holds back, so a recording's audio
   * lasts as long as its video); no segment may follow.
   * @throws InvalidArgumentError when the segment has no video frames (it is dropped and counted; the stream goes on).
   */
  end(options?: { final?: boolean }): void;
}

/** What `close()` reports. */
export interface StreamerCloseResult {
  /** Segments packaged completely. */
  completed: number;
  /** The segment the worker was cut in when the timeout expired, else undefined. */
  cut?: number;
  /** Queued segments never started because of the cut or the error. */
  abandoned: number[];
  /** Segments dropped from a full queue. */
  dropped: number;
  /** The error that ended the stream, if one did. */
  cause?: Error;
}

/** Messages from the producer's thread to the packaging worker. */
export type WorkerCommand =
  | { type: 'open'; options: SegmentStreamerOptions & { fps: number; fragmentFrames: number } }
  | { type: 'begin'; segment: number; at: number }
  | { type: 'frame'; segment: number; width: number; height: number; format: PixelFormat; data: Uint8Array }
  | { type: 'packet'; segment: number; codec: VideoCodec; data: Uint8Array; key: boolean; width: number; height: number }
  | { type: 'audio'; segment: number; samples: Float32Array }
  | { type: 'end'; segment: number; final?: boolean }
  | { type: 'discard'; segment: number }
  | { type: 'ring'; ring: FrameRingShape }
  | { type: 'close' };

/** A command as posted: `after` ring records were handed over before it. */
export interface WorkerEnvelope {
  after: number;
  command: WorkerCommand;
}

/** Messages from the worker back. Times are `performance.timeOrigin + performance.now()` ms. */
export type WorkerReply =
  | { type: 'init'; bytes: Uint8Array; mimeType: string; codecs: string }
  | { type: 'ready' }
  | { type: 'started'; segment: number; at: number }
  | { type: 'chunk'; segment: number; bytes: Uint8Array; startTime: number; endTime: number; at: number }
  | { type: 'complete'; segment: number; encodeMs: number; frames: number; audioSamples: number; audioPadded: number; audioCut: number }
  | { type: 'discarded'; segment: number }
  | { type: 'error'; segment: number; message: string; code: string }
  | { type: 'closed' };
