import { Codec, CodecContext, FormatContext, Frame as AvFrame, Packet, type Rational, type Stream } from 'node-av/lib';
import * as C from 'node-av/constants';
import { quietFfmpegLogs } from '../codec/ffmpeg-log.js';
import { CodecError, MalformedDataError, UnreliableTimestampsError } from '../core/errors.js';

/** Containers that store presentation times and an index to seek by (FFmpeg demuxer names). */
const TIMED_CONTAINERS = /^(mov|matroska|mpegts)\b/;

/** Decoders tried per codec, best first (dav1d is several times faster than FFmpeg's own AV1 decoder). */
const PREFERRED: Partial<Record<number, string[]>> = { [C.AV_CODEC_ID_AV1]: ['libdav1d'] };

/** How a cursor's decoder runs. */
export interface CursorOptions {
  /**
   * Decoder threads: frame threads for H.264/H.265, dav1d's own threads for AV1. 0 = one per
   * core. Default 0, except for AV1 with `seek` access: 1.
   */
  threads: number | undefined;
  /**
   * What the cursor is for. `seek` (random access): dav1d's frame delay kept at 1, so a seek
   * to a 1–2 frame GOP decodes only those frames; dav1d then runs on the calling thread by
   * default, since its threads found nothing to share inside one frame (CPU time = wall time
   * with 2 threads at 640x480 and 1920x1080) and handing each frame over cost 3–14% per request.
   * `stream` (long forward runs): dav1d decodes several frames at once, which pays over a
   * run but would cost a seek frames it does not need.
   */
  access: 'seek' | 'stream';
}

/** What a cursor's stream is: read once, at open. */
export interface CursorStream {
  readonly index: number;
  readonly timeBase: Rational;
  /** The first frame's pts (AV_NOPTS_VALUE when unknown). */
  readonly startTime: bigint;
  /** Average frame rate, else the container's base rate. */
  readonly frameRate: Rational;
}

/** Opens `path` for reading its first video stream only; other streams are discarded unread. */
function openDemuxer(path: string): { fc: FormatContext; stream: Stream } {
  const fc = new FormatContext();
  fc.allocContext();
  if (fc.openInputSync(path) < 0) {
    fc.freeContext();
    throw new MalformedDataError(`Not a video file FFmpeg can read: ${path}.`);
  }
  const stream = fc.streams.find((s) => s.codecpar.codecType === C.AVMEDIA_TYPE_VIDEO);
  if (!stream) {
    fc.closeInputSync();
    throw new MalformedDataError(`${path} has no video stream.`);
  }
  const container = fc.iformat?.name ?? '';
  if (!TIMED_CONTAINERS.test(container)) {
    fc.closeInputSync();
    throw new UnreliableTimestampsError(`${path} is ${container || 'a raw stream'}, a container without stored presentation times to find frames by; use MP4/MOV, MKV/WebM or MPEG-TS.`);
  }
  for (const s of fc.streams) if (s.index !== stream.index) s.discard = C.AVDISCARD_ALL;
  return { fc, stream };
}

/**
 * True when an H.264 access unit in length-prefixed (MP4) form holds only non-reference
 * slices (nal_ref_idc 0): no later picture needs it, so a walk to a later frame may skip it.
 */
function isH264NonReference(data: Buffer, lengthSize: number): boolean {
  let slices = 0;
  for (let i = 0; i + lengthSize < data.length; ) {
    let size = 0;
    for (let b = 0; b < lengthSize; b++) size = size * 256 + data[i + b];
    const header = data[i + lengthSize];
    const type = header & 0x1f;
    if (type === 1 || type === 5) {
      if ((header & 0x60) !== 0) return false;
      slices++;
    }
    i += lengthSize + size;
  }
  return slices > 0;
}

/**
 * One positioned decoder over one video file: its own demuxer and decoder, and the last
 * frame it produced (`prev`), so a later request in the same GOP continues from here instead
 * of seeking. Everything runs synchronously on the caller's thread: FFmpeg's calls are short,
 * and crossing to the thread pool per packet would cost more than the decode of a small frame.
 */
export class DecodeCursor {
  /** The last frame produced (valid when `prevPts` is defined). */
  prev = new AvFrame();
  /** Its presentation time, stream time base; undefined after a seek. */
  prevPts: bigint | undefined;
  /** True once the demuxer hit the end: the cursor must seek before it can produce more. */
  ended = false;
  /** When it was last used (a counter), for choosing which cursor to move. */
  lastUsed = 0;
  /** The newest key packet read since the last seek (pts), and the newest pts read. */
  lastKeyRead: bigint | undefined;
  /** Key packets read since the last seek (pts, the newest 64): where the GOPs it walked through begin. */
  keysRead: bigint[] = [];
  lastReadPts: bigint | undefined;
  /** Pictures read but not decoded that would be shown after `prev`: this cursor can never produce them. */
  skipped: bigint[] = [];
  /** True after a walk drained the decoder (see `walk`): the cursor must seek before it can produce more. */
  drained = false;

