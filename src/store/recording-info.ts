import { nsToSeconds } from '../core/time.js';
import { openMcapSource } from './mcap-source.js';
import { RecordingReader, type RecordedChannel, type RecordingReaderOptions } from './recording-reader.js';
import type { StreamCodec } from './stream-index.js';
import { topicRecordFromMetadata, type TopicRecordStats } from './topic-record.js';

/** One stream of `recordingInfo`, in plain JSON values. */
export interface StreamSummaryJson {
  name: string;
  codec: StreamCodec;
  width: number;
  height: number;
  /** Number of frames (packets). */
  frames: number;
  /** Number of key frames. */
  keyframes: number;
  /** Encoded payload bytes (no container). */
  bytes: number;
  /** First frame's timestamp, ns since the Unix epoch, as a decimal string (exact). */
  start: string;
  /** Last frame's timestamp, ns since the Unix epoch, as a decimal string. */
  end: string;
  /** From the first to the last frame, seconds. */
  duration: number;
  /** True when the keyframe index was read from the file; false when rebuilt by scanning. */
  indexed: boolean;
}

/** One topic a bus recorder stored (see `TopicRecordStats`). */
export interface RecordedTopicJson extends TopicRecordStats {
  topic: string;
}

/** What `framebus info` shows: JSON-able as is. */
export interface RecordingInfoJson {
  path: string;
  /** False when the file is unfinished or its summary is damaged (read by scanning). */
  complete: boolean;
  streams: StreamSummaryJson[];
  /** Channels that are not streams (telemetry, commands, …), each with its schema and message count; omitted when there are none. */
  channels?: RecordedChannel[];
  /**
   * For a recording of a bus (`framebus record --bus`) that was stopped cleanly: per topic, the
   * packets stored, outliers and dropped packets, and the streams (segments) it went to.
   */
  topics?: RecordedTopicJson[];
}

/**
 * Summarises a recording: per stream its codec, size, frame and key frame counts, payload
 * bytes and time range; its other channels (telemetry) with their message counts; for a bus
 * recording, what the recorder counted per topic.
 * @throws NotFoundError when the file does not exist; MalformedDataError when it is not MCAP.
 */
export async function recordingInfo(path: string, options: RecordingReaderOptions = {}): Promise<RecordingInfoJson> {
  const reader = await RecordingReader.open(path, options);
  try {
    const streams = (await reader.streams()).map((s) => ({
      name: s.name,
      codec: s.codec,
      width: s.width,
      height: s.height,
      frames: s.frames,
      keyframes: s.keyframeCount,
      bytes: s.bytes,
      start: String(s.start),
      end: String(s.end),
      duration: nsToSeconds(s.end - s.start),
      indexed: s.indexed,
    }));
    const topics = reader.indexed ? await recordedTopics(path) : [];
    const channels = reader.otherChannels();
    return { path, complete: reader.indexed, streams, ...(channels.length ? { channels } : {}), ...(topics.length ? { topics } : {}) };
  } finally {
    await reader.close();
  }
}

/** The topic records a bus recorder wrote when it stopped (a crashed recorder wrote none). */
async function recordedTopics(path: string): Promise<RecordedTopicJson[]> {
  const source = await openMcapSource(path);
  try {
    return (await source.metadata()).flatMap((m) => topicRecordFromMetadata(m) ?? []);
  } finally {
    await source.close();
  }
}
