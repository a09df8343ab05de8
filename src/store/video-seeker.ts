import { findH264ParameterSets, parseH264Sps } from '../codec/h264-sps.js';
import type { PixelConverter } from '../codec/pixel-converter.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import { FramebusError, MalformedDataError } from '../core/errors.js';
import type { Frame, PixelFormat } from '../core/frame.js';
import type { VideoCodec, VideoPacket } from '../core/packet.js';
import { ByteLru } from './byte-lru.js';
import type { Entry } from './chunk-cache.js';
import type { Location, StreamCursor } from './stream-cursor.js';
import { IndexDisagreementError } from './stream-index-check.js';
import type { StreamItem } from './stream-message.js';

/** Packets decoded ahead of each request, for the next forward request. */
const READ_AHEAD = 2;

/** The stream a seeker decodes. */
export interface SeekerStream {
  readonly cursor: StreamCursor;
  readonly codec: VideoCodec;
  /** framebus wrote the stream: stored sequence numbers are the publisher's (gaps are real). */
  readonly framebusWritten: boolean;
  /** The stored entry as a framebus item. */
  item(entry: Entry): Promise<VideoPacket | StreamItem>;
}

/** Where the decoder stands, so the next request near it continues instead of restarting. */
interface DecoderState {
  readonly decoder: VideoDecoder;
  readonly format: PixelFormat;
  /** The last packet fed, and its time (-1 after a reset). */
  last: Location;
  lastTime: bigint;
  /** Sequence numbers fed to the decoder for streams whose stored ones mean nothing. */
  decodeSequence: number;
}

function frameBytes(frame: Frame): number {
  return frame.planes.reduce((n, p) => n + p.data.byteLength, 0);
}

/**
 * Decodes frames of one video stream at any position, owning the decoder between requests:
 * a request in the GOP the decoder stands in continues decoding; a frame decoded before
 * (kept in a byte-bounded LRU) is answered from memory; after each answer the next packets
 * are decoded ahead. Requests run one at a time (they share the decoder).
 */
export class VideoSeeker {
  private state: DecoderState | undefined;
  /** Decoded frames by timestamp, in the decoder's format. */
  private readonly frames: ByteLru<bigint, Frame>;
  /** The last frame handed out in another pixel format than the decoder's. */
  private converted: Frame | undefined;
  /** Decoding ahead of the last request, if under way; awaited before the decoder is used again. */
  private ahead: Promise<void> | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  /** True when the stream is 8-bit 4:2:0 H.264, so decoding to yuv420p loses nothing. */
  private yuv420: boolean | undefined;

  /** @param frameCacheBytes Bytes of decoded frames kept. */
  constructor(
    private readonly stream: SeekerStream,
    private readonly converter: PixelConverter,
    frameCacheBytes: number,
  ) {
    this.frames = new ByteLru(frameCacheBytes);
  }

  /** Bytes of decoded frames held now, never above the limit. */
  get cachedBytes(): number {
    return this.frames.bytes;
  }

  /**
   * The frame of the entry at `target`, decoding from the key packet at `keyTime` (ns) when
   * the decoder does not stand between them, bit-exactly as a decode of the whole stream.
   * @throws MalformedDataError when a packet from the key packet up to the target is damaged or
   *   missing; IndexDisagreementError when no key packet is at `keyTime` (the index is wrong).
   */
  frameAt(target: Location, entry: Entry, keyTime: bigint, format: PixelFormat): Promise<Frame> {
    const result = this.busy.then(async () => {
      try {
        return await this.decodeAt(target, entry, keyTime, format);
      } catch (error) {
        await this.drop();
        if (error instanceof FramebusError) throw error;
        throw new MalformedDataError(`Stream ${this.stream.cursor.name}: decoding the frame at ${entry.logTime} ns failed (${(error as Error).message}).`, { cause: error });
      }
    });
    this.busy = result.catch(() => undefined);
    return result;
  }

  /**
   * Decodes to yuv420p when that is the stream's own format (a plain copy) and converts only
   * the frame asked for: the RGB conversion costs more than decoding a frame, and the
   * frames between the key packet and the target are never shown.
   */
  private async decodeAt(target: Location, entry: Entry, keyTime: bigint, format: PixelFormat): Promise<Frame> {
    await this.ahead;
    this.yuv420 ??= await this.isYuv420(await this.keyAt(keyTime));
    const decodeFormat = this.yuv420 ? 'yuv420p' : format;
    const decoded = await this.decoded(target, entry, keyTime, decodeFormat);
    this.ahead = this.readAhead();
    if (decodeFormat === format) return decoded;
    if (this.converted?.timestamp === decoded.timestamp && this.converted.format === format) return this.converted;
    this.converted = this.converter.convert(decoded, { format });
    return this.converted;
  }

