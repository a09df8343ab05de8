import type { CompressedMessage } from './compressed-message.js';
import { localNowNs } from './connection.js';
import { RateMeter } from './rate-meter.js';
import { StreamCard } from './stream-card.js';
import type { LatencySample, StreamState } from './stream-state.js';

/** What a view needs from the page around it. */
export interface ViewContext {
  /** Server clock minus this page's clock, ns. */
  clockOffsetNs(): bigint;
  /** True for a live stream (latency is measured), false for a replay. */
  readonly live: boolean;
  /** Receives the timing of every drawn live frame. */
  onDrawn(sample: LatencySample): void;
}

/**
 * What every stream tile shares: its card, its state for tests and benchmarks, frame and bit
 * rates, and the bookkeeping of a drawn frame (counts, first-frame time, latency).
 */
export abstract class StreamView {
  readonly state: StreamState;
  readonly card: StreamCard;
  private readonly frames = new RateMeter();
  private readonly bytes = new RateMeter();

  constructor(
    topic: string,
    kind: StreamState['kind'],
    protected readonly context: ViewContext,
  ) {
    this.state = {
      topic,
      kind,
      framesDrawn: 0,
      firstDrawnMs: null,
      lastTimestampNs: null,
      waiting: true,
      codec: '',
      width: 0,
      height: 0,
      fps: 0,
      bitrate: 0,
      latencyMs: null,
      decodeErrors: 0,
    };
    this.card = new StreamCard(topic);
    this.card.update(this.state);
  }

  /** Feeds one received message; `logTime` is when the server received it, ns since the Unix epoch. */
  abstract push(message: CompressedMessage, logTime: bigint): void;

  /** Refreshes the rates and the stats line. */
  refresh(): void {
    const now = performance.now();
    this.state.fps = this.frames.perSecond(now);
    this.state.bitrate = this.bytes.bitsPerSecond(now);
    this.card.update(this.state);
  }

  /** Counts a received message's bytes for the bitrate. */
  protected received(message: CompressedMessage): void {
    this.receivedBytes(message.data.byteLength);
  }

  /** Counts received bytes for the bitrate. */
  protected receivedBytes(bytes: number): void {
    this.bytes.add(performance.now(), bytes);
  }

  /**
   * Draws a picture on the card and records it.
   * @param timestampNs the picture's capture time; `logTime` its server receive time (ns since the Unix epoch).
   */
  protected show(picture: CanvasImageSource, width: number, height: number, timestampNs: bigint, logTime: bigint): void {
    this.card.draw(picture, width, height);
    const drawnAt = localNowNs() + this.context.clockOffsetNs();
    const now = performance.now();
    this.frames.add(now);
    this.state.firstDrawnMs ??= now;
    this.state.framesDrawn++;
    this.state.lastTimestampNs = timestampNs.toString();
    if (this.context.live) {
      const captureToDrawMs = Number(drawnAt - timestampNs) / 1e6;
      this.state.latencyMs = captureToDrawMs;
      this.context.onDrawn({ topic: this.state.topic, publishToDrawMs: Number(drawnAt - logTime) / 1e6, captureToDrawMs });
    }
  }
}
