import { AudioEncoder } from '../codec/audio-encoder.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import { FramebusError, InvalidArgumentError } from '../core/errors.js';
import { frameFromPacked } from '../core/frame.js';
import type { VideoCodec } from '../core/packet.js';
import { FMP4_VIDEO_TIMESCALE, Fmp4Muxer } from './fmp4-muxer.js';
import type { AudioPacket } from '../codec/audio-encoder.js';
import type { WorkerCommand, WorkerReply } from './segment-types.js';

type OpenOptions = Extract<WorkerCommand, { type: 'open' }>['options'];

/** Wall-clock ms comparable across threads. */
export function absoluteNow(): number {
  return performance.timeOrigin + performance.now();
}

interface SegmentState {
  index: number;
  frames: number;
  inFragment: number;
  fragmentStartTick: bigint;
  workMs: number;
  audioPadded: number;
  audioCut: number;
  audioStart: bigint;
  /** A fragment has its frames and waits for the PCM of its last frame (see `addVideo`). */
  flushDue: boolean;
  /** PCM arrived in this segment. */
  audioSeen: boolean;
}

/**
 * The packaging side of a segment stream, run by the worker: encodes each segment's frames
 * once (one encoder for the whole stream, a key frame at every segment start), encodes its
 * audio, and packages both as fragmented MP4 on one continuous timeline. Commands are
 * handled strictly in order; replies go to `reply`.
 */
export class SegmentPackager {
  private video: VideoEncoder | undefined;
  private audio: AudioEncoder | undefined;
  private muxer: Fmp4Muxer | undefined;
  private stream: { codec: VideoCodec; width: number; height: number } | undefined;
  private readonly tick: bigint;
  /** Next video presentation time, 90 kHz ticks. */
  private videoTick = 0n;
  /** Audio samples per channel given to the encoder so far. */
  private audioFed = 0n;
  /** Encoded audio waiting for the video to catch up, in time order. */
  private audioQueue: AudioPacket[] = [];
  /** The current segment's PCM not yet given to the encoder. */
  private pcm: Float32Array[] = [];
  private segment: SegmentState | undefined;
  /** The producer hands PCM between frames (a frame followed PCM in a segment): a full fragment then waits for its audio. */
  private audioInterleaved = false;
  /** When the command being handled started, `performance.now()` ms. */
  private commandStarted = 0;

  private constructor(
    private readonly options: OpenOptions,
    private readonly reply: (message: WorkerReply, transfer?: ArrayBuffer[]) => void,
  ) {
    this.tick = BigInt(Math.round(FMP4_VIDEO_TIMESCALE / options.fps));
  }

  static async open(options: OpenOptions, reply: (message: WorkerReply, transfer?: ArrayBuffer[]) => void): Promise<SegmentPackager> {
    const packager = new SegmentPackager(options, reply);
    if (options.audio) packager.audio = await AudioEncoder.create(options.audio);
    return packager;
  }

  /** Handles one command; a failure becomes an `error` reply naming the segment, and false. */
  async handle(command: WorkerCommand): Promise<boolean> {
    const started = (this.commandStarted = performance.now());
    try {
      await this.dispatch(command);
      return true;
    } catch (error) {
      const e = error instanceof FramebusError ? error : new FramebusError('packaging', (error as Error)?.message ?? String(error));
      this.reply({ type: 'error', segment: this.segment?.index ?? ('segment' in command ? command.segment : -1), message: e.message, code: e.code });
      this.segment = undefined;
      return false;
    } finally {
      if (this.segment) this.segment.workMs += performance.now() - started;
    }
  }

  private async dispatch(command: WorkerCommand): Promise<void> {
    switch (command.type) {
      case 'begin':
        this.segment = { index: command.segment, frames: 0, inFragment: 0, fragmentStartTick: this.videoTick, workMs: 0, audioPadded: 0, audioCut: 0, audioStart: this.audioFed, flushDue: false, audioSeen: false };
        this.pcm = [];
        this.video?.requestKeyframe();
        this.reply({ type: 'started', segment: command.segment, at: absoluteNow() });
        return;
      case 'frame': {
        const frame = frameFromPacked(command.data, { width: command.width, height: command.height, format: command.format, timestamp: this.videoTick });
        this.video ??= await this.openVideo();
        if (this.current().frames === 0) this.video.requestKeyframe();
        for (const p of await this.video.encode(frame)) this.addVideo(p.codec, p.data, p.key, p.width, p.height);
        return;
      }
      case 'packet':
        if (this.current().frames === 0 && !command.key) {
          throw new InvalidArgumentError(`Segment ${command.segment} starts with a delta packet; a segment must start with a key packet.`);
        }
        this.addVideo(command.codec, command.data, command.key, command.width, command.height);
        return;
      case 'audio':
        if (!this.audio) throw new InvalidArgumentError('This stream has no audio track; create the streamer with `audio` options.');
        this.pcm.push(command.samples);
        this.current().audioSeen = true;
        if (this.current().flushDue && this.pcmCoversVideo()) this.flushFragment(false);
        return;
      case 'end':
        this.endSegment(command.final === true);
        return;
      case 'discard':
        // Nothing of an empty segment reached the muxer: forget it.
        this.segment = undefined;
        this.pcm = [];
        this.reply({ type: 'discarded', segment: command.segment });
        return;
      case 'open':
      case 'ring':
      case 'close':
        return;
    }
  }

  private current(): SegmentState {
    if (!this.segment) throw new InvalidArgumentError('Samples arrived outside a segment.');
    return this.segment;
  }

