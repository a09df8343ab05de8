import { FrameTimestampError, InvalidArgumentError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { nsToSeconds, secondsToNs } from '../core/time.js';
import { RecordingReader } from '../store/recording-reader.js';
import { isVideoStreamCodec } from '../store/stream-index.js';
import { VideoFileReader, type FramesAtOptions, type VideoFileReaderOptions } from './video-file-reader.js';

/** A recording the cache holds open for frame lookups: its reader, the stream read and that stream's first timestamp (ns). */
export interface CachedRecording {
  readonly reader: RecordingReader;
  readonly stream: string;
  readonly start: bigint;
}

type Entry = VideoFileReader | CachedRecording;

/**
 * Open decoders by path, least recently used closed first once more than `size` files are
 * open (LeRobot's `VideoDecoderCache`, bounded). A training loop that samples a few thousand
 * episode files keeps only the recent ones' decoders and file handles.
 */
export class VideoDecoderCache {
  private readonly entries = new Map<string, Promise<Entry>>();

  /** @param size Files kept open; default 16. */
  constructor(
    private capacity = 16,
    private readonly readerOptions: VideoFileReaderOptions = {},
  ) {
    VideoDecoderCache.checkSize(capacity);
  }

  private static checkSize(size: number): void {
    if (!Number.isInteger(size) || size < 1) throw new InvalidArgumentError(`Decoder cache size must be a positive integer, got ${String(size)}.`);
  }

  /** Files open now (never above the capacity). */
  get size(): number {
    return this.entries.size;
  }

  /** The most files kept open. */
  get maxSize(): number {
    return this.capacity;
  }

  /** Changes the capacity, closing the least recently used files beyond it. */
  async resize(size: number): Promise<void> {
    VideoDecoderCache.checkSize(size);
    this.capacity = size;
    await this.evict();
  }

  /** True when `path` has a decoder open. */
  has(path: string): boolean {
    return this.entries.has(path);
  }

  /** The decoder of `path` (and, for a recording, `stream`), opening it when not cached. */
  async get(path: string, stream?: string): Promise<Entry> {
    const key = stream === undefined ? path : `${path}\u0000${stream}`;
    let entry = this.entries.get(key);
    if (entry) {
      // Most recently used last: Map keeps insertion order.
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry;
    }
    entry = open(path, stream, this.readerOptions);
    this.entries.set(key, entry);
    entry.catch(() => this.entries.get(key) === entry && this.entries.delete(key));
    await this.evict();
    return entry;
  }

  private async evict(): Promise<void> {
    while (this.entries.size > this.capacity) {
      const [key, entry] = this.entries.entries().next().value as [string, Promise<Entry>];
      this.entries.delete(key);
      await close(entry);
    }
  }

  /**
   * The reader of a video file (not a recording), opening it when not cached.
   * @throws InvalidArgumentError for a recording; as `VideoFileReader.open`.
   */
  async fileReader(path: string): Promise<VideoFileReader> {
    const entry = await this.get(path);
    if (!(entry instanceof VideoFileReader)) throw new InvalidArgumentError(`${path} is a recording, not a video file.`);
    return entry;
  }

  /** Closes every decoder. */
  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) await close(e);
  }
}

async function open(path: string, stream: string | undefined, options: VideoFileReaderOptions): Promise<Entry> {
  if (!path.endsWith('.mcap')) {
    if (stream !== undefined) throw new InvalidArgumentError(`${path} is a video file; streams are named only in recordings (.mcap).`);
    return VideoFileReader.open(path, options);
  }
  const reader = await RecordingReader.open(path);
  try {
    const name = stream ?? (await onlyVideoStream(reader));
    return { reader, stream: name, start: (await reader.stream(name)).start };
  } catch (error) {
    await reader.close();
    throw error;
  }
}

async function close(entry: Promise<Entry>): Promise<void> {
  const e = await entry.catch(() => undefined);
  if (e instanceof VideoFileReader) e.close();
  else await e?.reader.close();
}

async function onlyVideoStream(reader: RecordingReader): Promise<string> {
  const video = (await reader.streams()).filter((s) => isVideoStreamCodec(s.codec));
  if (video.length !== 1) {
    throw new InvalidArgumentError(
      video.length === 0 ? `${reader.path} has no video stream.` : `${reader.path} has several video streams (${video.map((s) => s.name).join(', ')}); name one with the stream option.`,
    );
  }
  return video[0].name;
}

