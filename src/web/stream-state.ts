/**
 * What a stream view shows and what tests read from `window.framebus.streams`. Times are ns
 * since the Unix epoch as decimal strings (JSON has no 64-bit integers).
 */
export interface StreamState {
  readonly topic: string;
  readonly kind: 'video' | 'image';
  /** Frames drawn on the canvas since the page opened. */
  framesDrawn: number;
  /** When the first frame was drawn, ms since the page's navigation started (null before). */
  firstDrawnMs: number | null;
  /** Presentation time of the frame on the canvas now, or null before the first. */
  lastTimestampNs: string | null;
  /** True while the decoder waits for a key packet (start, after an error, after a seek). */
  waiting: boolean;
  /** Codec string (`avc1.64001f`) or image format. */
  codec: string;
  /** Picture size, pixels. */
  width: number;
  height: number;
  /** Frames drawn per second over the last second. */
  fps: number;
  /** Received bits per second over the last second. */
  bitrate: number;
  /** Capture → drawn of the latest frame, ms, on the server's clock (null before the first frame). */
  latencyMs: number | null;
  /** Decoder errors seen; each one made the view wait for the next key packet. */
  decodeErrors: number;
}

/** One drawn frame's timing, for the latency benchmark. */
export interface LatencySample {
  readonly topic: string;
  /** Server received (published) → drawn, ms. */
  readonly publishToDrawMs: number;
  /** Captured → drawn, ms. */
  readonly captureToDrawMs: number;
}

/** Most latency samples kept; older ones are dropped. */
export const MAX_LATENCY_SAMPLES = 10_000;
