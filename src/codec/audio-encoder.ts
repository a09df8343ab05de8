import { Codec, CodecContext, Dictionary, Frame as AvFrame, Packet, Rational } from 'node-av/lib';
import * as C from 'node-av/constants';
import type { AVSampleFormat } from 'node-av/constants';
import { CodecError, InvalidArgumentError } from '../core/errors.js';
import { quietFfmpegLogs } from './ffmpeg-log.js';

/** Audio codecs framebus encodes into MP4: Opus (what Chromium's MSE plays in MP4) and AAC-LC. */
export const AUDIO_CODECS = ['opus', 'aac'] as const;
export type AudioCodec = (typeof AUDIO_CODECS)[number];

/** Sample rates Opus codes, in Hz. */
export const OPUS_SAMPLE_RATES = [48000, 24000, 16000, 12000, 8000] as const;

/** How to encode audio. */
export interface AudioEncoderOptions {
  /** Default `'opus'`. */
  codec?: AudioCodec;
  /** Samples per second per channel, Hz. Opus takes 8000, 12000, 16000, 24000 or 48000. */
  sampleRate: number;
  /** 1 (mono) or 2 (stereo). */
  channels: number;
  /** Target bitrate, bits per second. Default 96000 (Opus) or 128000 (AAC). */
  bitrate?: number;
}

/** One encoded audio packet. */
export interface AudioPacket {
  readonly data: Uint8Array;
  /** Presentation time in samples at the encoder's rate from the first sample given; negative for codec priming. */
  readonly pts: bigint;
  /** Samples this packet decodes to. */
  readonly duration: number;
}

const ENCODERS: Record<AudioCodec, string> = { opus: 'libopus', aac: 'aac' };

/** Checks audio options, throwing an `InvalidArgumentError` naming the bad one. */
export function checkAudioOptions(o: AudioEncoderOptions): void {
  const codec = o.codec ?? 'opus';
  if (!(AUDIO_CODECS as readonly string[]).includes(codec)) {
    throw new InvalidArgumentError(`Unknown audio codec ${JSON.stringify(codec)}; expected ${AUDIO_CODECS.join(' or ')}.`);
  }
  if (o.channels !== 1 && o.channels !== 2) throw new InvalidArgumentError(`Audio channels must be 1 or 2, got ${String(o.channels)}.`);
  if (!Number.isInteger(o.sampleRate) || o.sampleRate < 8000 || o.sampleRate > 96000) {
    throw new InvalidArgumentError(`Audio sample rate must be a whole number of Hz from 8000 to 96000, got ${String(o.sampleRate)}.`);
  }
  if (codec === 'opus' && !(OPUS_SAMPLE_RATES as readonly number[]).includes(o.sampleRate)) {
    throw new InvalidArgumentError(`Opus codes ${OPUS_SAMPLE_RATES.join(', ')} Hz; got ${o.sampleRate} Hz (use codec 'aac' or resample).`);
  }
  if (o.bitrate !== undefined && !(Number.isInteger(o.bitrate) && o.bitrate > 0)) {
    throw new InvalidArgumentError(`Audio bitrate must be a positive whole number of bits per second, got ${String(o.bitrate)}.`);
  }
}

/**
 * Encodes interleaved float PCM into Opus or AAC packets, keeping a remainder shorter than
 * one codec frame between calls so a stream can be fed in pieces of any length.
 */
export class AudioEncoder {
  readonly codec: AudioCodec;
  readonly sampleRate: number;
  readonly channels: number;
  /** Samples per channel in each codec frame (960 for Opus at 48 kHz, 1024 for AAC). */
  readonly frameSize: number;

  private readonly frame = new AvFrame();
  private readonly packet = new Packet();
  private readonly planar: boolean;
  private pending: Float32Array;
  private pendingSamples = 0;
  private nextPts = 0n;
  private closed = false;

  private constructor(
    private readonly ctx: CodecContext,
    options: AudioEncoderOptions,
    private readonly format: AVSampleFormat,
  ) {
    this.codec = options.codec ?? 'opus';
    this.sampleRate = options.sampleRate;
    this.channels = options.channels;
    this.frameSize = ctx.frameSize > 0 ? ctx.frameSize : 1024;
    this.planar = format === C.AV_SAMPLE_FMT_FLTP;
    this.pending = new Float32Array(this.frameSize * this.channels);
    this.packet.alloc();
    this.frame.alloc();
  }