  /** The stream decoded. */
  readonly stream: CursorStream;
  /** The access pattern its decoder is set up for. */
  readonly access: CursorOptions['access'];
  private next = new AvFrame();
  /** True while every packet read had pts = dts: with a reordering decoder that means the container stored decode times. */
  private ptsAreDts = true;
  private readonly packet = new Packet();
  private readonly nalLengthSize: number | undefined;

  private constructor(
    private readonly path: string,
    private fc: FormatContext,
    stream: Stream,
    private readonly ctx: CodecContext,
    options: CursorOptions,
  ) {
    this.access = options.access;
    const rate = stream.avgFrameRate.num > 0 ? stream.avgFrameRate : stream.rFrameRate;
    this.stream = { index: stream.index, timeBase: stream.timeBase, startTime: stream.startTime, frameRate: rate };
    this.prev.alloc();
    this.next.alloc();
    this.packet.alloc();
    const extradata = stream.codecpar.extradata;
    // avcC: configurationVersion 1, then lengthSizeMinusOne in the low bits of byte 4.
    if (stream.codecpar.codecId === C.AV_CODEC_ID_H264 && extradata && extradata.length > 4 && extradata[0] === 1) this.nalLengthSize = (extradata[4] & 3) + 1;
  }

  /**
   * Opens `path` and a decoder for its first video stream. Stream parameters come from the
   * container's header; FFmpeg's stream probing (which decodes frames) is skipped.
   * @throws MalformedDataError when FFmpeg cannot read it or it has no video; CodecError when
   *   no decoder opens.
   */
  static open(path: string, options: CursorOptions): DecodeCursor {
    quietFfmpegLogs();
    const { fc, stream } = openDemuxer(path);
    const id = stream.codecpar.codecId;
    const candidates = [...(PREFERRED[id] ?? []).map((n) => Codec.findDecoderByName(n as Parameters<typeof Codec.findDecoderByName>[0])), Codec.findDecoder(id)];
    for (const codec of candidates) {
      if (!codec) continue;
      const ctx = new CodecContext();
      ctx.allocContext3(codec);
      stream.codecpar.toContext(ctx);
      ctx.pktTimebase = stream.timeBase;
      ctx.threadCount = options.threads ?? (id === C.AV_CODEC_ID_AV1 && options.access === 'seek' ? 1 : 0);
      ctx.threadType = C.FF_THREAD_FRAME;
      if (id === C.AV_CODEC_ID_AV1 && options.access === 'seek') ctx.setFlags(C.AV_CODEC_FLAG_LOW_DELAY);
      if (ctx.open2Sync(codec, null) >= 0) return new DecodeCursor(path, fc, stream, ctx, options);
      ctx.freeContext();
    }
    fc.closeInputSync();
    throw new CodecError(`No decoder in this FFmpeg build opens the video of ${path} (codec id ${id}).`);
  }

  /** Reopens the file at its start, for files whose index cannot be trusted to seek (a truncated MKV). */
  restart(): void {
    const { fc } = openDemuxer(this.path);
    this.fc.closeInputSync();
    this.fc = fc;
    this.ctx.flushBuffers();
    this.forget();
  }

  /**
   * Moves to the key frame at or before `pts` (stream time base), forgetting the decoder's
   * state. Seeking backward from before the first frame lands on the first key frame.
   */
  seek(pts: bigint): void {
    this.fc.seekFrameSync(this.stream.index, pts, C.AVSEEK_FLAG_BACKWARD);
    this.ctx.flushBuffers();
    this.forget();
  }

  /** Forgets the position (after the decoder was flushed or failed): the next request seeks. */
  forget(): void {
    this.prevPts = undefined;
    this.lastKeyRead = undefined;
    this.keysRead = [];
    this.lastReadPts = undefined;
    this.skipped = [];
    this.ended = false;
    this.drained = false;
  }

