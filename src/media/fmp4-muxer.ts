import { CodecParameters, Dictionary, FormatContext, IOContext, Packet, Rational } from 'node-av/lib';
import * as C from 'node-av/constants';
import type { AVCodecID } from 'node-av/constants';
import { CodecError, InvalidArgumentError } from '../core/errors.js';
import type { VideoCodec } from '../core/packet.js';
import type { AudioEncoder, AudioPacket } from '../codec/audio-encoder.js';
import { quietFfmpegLogs } from '../codec/ffmpeg-log.js';
import { codecConfig } from './codec-config.js';

/** The video track of a fragmented MP4. */
export interface Fmp4VideoTrack {
  codec: VideoCodec;
  /** Coded size in pixels. */
  width: number;
  height: number;
  /** The first key packet's bytes (Annex B for H.264/H.265): its parameter sets become the track's configuration. */
  keyPacket: Uint8Array;
}

/** Video timescale of every fMP4 framebus writes: 90 kHz, exact for 24, 25, 30 and 60 fps. */
export const FMP4_VIDEO_TIMESCALE = 90000;

/** Codecs a browser plays from fragmented MP4 (FFV1, framebus's lossless depth codec, is not one). */
const CODEC_IDS: Partial<Record<VideoCodec, AVCodecID>> = {
  h264: C.AV_CODEC_ID_H264,
  h265: C.AV_CODEC_ID_HEVC,
  av1: C.AV_CODEC_ID_AV1,
};

/**
 * FFmpeg's MP4 muxer in fragmented mode, writing to memory: `init` is the initialization
 * segment (ftyp+moov, no samples) and each `flushFragment()` returns one `moof`+`mdat` pair
 * holding the samples written since the last flush. Fragments carry their decode time
 * (`tfdt`) so they continue one timeline; the caller decides where fragments end.
 *
 * Samples are written per track in decode order (the caller interleaves), video times in
 * 90 kHz ticks and audio times in samples.
 */
export class Fmp4Muxer {
  /** The initialization segment: append it to a `SourceBuffer` (or a file) before any fragment. */
  readonly init: Uint8Array;
  /** RFC 6381 codec list, e.g. `avc1.64001e,opus`. */
  readonly codecs: string;
  /** MIME type for `MediaSource.addSourceBuffer`, e.g. `video/mp4; codecs="avc1.64001e,opus"`. */
  readonly mimeType: string;

  private readonly packet = new Packet();
  private pieces: Buffer[] = [];
  private videoTimeBase = { num: 1, den: FMP4_VIDEO_TIMESCALE };
  private audioTimeBase = { num: 1, den: 48000 };
  private audioSourceRate = 48000;
  private closed = false;

  private constructor(
    private readonly ctx: FormatContext,
    private readonly io: IOContext,
    private readonly hasAudio: boolean,
  ) {
    this.packet.alloc();
    this.init = new Uint8Array(0);
    this.codecs = '';
    this.mimeType = '';
  }

