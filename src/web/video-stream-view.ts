import { isKeyAccessUnit } from '../codec/keyframe-detect.js';
import { findH264ParameterSets, h264CodecString, parseH264Sps } from '../codec/h264-sps.js';
import type { CompressedMessage } from './compressed-message.js';
import { StreamView, type ViewContext } from './stream-view.js';

/** Frames further than this behind the newest received one are decoded but not drawn (but for the first), µs. */
const CATCH_UP_US = 100_000;

interface Pending {
  readonly timestampNs: bigint;
  readonly logTime: bigint;
}

/**
 * One H.264 stream decoded with WebCodecs `VideoDecoder` onto a 2D canvas. It starts at a key
 * packet (configured from the SPS in the packet, Annex B, no description), waits for the
 * next key packet after any decoder error, draws a late join's first picture and then skips
 * drawing while it catches up, and after a seek draws only the target frame.
 */
export class VideoStreamView extends StreamView {
  private decoder: VideoDecoder | undefined;
  private configured = '';
  private readonly pending = new Map<number, Pending>();
  private newestSubmittedUs = -Infinity;
  private targetUs: number | undefined;
  private flushAtTarget = false;

  constructor(topic: string, context: ViewContext) {
    super(topic, 'video', context);
  }

  /** Feeds one received message. Bad packets make the view wait for the next key packet. */
  push(message: CompressedMessage, logTime: bigint): void {
    this.received(message);
    if (message.format !== 'h264') {
      this.card.notice(`${message.format} is not shown here; open this stream in the Foxglove app.`);
      return;
    }
    let key: boolean;
    try {
      key = isKeyAccessUnit('h264', message.data);
    } catch {
      this.state.waiting = true;
      return;
    }
    if (!key && (this.state.waiting || !this.decoder)) return;
    if (key && !this.configure(message.data)) return;
    const decoder = this.decoder;
    if (!decoder) return;
    const us = Number(message.timestampNs / 1000n);
    if (this.pending.size > 300) this.pending.clear();
    this.pending.set(us, { timestampNs: message.timestampNs, logTime });
    this.newestSubmittedUs = Math.max(this.newestSubmittedUs, us);
    this.state.waiting = false;
    decoder.decode(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp: us, data: message.data }));
    if (this.flushAtTarget && us === this.targetUs) decoder.flush().catch(() => undefined);
  }

  /**
   * Starts over for a seek: drops what is being decoded and waits for a key packet.
   * @param targetNs the frame to draw; earlier frames of the GOP are decoded, not drawn.
   * @param paused no packet follows the target, so the decoder is flushed at it.
   */
  seek(targetNs: bigint | undefined, paused: boolean): void {
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.reset();
    this.configured = '';
    this.pending.clear();
    this.newestSubmittedUs = -Infinity;
    this.state.waiting = true;
    this.targetUs = targetNs === undefined ? undefined : Number(targetNs / 1000n);
    this.flushAtTarget = paused;
  }

  private configure(data: Uint8Array): boolean {
    let codec: string;
    try {
      const { sps } = findH264ParameterSets(data);
      if (sps.length === 0) throw new Error('key packet without SPS');
      const info = parseH264Sps(sps[0]);
      codec = h264CodecString(info);
      this.state.width = info.width;
      this.state.height = info.height;
    } catch (error) {
      this.card.notice(`Cannot read the stream's SPS: ${(error as Error).message}`);
      return false;
    }
    if (this.decoder && this.decoder.state !== 'closed' && codec === this.configured) return true;
    if (!this.decoder || this.decoder.state === 'closed') {
      this.decoder = new VideoDecoder({ output: (frame) => this.draw(frame), error: (e) => this.failed(e) });
    }
    this.decoder.configure({ codec, optimizeForLatency: true });
    this.configured = codec;
    this.state.codec = codec;
    return true;
  }

  private failed(error: DOMException): void {
    this.state.decodeErrors++;
    this.state.waiting = true;
    this.decoder = undefined;
    this.configured = '';
    console.error(`framebus: ${this.state.topic}: decoder error, waiting for the next key packet: ${error.message}`);
  }

  private draw(frame: VideoFrame): void {
    const meta = this.pending.get(frame.timestamp);
    this.pending.delete(frame.timestamp);
    // A late joiner draws its first picture at once, then skips to the live one.
    const catchingUp = this.state.framesDrawn > 0 && this.newestSubmittedUs - frame.timestamp > CATCH_UP_US;
    const skip = meta === undefined || (this.targetUs !== undefined ? frame.timestamp < this.targetUs : catchingUp);
    if (skip || !meta) {
      frame.close();
      return;
    }
    this.targetUs = undefined;
    this.show(frame, frame.displayWidth, frame.displayHeight, meta.timestampNs, meta.logTime);
    frame.close();
  }
}