  /**
   * Decodes forward until `done()` or the end of the stream, calling `onFrame` for every
   * frame produced, in presentation order (the cursor then keeps it as `prev`; during the call
   * `prev` is still the one before). `onFrame` returning false drops the frame and ends the
   * walk (the caller seeks elsewhere). Packets whose picture nobody needs (`skip` true for
   * their pts) are not decoded when no later picture refers to them.
   *
   * With `drainAfter` (pts), the walk decodes only what the pictures shown up to then need:
   * a packet not needed itself (skipped, or shown after `drainAfter`) is held back and sent
   * only when a needed one follows (it may be its reference; H.264 non-reference pictures
   * are dropped at once), and once a packet's dts passes `drainAfter` (no picture shown up to
   * then can follow) the held ones are dropped and the decoder drained: it hands out the
   * pictures it holds back for reordering, and with frame threads those in flight, without
   * decoding pictures nobody asked for. The cursor is then `drained` (also when the stream
   * ends with packets held).
   * @throws MalformedDataError when the decoder rejects a packet.
   */
  walk(onFrame: (frame: AvFrame, pts: bigint) => boolean, done: () => boolean, skip: (pts: bigint) => boolean, drainAfter?: bigint): void {
    /** Hands out the frames ready; false when `onFrame` ended the walk. */
    const take = (): boolean => {
      for (;;) {
        const ret = this.ctx.receiveFrameSync(this.next);
        if (ret === C.AVERROR_EAGAIN || ret === C.AVERROR_EOF) return true;
        if (ret < 0) throw new MalformedDataError(`${this.path}: the decoder failed (FFmpeg error ${ret}).`);
        const pts = this.next.pts;
        if (this.ptsAreDts && this.ctx.hasBFrames > 0) {
          this.next.unref();
          throw new UnreliableTimestampsError(`${this.path}: the pictures are reordered but the container stores decode times as presentation times (pts = dts).`);
        }
        if (pts === C.AV_NOPTS_VALUE || (this.prevPts !== undefined && pts <= this.prevPts)) {
          this.next.unref();
          throw new UnreliableTimestampsError(
            pts === C.AV_NOPTS_VALUE ? `${this.path}: a frame has no presentation time.` : `${this.path}: presentation times do not rise (pts ${pts} after ${this.prevPts}); the container's timestamps are wrong.`,
          );
        }
        if (!onFrame(this.next, pts)) {
          this.next.unref();
          return false;
        }
        [this.prev, this.next] = [this.next, this.prev];
        this.next.unref();
        this.prevPts = pts;
        if (this.skipped.length > 0) this.skipped = this.skipped.filter((p) => p > pts);
      }
    };
    const send = (packet: Packet, pts: bigint): boolean => {
      const ret = this.ctx.sendPacketSync(packet);
      if (ret < 0 && ret !== C.AVERROR_EAGAIN && ret !== C.AVERROR_INVALIDDATA) {
        throw new MalformedDataError(`${this.path}: the decoder rejected the packet at pts ${pts} (FFmpeg error ${ret}).`);
      }
      return take();
    };
    /** True for an H.264 picture no other refers to. Reading the bytes copies them out of FFmpeg: only for a packet that may be skipped. */
    const unreferenced = () => this.nalLengthSize !== undefined && isH264NonReference(this.packet.data!, this.nalLengthSize);
    const held: { packet: Packet; pts: bigint }[] = [];
    try {
      while (!done()) {
        if (this.ended) return;
        if (this.fc.readFrameSync(this.packet) < 0) {
          this.ended = true;
          this.ctx.sendPacketSync(null);
          take();
          return;
        }
        if (this.packet.streamIndex !== this.stream.index) {
          this.packet.unref();
          continue;
        }
        const dts = this.packet.dts;
        if (drainAfter !== undefined && dts !== C.AV_NOPTS_VALUE && dts > drainAfter) {
          this.drained = true;
          this.ctx.sendPacketSync(null);
          take();
          return;
        }
        const pts = this.packet.pts !== C.AV_NOPTS_VALUE ? this.packet.pts : dts;
        if (this.packet.isKeyframe) {
          this.lastKeyRead = pts;
          this.keysRead.push(pts);
          if (this.keysRead.length > 64) this.keysRead.shift();
        }
        if (this.packet.pts !== dts) this.ptsAreDts = false;
        if (this.lastReadPts === undefined || pts > this.lastReadPts) this.lastReadPts = pts;
        if (drainAfter === undefined) {
          if (skip(pts) && unreferenced()) this.skipped.push(pts);
          else if (!send(this.packet, pts)) return;
        } else if (pts > drainAfter || skip(pts)) {
          const packet = unreferenced() ? undefined : this.packet.clone();
          if (packet === undefined) this.skipped.push(pts);
          else if (packet === null) throw new CodecError(`${this.path}: could not hold the packet at pts ${pts} (out of memory?).`);
          else held.push({ packet, pts });
        } else {
          while (held.length > 0) {
            const h = held.shift()!;
            let more: boolean;
            try {
              more = send(h.packet, h.pts);
            } finally {
              h.packet.free();
            }
            if (!more) return;
          }
          if (!send(this.packet, pts)) return;
        }
        this.packet.unref();
      }
    } finally {
      this.packet.unref();
      // Packets held and never sent (the stream ended first): the decoder cannot go on from here.
      if (held.length > 0) this.drained = true;
      for (const h of held) h.packet.free();
    }
  }

  /** Frees the demuxer, decoder and frames. */
  close(): void {
    this.ctx.freeContext();
    this.fc.closeInputSync();
    this.prev.free();
    this.next.free();
    this.packet.free();
  }
}