  /**
   * Opens the muxer and writes the initialization segment.
   * @throws InvalidArgumentError when the key packet holds no codec configuration; CodecError when FFmpeg refuses the tracks.
   */
  static open(video: Fmp4VideoTrack, audio?: AudioEncoder): Fmp4Muxer {
    const codecId = CODEC_IDS[video.codec];
    if (codecId === undefined) throw new InvalidArgumentError(`Live fMP4 carries H.264, H.265 or AV1 video, not ${video.codec}.`);
    quietFfmpegLogs();
    const ctx = new FormatContext();
    let ret = ctx.allocOutputContext2(null, 'mp4', null);
    if (ret < 0) throw new CodecError(`Cannot create an MP4 muxer (FFmpeg error ${ret}).`);
    const io = new IOContext();
    let muxer: Fmp4Muxer | undefined;
    io.allocContextWithCallbacks(65536, 1, null, (buffer: Buffer) => {
      muxer?.pieces.push(Buffer.from(buffer));
      return buffer.length;
    });
    ctx.pb = io;
    ctx.setFlags(C.AVFMT_FLAG_CUSTOM_IO);
    muxer = new Fmp4Muxer(ctx, io, audio !== undefined);
    try {
      const vs = ctx.newStream(null);
      const par = vs.codecpar;
      par.codecType = C.AVMEDIA_TYPE_VIDEO;
      par.codecId = codecId;
      par.width = video.width;
      par.height = video.height;
      par.format = C.AV_PIX_FMT_YUV420P;
      par.extradata = codecConfig(video.codec, video.keyPacket);
      vs.timeBase = new Rational(1, FMP4_VIDEO_TIMESCALE);
      if (audio) {
        const as = ctx.newStream(null);
        if (as.codecpar.fromContext(audio.context) < 0) throw new CodecError('Cannot copy the audio encoder parameters to the MP4 muxer.');
        as.timeBase = new Rational(1, audio.sampleRate);
        muxer.audioSourceRate = audio.sampleRate;
      }
      // frag_custom: a fragment ends exactly when flushFragment() asks, never on the muxer's own guess.
      ret = ctx.writeHeaderSync(Dictionary.fromObject({ movflags: '+frag_custom+empty_moov+default_base_moof' }));
      if (ret < 0) throw new CodecError(`The MP4 muxer refused the tracks (FFmpeg error ${ret}).`);
      muxer.videoTimeBase = { num: vs.timeBase.num, den: vs.timeBase.den };
      if (audio) {
        const tb = ctx.streams![1].timeBase;
        muxer.audioTimeBase = { num: tb.num, den: tb.den };
      }
      const codecs = ctx.streams!.map((s) => codecString(s.codecpar)).join(',');
      Object.assign(muxer, { codecs, mimeType: `video/mp4; codecs="${codecs}"`, init: muxer.takeBytes() });
      return muxer;
    } catch (error) {
      muxer.release();
      throw error;
    }
  }

  /** Adds one video sample; `pts` and `duration` in 90 kHz ticks on the stream's timeline. */
  writeVideo(data: Uint8Array, pts: bigint, duration: bigint, key: boolean): void {
    this.write(0, data, pts, duration, key, this.videoTimeBase, { num: 1, den: FMP4_VIDEO_TIMESCALE });
  }

  /** Adds one audio packet from the track's encoder. */
  writeAudio(packet: AudioPacket): void {
    if (!this.hasAudio) throw new InvalidArgumentError('This fMP4 stream has no audio track.');
    this.write(1, packet.data, packet.pts, BigInt(packet.duration), true, this.audioTimeBase, { num: 1, den: this.audioSourceRate });
  }

  private write(stream: number, data: Uint8Array, pts: bigint, duration: bigint, key: boolean, to: { num: number; den: number }, from: { num: number; den: number }): void {
    if (this.closed) throw new InvalidArgumentError('This fMP4 muxer is closed.');
    const pkt = this.packet;
    pkt.data = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    pkt.pts = pts;
    pkt.dts = pts;
    pkt.duration = duration;
    pkt.streamIndex = stream;
    pkt.isKeyframe = key;
    pkt.rescaleTs(from, to);
    const ret = this.ctx.writeFrameSync(pkt);
    pkt.unref();
    if (ret < 0) throw new CodecError(`The MP4 muxer refused a ${stream === 0 ? 'video' : 'audio'} sample at ${pts} (FFmpeg error ${ret}).`);
  }

  /** Ends the current fragment and returns its bytes (`moof`+`mdat`); empty when nothing was written since the last flush. */
  flushFragment(): Uint8Array {
    const ret = this.ctx.writeFrameSync(null);
    if (ret < 0) throw new CodecError(`The MP4 muxer could not end a fragment (FFmpeg error ${ret}).`);
    return this.takeBytes();
  }

  private takeBytes(): Uint8Array {
    this.io.flushSync();
    const bytes = this.pieces.length === 1 ? this.pieces[0] : Buffer.concat(this.pieces);
    this.pieces = [];
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Frees the muxer without writing a trailer (a live stream has no end index). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  private release(): void {
    this.ctx.pb = null;
    this.io.freeContext();
    this.ctx.freeContext();
    this.packet.free();
  }
}

function codecString(par: CodecParameters): string {
  const s = par.getCodecString();
  if (!s) throw new CodecError(`FFmpeg gives no MIME codec string for codec id ${par.codecId}.`);
  return s;
}
