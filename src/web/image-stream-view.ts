import type { CompressedMessage } from './compressed-message.js';
import { localNowNs } from './connection.js';
import { RateMeter } from './rate-meter.js';
import { StreamCard } from './stream-card.js';
import type { StreamState } from './stream-state.js';
import type { ViewContext } from './video-stream-view.js';

const MIME: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif' };

/**
 * One JPEG/PNG stream decoded with `createImageBitmap` onto a canvas. Images decode out of
 * order at times; only one newer than the one on screen is drawn.
 */
export class ImageStreamView {
  readonly state: StreamState;
  readonly card: StreamCard;
  private received = 0;
  private shown = 0;
  private readonly frames = new RateMeter();
  private readonly bytes = new RateMeter();

  constructor(
    topic: string,
    private readonly context: ViewContext,
  ) {
    this.state = {
      topic,
      kind: 'image',
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

  /** Feeds one received image. */
  push(message: CompressedMessage, logTime: bigint): void {
    this.bytes.add(performance.now(), message.data.byteLength);
    const order = ++this.received;
    const type = MIME[message.format] ?? 'application/octet-stream';
    createImageBitmap(new Blob([message.data as Uint8Array<ArrayBuffer>], { type })).then(
      (bitmap) => {
        if (order < this.shown) {
          bitmap.close();
          return;
        }
        this.shown = order;
        const { width, height } = bitmap;
        this.card.draw(bitmap, width, height);
        bitmap.close();
        const drawnAt = localNowNs() + this.context.clockOffsetNs();
        this.frames.add(performance.now());
        this.state.firstDrawnMs ??= performance.now();
        Object.assign(this.state, {
          framesDrawn: this.state.framesDrawn + 1,
          lastTimestampNs: message.timestampNs.toString(),
          waiting: false,
          codec: message.format,
          width,
          height,
        });
        if (this.context.live) {
          const captureToDrawMs = Number(drawnAt - message.timestampNs) / 1e6;
          this.state.latencyMs = captureToDrawMs;
          this.context.onDrawn({ topic: this.state.topic, publishToDrawMs: Number(drawnAt - logTime) / 1e6, captureToDrawMs });
        }
      },
      () => {
        this.state.decodeErrors++;
      },
    );
  }

  /** Refreshes the rates and the stats line. */
  refresh(): void {
    const now = performance.now();
    this.state.fps = this.frames.perSecond(now);
    this.state.bitrate = this.bytes.bitsPerSecond(now);
    this.card.update(this.state);
  }
}