/** How `decodeVideoFrames` picks and hands out frames. */
export interface DecodeVideoFramesOptions extends FramesAtOptions {
  /** Files whose decoders stay open in the shared cache (resizes it). Default 16. */
  cacheSize?: number;
  /** A cache of your own instead of the shared one. */
  cache?: VideoDecoderCache;
  /** The stream of a recording (.mcap); default its only video stream. */
  stream?: string;
}

const shared = new VideoDecoderCache();

/** The cache `decodeVideoFrames` uses unless given one: clear it to close every file it opened. */
export function sharedVideoDecoderCache(): VideoDecoderCache {
  return shared;
}

/**
 * The frames of a video at `timestamps`, seconds, in the order asked: LeRobot's
 * `decode_video_frames`. Each timestamp gets the nearest frame; a nearest frame not within
 * `toleranceS` (distance < tolerance, default 1e-4 s) is a `FrameTimestampError` naming the
 * requested and nearest timestamps. For a video file (MP4, MKV, …) timestamps are its
 * presentation times (pts × time base, as PyAV reports them); for a recording (.mcap), seconds
 * from the stream's first frame. Batches are sorted and each GOP decoded once; the file's
 * decoders stay open in a bounded LRU cache keyed by path, positioned for the next request.
 * Frames come as packed `rgb24` or, on request, the decoder's own `yuv420p` planes; each
 * frame's `timestamp` is ns on the file's time line (a recording: since the Unix epoch).
 * @throws FrameTimestampError; InvalidArgumentError for timestamps that are not finite numbers;
 *   NotFoundError for a missing file or stream; MalformedDataError when it cannot be decoded.
 */
export async function decodeVideoFrames(path: string, timestamps: readonly number[], options: DecodeVideoFramesOptions = {}): Promise<Frame[]> {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('Give the path of a video file or recording.');
  const cache = options.cache ?? shared;
  if (options.cacheSize !== undefined && options.cacheSize !== cache.maxSize) await cache.resize(options.cacheSize);
  const entry = await cache.get(path, options.stream);
  if (entry instanceof VideoFileReader) return entry.framesAt(timestamps, options);
  return mcapFramesAt(entry, timestamps, options);
}

async function mcapFramesAt({ reader, stream, start }: CachedRecording, timestamps: readonly number[], options: FramesAtOptions): Promise<Frame[]> {
  if (!Array.isArray(timestamps) || timestamps.length === 0) throw new InvalidArgumentError('Give at least one timestamp, in seconds.');
  const tolerance = options.toleranceS ?? 1e-4;
  if (typeof tolerance !== 'number' || !(tolerance >= 0)) throw new InvalidArgumentError(`toleranceS must be a number ≥ 0, got ${String(options.toleranceS)}.`);
  const format = options.format ?? 'rgb24';
  if (format !== 'rgb24' && format !== 'yuv420p') throw new InvalidArgumentError(`format must be rgb24 or yuv420p, got ${String(format)}.`);
  const wanted = timestamps.map((t) => {
    if (typeof t !== 'number' || !Number.isFinite(t)) throw new InvalidArgumentError(`Timestamps must be finite numbers of seconds, got ${String(t)}.`);
    const ns = start + secondsToNs(Math.abs(t), 'timestamp') * (t < 0 ? -1n : 1n);
    return ns < 0n ? 0n : ns;
  });
  const frames = await reader.framesAt(stream, wanted, { format });
  frames.forEach((frame, i) => {
    const nearest = nsToSeconds(frame.timestamp - start);
    if (!(Math.abs(nearest - timestamps[i]) < tolerance)) {
      throw new FrameTimestampError(
        `${reader.path} (stream ${stream}): no frame within ${tolerance} s of the requested timestamp ${timestamps[i]} s; the nearest frame is at ${nearest} s (${Math.abs(nearest - timestamps[i]).toFixed(6)} s away).`,
        wanted[i],
        frame.timestamp,
        timestamps[i],
        nearest,
      );
    }
  });
  return frames;
}