  /** The key packet at `keyTime`; the index named it, so its absence means the index is wrong. */
  private async keyAt(keyTime: bigint): Promise<{ loc: Location; entry: Entry }> {
    const loc = await this.stream.cursor.locate(keyTime);
    const entry = loc && (await this.stream.cursor.at(loc));
    if (!loc || entry?.logTime !== keyTime) throw new IndexDisagreementError(`Stream ${this.stream.cursor.name}: its index names a key packet at ${keyTime} ns, where the stream has none.`);
    const item = await this.stream.item(entry);
    if (item.kind !== 'video-packet' || !item.key) throw new IndexDisagreementError(`Stream ${this.stream.cursor.name}: its index names a key packet at ${keyTime} ns, where the stream's packet is not one.`);
    return { loc, entry };
  }

  /** True when the key packet's SPS says 8-bit 4:2:0 H.264; decided once, from the first key packet decoded. */
  private async isYuv420(key: { entry: Entry }): Promise<boolean> {
    if (this.stream.codec !== 'h264') return false;
    const item = await this.stream.item(key.entry);
    if (item.kind !== 'video-packet') return false;
    try {
      const sps = parseH264Sps(findH264ParameterSets(item.data).sps[0] ?? new Uint8Array());
      return sps.chromaFormat === 1 && sps.bitDepth === 8;
    } catch {
      // No readable SPS: decode straight to the format asked for.
      return false;
    }
  }

  private async decoded(target: Location, entry: Entry, keyTime: bigint, format: PixelFormat): Promise<Frame> {
    let state = this.state;
    const hit = state?.format === format ? this.frames.get(entry.logTime) : undefined;
    if (hit) return hit;
    let from: Location | undefined;
    // Continue when the decoder stands between the target's key packet and the target; else start at that key packet.
    if (state && state.format === format && state.lastTime >= keyTime && state.lastTime < entry.logTime) {
      from = await this.stream.cursor.next(state.last);
    } else {
      if (!state || state.format !== format) {
        await this.drop();
        state = { decoder: await VideoDecoder.create({ codec: this.stream.codec, format }), format, last: target, lastTime: -1n, decodeSequence: 0 };
        this.state = state;
      }
      state.decoder.reset();
      state.lastTime = -1n;
      state.decodeSequence = 0;
      from = (await this.keyAt(keyTime)).loc;
    }
    let frame: Frame | undefined;
    for (let loc = from; loc; loc = await this.stream.cursor.next(loc)) {
      const { fed, frames } = await this.feed(state, loc);
      frame = frames.find((f) => f.timestamp === entry.logTime) ?? frame;
      if (fed.logTime >= entry.logTime) break;
    }
    if (!frame) {
      throw new MalformedDataError(`Stream ${this.stream.cursor.name}: the frame at ${entry.logTime} ns cannot be decoded (a packet from the key packet at ${keyTime} ns up to it is damaged or missing).`);
    }
    return frame;
  }

  /** Decodes the packet at `loc` into the frame cache and moves the decoder's position there. */
  private async feed(state: DecoderState, loc: Location): Promise<{ fed: Entry; frames: Frame[] }> {
    const e = await this.stream.cursor.at(loc);
    const packet = (await this.stream.item(e)) as VideoPacket;
    const fed = { ...packet, sequence: this.stream.framebusWritten ? packet.sequence : state.decodeSequence++ };
    const frames = await state.decoder.decode(fed);
    for (const frame of frames) this.frames.set(frame.timestamp, frame, frameBytes(frame));
    state.last = loc;
    state.lastTime = e.logTime;
    return { fed: e, frames };
  }

  /**
   * Decodes the next few packets after the decoder's position once the caller has its frame
   * (it runs at the reader's next await, between requests), so the next forward request
   * finds them decoded. A failure only ends the read-ahead: the request that needs
   * those packets decodes them again and reports what is wrong.
   */
  private async readAhead(): Promise<void> {
    const state = this.state;
    if (!state) return;
    try {
      for (let n = 0, loc = await this.stream.cursor.next(state.last); n < READ_AHEAD && loc; n++, loc = await this.stream.cursor.next(loc)) {
        if (this.frames.has((await this.stream.cursor.at(loc)).logTime)) break;
        await this.feed(state, loc);
      }
    } catch {
      state.lastTime = -1n;
    }
  }

  /** Closes the decoder and forgets its frames; the next request starts afresh. */
  private async drop(): Promise<void> {
    const state = this.state;
    this.state = undefined;
    await this.ahead;
    this.ahead = undefined;
    this.frames.clear();
    this.converted = undefined;
    state?.decoder.close();
  }

  /** Waits for the request under way, then frees the decoder. */
  async close(): Promise<void> {
    await this.busy;
    await this.drop();
  }
}
