import { BitStreamFilterAPI, Demuxer } from 'node-av/api';
import { Packet, type Stream } from 'node-av/lib';
import * as C from 'node-av/constants';
import { InvalidArgumentError, MalformedDataError } from '../core/errors.js';
import { checkOutputPath } from '../core/output-file.js';
import { secondsToNs } from '../core/time.js';
import type { VideoPacket } from '../core/packet.js';
import { quietFfmpegLogs } from '../codec/ffmpeg-log.js';
import { FrameReorderCheck } from '../codec/frame-reordering.js';
import { isKeyAccessUnit } from '../codec/keyframe-detect.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import type { VideoEncoderOptions } from '../codec/video-encoder-options.js';
import { logToStderr, type LogSink } from '../core/log.js';
import { FileSource, frameRateOf, framesMissing } from '../source/file-source.js';
import { PresentationTimes } from '../source/presentation-times.js';
import { Recording, type RecordingOptions, type RecordingSummary } from '../store/recording.js';
import { checkInputFile } from '../core/input-file.js';

/** How to import a video. */
export interface ImportOptions extends RecordingOptions {
  /** Name of the stream in the recording. Default `video`. */
  stream?: string;
  /** Timestamp of the video's first frame, ns since the Unix epoch. Default 0 (file time). */
  startTimestamp?: bigint;
  /** Import at most this many frames. */
  frames?: number;
  /** Encoder settings when the video has to be transcoded. Default: H.264 with VideoEncoder's defaults at the file's size and rate. */
  encoder?: Partial<VideoEncoderOptions>;
  /** Called after each frame: frames done and the total when known. */
  onProgress?: (done: number, total: number | undefined) => void;
  /** Receives warnings: derived timestamps, frames lost to damage. Default: stderr. */
  warn?: LogSink;
}

/** What an import did. */
export interface ImportSummary extends RecordingSummary {
  /** `remux`: the file's H.264 or H.265 packets were kept; `transcode`: decoded and encoded once. */
  mode: 'remux' | 'transcode';
  /** Why the video was transcoded, when it was. */
  reason?: string;
}

/**
 * The packets of one stream, read with FormatContext.readFrame: node-av's `Demuxer.packets()`
 * needs `Promise.withResolvers`, which Node 20 lacks. Each packet is valid until the next.
 */
async function* streamPackets(demuxer: Demuxer, index: number): AsyncGenerator<Packet> {
  const ctx = demuxer.getFormatContext();
  const packet = new Packet();
  packet.alloc();
  try {
    while ((await ctx.readFrame(packet)) >= 0) {
      if (packet.streamIndex === index) yield packet;
      packet.unref();
    }
  } finally {
    packet.free();
  }
}

/** Bitstream filters that turn MP4/MKV packets into Annex B with parameter sets on key packets. */
const ANNEX_B_FILTERS = { h264: 'h264_mp4toannexb', h265: 'hevc_mp4toannexb' } as const;

/** The codec a recording can keep a stream's packets in, or undefined when it must be transcoded. */
function remuxCodecOf(stream: Stream): 'h264' | 'h265' | undefined {
  const id = stream.codecpar.codecId;
  return id === C.AV_CODEC_ID_H264 ? 'h264' : id === C.AV_CODEC_ID_HEVC ? 'h265' : undefined;
}

/**
 * Decides whether a video can be remuxed: H.264 or H.265 whose bitstream says its pictures are shown in
 * decode order (no frame reordering), judged from the SPS and picture order counts, never from
 * container timestamps (which some muxers write as pts = dts even with B-frames), and whose
 * every packet decodes cleanly (a recording must not hold a packet that shows damaged).
 */
async function remuxable(input: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  const demuxer = await Demuxer.open(input);
  let filter: BitStreamFilterAPI | undefined;
  let decoder: VideoDecoder | undefined;
  try {
    const stream = demuxer.video();
    if (!stream) throw new MalformedDataError(`${input} has no video stream.`);
    const codec = remuxCodecOf(stream);
    if (!codec) return { ok: false, reason: 'the video is neither H.264 nor H.265' };
    const name = codec === 'h264' ? 'H.264' : 'H.265';
    filter = BitStreamFilterAPI.create(ANNEX_B_FILTERS[codec], stream);
    decoder = await VideoDecoder.create({ codec, format: 'yuv420p' });
    let damaged = false;
    decoder.onWaiting((event) => {
      if (event.reason === 'corrupt') damaged = true;
    });
    const { width, height } = stream.codecpar;
    const check = new FrameReorderCheck(codec);
    let sequence = 0;
    for await (const packet of streamPackets(demuxer, stream.index)) {
      for (const out of await filter.filterAll(packet)) {
        const data = out.data ? Buffer.from(out.data) : undefined;
        out.free();
        if (!data) continue;
        const why = check.inspect(data);
        if (why) return { ok: false, reason: `the ${name} video needs frame reordering: ${why}` };
        let key: boolean;
        try {
          key = isKeyAccessUnit(codec, data);
        } catch {
          return { ok: false, reason: `the ${name} stream has damaged packets` };
        }
        await decoder.decode({ kind: 'video-packet', codec, data, key, timestamp: BigInt(sequence), sequence, frameId: sequence, width, height });
        sequence++;
        if (damaged) return { ok: false, reason: `the ${name} stream has damaged packets` };
      }
    }
    return { ok: true };
  } finally {
    decoder?.close();
    filter?.close();
    await demuxer.close();
  }
}

