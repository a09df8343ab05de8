/**
 * framebus's replay control on top of the Foxglove WebSocket protocol. The viewer page
 * (src/web/replay-controls.ts) speaks the client side; the names here are the contract.
 *
 * - `serverInfo.metadata`: `{ mode: 'replay', recording: '<name>' }`.
 * - Channel {@link PLAYBACK_TOPIC} (JSON, {@link PlaybackState}): sent on every seek, play,
 *   pause and speed change, always before the packets that follow it, so a viewer knows
 *   which frame to draw before they arrive.
 * - JSON services: {@link SERVICES}. Times are ns since the Unix epoch as decimal strings.
 *   Calls run one at a time, each once the viewer has read enough of what came before. A
 *   seek to a time replaces the seeks still waiting (they fail with `Superseded by a later
 *   seek…`, a failure not sent while the viewer is not reading); other calls wait in a
 *   queue of 16 and fail with `Too many requests at once…` beyond it.
 */

/** Topic of the playback state channel. */
export const PLAYBACK_TOPIC = '/framebus/playback';

/** Schema name of the playback state messages. */
export const PLAYBACK_SCHEMA_NAME = 'framebus.PlaybackState';

/** Service names. */
export const SERVICES = {
  /** `{}` → {@link RecordingIndex}. */
  index: 'framebus/index',
  /**
   * `{ time_ns: string }` (go to the frame at or before that time) or `{ step: number }`
   * (move that many frames of `topic`, default the first video stream) → {@link PlaybackState}.
   */
  seek: 'framebus/seek',
  /** `{ speed?: number }` (0.0625–16, default the current) → {@link PlaybackState}. */
  play: 'framebus/play',
  /** `{}` → {@link PlaybackState}. */
  pause: 'framebus/pause',
} as const;

/** Where playback stands. */
export interface PlaybackState {
  /** Increments on every seek (and play, which restarts at a key packet). */
  seek_id: number;
  playing: boolean;
  /** Playback rate, 1 is real time. */
  speed: number;
  /** The position, ns since the Unix epoch. */
  position_ns: string;
  /**
   * Per stream, the frame a viewer must draw after this seek (the newest at or before the
   * position; null if the stream has none yet). Packets from the key packet before it
   * follow; frames before the target are decoded but not drawn.
   */
  targets: { topic: string; timestamp_ns: string | null }[];
}

/** A recording's streams and keyframe marks, for the timeline. */
export interface RecordingIndex {
  /** Recording name as given to the server. */
  name: string;
  start_ns: string;
  end_ns: string;
  streams: {
    topic: string;
    kind: 'video' | 'image';
    /** Number of frames (packets or images). */
    frames: number;
    /** Timestamps of key packets (every image for an image stream, capped). */
    keyframes_ns: string[];
  }[];
}

/** JSON Schema of {@link PlaybackState}, as advertised on the playback channel. */
export const PLAYBACK_STATE_SCHEMA = {
  title: PLAYBACK_SCHEMA_NAME,
  type: 'object',
  properties: {
    seek_id: { type: 'integer' },
    playing: { type: 'boolean' },
    speed: { type: 'number' },
    position_ns: { type: 'string' },
    targets: {
      type: 'array',
      items: {
        type: 'object',
        properties: { topic: { type: 'string' }, timestamp_ns: { type: ['string', 'null'] } },
      },
    },
  },
} as const;