  private openVideo(): Promise<VideoEncoder> {
    const o = this.options;
    // Key frames come at segment starts; the GOP bound only matters for segments over 10 s.
    return VideoEncoder.create({ ...o.encoder, width: o.width, height: o.height, fps: o.fps, gop: Math.round(o.fps * 10), log: () => {} });
  }

  private addVideo(codec: VideoCodec, data: Uint8Array, key: boolean, width: number, height: number): void {
    const seg = this.current();
    if (seg.flushDue) this.flushFragment(false);
    if (seg.audioSeen) this.audioInterleaved = true;
    if (!this.stream) {
      if (!key) throw new InvalidArgumentError('The stream must start with a key frame.');
      this.stream = { codec, width, height };
      this.muxer = Fmp4Muxer.open({ codec, width, height, keyPacket: data }, this.audio);
      const init = this.muxer.init.slice();
      this.reply({ type: 'init', bytes: init, mimeType: this.muxer.mimeType, codecs: this.muxer.codecs }, [init.buffer as ArrayBuffer]);
    } else if (codec !== this.stream.codec || width !== this.stream.width || height !== this.stream.height) {
      throw new InvalidArgumentError(
        `Segment ${seg.index} has ${codec} ${width}x${height} video; the stream is ${this.stream.codec} ${this.stream.width}x${this.stream.height}, and one fMP4 track holds one codec and size.`,
      );
    }
    this.muxer!.writeVideo(data, this.videoTick, this.tick, key);
    this.videoTick += this.tick;
    seg.frames++;
    seg.inFragment++;
    if (seg.inFragment < this.options.fragmentFrames) return;
    // A producer that hands each frame's PCM after the frame would see every fragment's audio
    // end a frame short of its video (a muxed SourceBuffer plays only where both are buffered):
    // the fragment waits for that PCM, at most until the next frame.
    if (this.audio && this.audioInterleaved && !this.pcmCoversVideo()) seg.flushDue = true;
    else this.flushFragment(false);
  }

  /** The PCM handed over reaches the video's end. */
  private pcmCoversVideo(): boolean {
    const ch = this.options.audio!.channels;
    const held = this.pcm.reduce((sum, p) => sum + p.length / ch, 0);
    return this.audioFed + BigInt(held) >= (this.videoTick * BigInt(this.options.audio!.sampleRate)) / BigInt(FMP4_VIDEO_TIMESCALE);
  }

  /**
   * Encodes PCM up to the video's end (all of it, padded or cut, at a segment end) and ends a
   * fragment; at the stream's final segment the audio encoder gives up what it still holds.
   */
  private flushFragment(segmentEnd: boolean, final = false): void {
    const seg = this.current();
    if (this.audio) this.feedAudio(seg, segmentEnd);
    if (this.audio && final) this.audioQueue.push(...this.audio.flush());
    const audioEnd = final ? BigInt(Number.MAX_SAFE_INTEGER) : (this.videoTick * BigInt(this.options.audio?.sampleRate ?? 0)) / BigInt(FMP4_VIDEO_TIMESCALE);
    while (this.audioQueue.length > 0 && this.audioQueue[0].pts < audioEnd) this.muxer!.writeAudio(this.audioQueue.shift()!);
    const bytes = this.muxer!.flushFragment();
    const startTime = Number(seg.fragmentStartTick) / FMP4_VIDEO_TIMESCALE;
    const endTime = Number(this.videoTick) / FMP4_VIDEO_TIMESCALE;
    seg.inFragment = 0;
    seg.flushDue = false;
    seg.fragmentStartTick = this.videoTick;
    if (bytes.byteLength === 0) return;
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    this.reply({ type: 'chunk', segment: seg.index, bytes: own, startTime, endTime, at: absoluteNow() }, [own.buffer as ArrayBuffer]);
  }

  private feedAudio(seg: SegmentState, segmentEnd: boolean): void {
    const rate = BigInt(this.options.audio!.sampleRate);
    const ch = this.options.audio!.channels;
    const target = (this.videoTick * rate) / BigInt(FMP4_VIDEO_TIMESCALE);
    while (this.pcm.length > 0 && this.audioFed < target) {
      const piece = this.pcm[0];
      const room = Number(target - this.audioFed) * ch;
      const take = piece.subarray(0, Math.min(room, piece.length));
      this.audioQueue.push(...this.audio!.encode(take));
      this.audioFed += BigInt(take.length / ch);
      if (take.length === piece.length) this.pcm.shift();
      else this.pcm[0] = piece.subarray(take.length);
    }
    if (!segmentEnd) return;
    for (const rest of this.pcm) seg.audioCut += rest.length / ch;
    this.pcm = [];
    if (this.audioFed < target) {
      const missing = Number(target - this.audioFed);
      this.audioQueue.push(...this.audio!.encode(new Float32Array(missing * ch)));
      this.audioFed = target;
      seg.audioPadded += missing;
    }
  }

  private endSegment(final: boolean): void {
    const seg = this.current();
    if (seg.frames === 0) throw new InvalidArgumentError(`Segment ${seg.index} has no video frames.`);
    this.flushFragment(true, final);
    this.segment = undefined;
    this.reply({
      type: 'complete',
      segment: seg.index,
      encodeMs: seg.workMs + performance.now() - this.commandStarted,
      frames: seg.frames,
      audioSamples: Number(this.audioFed - seg.audioStart),
      audioPadded: seg.audioPadded,
      audioCut: seg.audioCut,
    });
  }

  /** Frees the encoders and the muxer. Idempotent. */
  close(): void {
    this.video?.close();
    this.audio?.close();
    this.muxer?.close();
  }
}