/**
 * Imports any video FFmpeg reads into a new recording. H.264 or H.265 without B-frames is
 * remuxed: its packets are converted to Annex B (`h264_mp4toannexb`/`hevc_mp4toannexb`, so key packets carry their parameter sets)
 * and stored as they are. Anything else is decoded and encoded once with `VideoEncoder`.
 * The recording appears at `recordingPath` only once complete; a failed import leaves nothing.
 * @throws NotFoundError when the input does not exist; MalformedDataError when FFmpeg cannot
 *   read it or it has no video; InvalidArgumentError for bad options or an output that is
 *   the input, a folder or a special file (checked before anything is read).
 */
export async function importVideo(input: string, recordingPath: string, options: ImportOptions = {}): Promise<ImportSummary> {
  quietFfmpegLogs();
  await checkInputFile(input, 'Video file');
  await checkOutputPath(recordingPath, { inputs: [input], overwrite: options.overwrite });
  if (options.frames !== undefined && !(Number.isInteger(options.frames) && options.frames > 0)) {
    throw new InvalidArgumentError(`frames must be a positive whole number, got ${String(options.frames)}.`);
  }
  let check: Awaited<ReturnType<typeof remuxable>>;
  try {
    check = await remuxable(input);
  } catch (error) {
    if (error instanceof MalformedDataError) throw error;
    throw new MalformedDataError(`FFmpeg cannot read ${input}: ${(error as Error).message}`, { cause: error });
  }
  if (check.ok) {
    const summary = await remux(input, recordingPath, options);
    if (summary) return { ...summary, mode: 'remux' };
    check = { ok: false, reason: 'its first packet is not a key frame with its parameter sets' };
  }
  return { ...(await transcode(input, recordingPath, options)), mode: 'transcode', reason: check.reason };
}

/** Copies the H.264/H.265 packets; undefined (and no file) when the stream does not start with a key packet. */
async function remux(input: string, recordingPath: string, options: ImportOptions): Promise<RecordingSummary | undefined> {
  const demuxer = await Demuxer.open(input);
  let recording: Recording | undefined;
  let filter: BitStreamFilterAPI | undefined;
  try {
    const stream = demuxer.video()!;
    const codec = remuxCodecOf(stream)!;
    filter = BitStreamFilterAPI.create(ANNEX_B_FILTERS[codec], stream);
    const total = Number(stream.nbFrames) || undefined;
    const start = options.startTimestamp ?? 0n;
    const { width, height } = stream.codecpar;
    const tb = stream.timeBase;
    // Without reordering, decode order is presentation order: times only need repairing
    // where the file has none (raw Annex B) or repeats them.
    const times = new PresentationTimes<Buffer>({
      fps: frameRateOf(stream),
      depth: 0,
      onFirstRepair: (index) => (options.warn ?? logToStderr)(`${input}: packet ${index} has a missing, repeated or backwards timestamp; such packets are timed from the frame rate.`),
    });
    let first: number | undefined;
    let last = 0;
    let sequence = 0;
    const store = async (data: Buffer, ticks: bigint): Promise<boolean> => {
      const [{ seconds }] = times.push(data, ticks !== C.AV_NOPTS_VALUE && tb.den > 0 ? (Number(ticks) * tb.num) / tb.den : undefined);
      first ??= seconds;
      last = seconds;
      const packet: VideoPacket = {
        kind: 'video-packet',
        codec,
        data,
        key: isKeyAccessUnit(codec, data),
        timestamp: start + secondsToNs(seconds - first, `packet time in ${input}`),
        sequence,
        frameId: sequence,
        width,
        height,
      };
      if (sequence === 0 && !packet.key) return false;
      recording ??= await Recording.create(recordingPath, options);
      const s = recording.stream(options.stream ?? 'video') ?? recording.addStream(options.stream ?? 'video', { codec });
      await s.writePacket(packet);
      sequence++;
      options.onProgress?.(sequence, total);
      return true;
    };
    for await (const packet of streamPackets(demuxer, stream.index)) {
      for (const out of await filter.filterAll(packet)) {
        const data = out.data;
        const ticks = out.pts !== C.AV_NOPTS_VALUE ? out.pts : out.dts;
        out.free();
        if (data && options.frames !== undefined && sequence >= options.frames) break;
        if (data && !(await store(Buffer.from(data), ticks))) return undefined;
      }
      if (options.frames !== undefined && sequence >= options.frames) break;
    }
    if (!recording) return undefined;
    const whole = options.frames === undefined || sequence < options.frames;
    const lost = whole ? framesMissing(stream, demuxer, { decoded: sequence, hidden: 0, lastSeconds: last - (first ?? 0), fps: frameRateOf(stream) }) : 0;
    if (lost > 0) (options.warn ?? logToStderr)(`${input}: ${lost} frame${lost === 1 ? '' : 's'} are missing (the file is truncated or damaged); ${sequence} kept.`);
    return await (recording as Recording).close();
  } catch (error) {
    await (recording as Recording | undefined)?.discard();
    throw error;
  } finally {
    filter?.close();
    await demuxer.close();
  }
}

async function transcode(input: string, recordingPath: string, options: ImportOptions): Promise<RecordingSummary> {
  const source = await FileSource.open(input, { startTimestamp: options.startTimestamp ?? 0n, frames: options.frames, warn: options.warn });
  const recording = await Recording.create(recordingPath, options);
  const stream = recording.addStream(options.stream ?? 'video', {
    codec: options.encoder?.codec === 'auto' ? 'h264' : (options.encoder?.codec ?? 'h264'),
    encoder: { fps: source.info.fps, ...options.encoder },
  });
  const total = source.info.frameCount;
  let done = 0;
  try {
    for await (const frame of source) {
      await stream.writeFrame(frame);
      done++;
      options.onProgress?.(done, total);
    }
  } catch (error) {
    await recording.discard();
    throw error;
  }
  return recording.close();
}