  /**
   * Opens an encoder.
   * @throws InvalidArgumentError for bad options; CodecError when this FFmpeg build has no such encoder.
   */
  static async create(options: AudioEncoderOptions): Promise<AudioEncoder> {
    checkAudioOptions(options);
    quietFfmpegLogs();
    const name = ENCODERS[options.codec ?? 'opus'];
    const codec = Codec.findEncoderByName(name as Parameters<typeof Codec.findEncoderByName>[0]);
    if (!codec) throw new CodecError(`Audio encoder ${name} is not in this FFmpeg build.`);
    const formats = codec.sampleFormats ?? [];
    const format = [C.AV_SAMPLE_FMT_FLT, C.AV_SAMPLE_FMT_FLTP].find((f) => formats.includes(f));
    if (format === undefined) throw new CodecError(`Audio encoder ${name} takes no float samples.`);
    const ctx = new CodecContext();
    ctx.allocContext3(codec);
    ctx.sampleRate = options.sampleRate;
    ctx.sampleFormat = format;
    ctx.channelLayout = (options.channels === 1 ? C.AV_CHANNEL_LAYOUT_MONO : C.AV_CHANNEL_LAYOUT_STEREO);
    ctx.timeBase = new Rational(1, options.sampleRate);
    ctx.bitRate = BigInt(options.bitrate ?? (options.codec === 'aac' ? 128000 : 96000));
    // The MP4 muxer needs the codec configuration (dOps, esds) before the first packet.
    ctx.flags = C.AV_CODEC_FLAG_GLOBAL_HEADER;
    const ret = await ctx.open2(codec, Dictionary.fromObject({}));
    if (ret < 0) {
      ctx.freeContext();
      throw new CodecError(`Cannot open audio encoder ${name} for ${options.sampleRate} Hz, ${options.channels} channel(s) (FFmpeg error ${ret}).`);
    }
    return new AudioEncoder(ctx, options, format);
  }

  /** The open codec context, for a muxer to copy its parameters from. */
  get context(): CodecContext {
    return this.ctx;
  }

  /**
   * Encodes interleaved samples (`channels` values per sample time, nominally -1..1).
   * @returns the packets that became ready.
   */
  encode(samples: Float32Array): AudioPacket[] {
    if (this.closed) throw new CodecError('Audio encoder is closed.');
    const out: AudioPacket[] = [];
    const ch = this.channels;
    const frameValues = this.frameSize * ch;
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(samples.length - offset, frameValues - this.pendingSamples * ch);
      this.pending.set(samples.subarray(offset, offset + take), this.pendingSamples * ch);
      this.pendingSamples += take / ch;
      offset += take;
      if (this.pendingSamples === this.frameSize) {
        this.sendFrame(this.pending, this.frameSize, out);
        this.pendingSamples = 0;
      }
    }
    return out;
  }

  /** Encodes the remainder (a short last frame) and everything the encoder holds. */
  flush(): AudioPacket[] {
    if (this.closed) return [];
    const out: AudioPacket[] = [];
    if (this.pendingSamples > 0) {
      this.sendFrame(this.pending, this.pendingSamples, out);
      this.pendingSamples = 0;
    }
    this.ctx.sendFrameSync(null);
    this.drain(out);
    return out;
  }

  private sendFrame(samples: Float32Array, count: number, out: AudioPacket[]): void {
    const f = this.frame;
    f.unref();
    f.format = this.format;
    f.sampleRate = this.sampleRate;
    f.channelLayout = this.ctx.channelLayout;
    f.nbSamples = count;
    if (f.getBuffer(0) < 0) throw new CodecError('Cannot allocate an audio frame.');
    const data = f.data ?? [];
    const ch = this.channels;
    if (this.planar) {
      for (let c = 0; c < ch; c++) {
        const plane = new Float32Array(data[c].buffer, data[c].byteOffset, count);
        for (let i = 0; i < count; i++) plane[i] = samples[i * ch + c];
      }
    } else {
      new Float32Array(data[0].buffer, data[0].byteOffset, count * ch).set(samples.subarray(0, count * ch));
    }
    f.pts = this.nextPts;
    this.nextPts += BigInt(count);
    const ret = this.ctx.sendFrameSync(f);
    if (ret < 0) throw new CodecError(`The ${this.codec} encoder rejected audio (FFmpeg error ${ret}).`);
    this.drain(out);
  }

  private drain(out: AudioPacket[]): void {
    for (;;) {
      if (this.ctx.receivePacketSync(this.packet) < 0) break;
      const data = this.packet.data;
      if (data) out.push({ data: new Uint8Array(data), pts: this.packet.pts, duration: Number(this.packet.duration) });
      this.packet.unref();
    }
  }

  /** Frees the encoder. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.freeContext();
    this.frame.free();
    this.packet.free();
  }
}
