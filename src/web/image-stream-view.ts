import type { CompressedMessage } from './compressed-message.js';
import { StreamView, type ViewContext } from './stream-view.js';

const MIME: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif' };

/**
 * One JPEG/PNG stream decoded with `createImageBitmap` onto a canvas. Images decode out of
 * order at times; only one newer than the one on screen is drawn.
 */
export class ImageStreamView extends StreamView {
  private receivedCount = 0;
  private shown = 0;

  constructor(topic: string, context: ViewContext) {
    super(topic, 'image', context);
  }

  /** Feeds one received image. */
  push(message: CompressedMessage, logTime: bigint): void {
    this.received(message);
    const order = ++this.receivedCount;
    const type = MIME[message.format] ?? 'application/octet-stream';
    createImageBitmap(new Blob([message.data as Uint8Array<ArrayBuffer>], { type })).then(
      (bitmap) => {
        if (order < this.shown) {
          bitmap.close();
          return;
        }
        this.shown = order;
        const { width, height } = bitmap;
        Object.assign(this.state, { waiting: false, codec: message.format, width, height });
        this.show(bitmap, width, height, message.timestampNs, logTime);
        bitmap.close();
      },
      () => {
        this.state.decodeErrors++;
      },
    );
  }
}
