import { Demuxer } from 'node-av/api';
import { avGetCodecName, avGetPixFmtName, Dictionary, FormatContext, Packet, Rational } from 'node-av/lib';
import * as C from 'node-av/constants';
import type { AVPixelFormat } from 'node-av/constants';
import { quietFfmpegLogs } from '../codec/ffmpeg-log.js';
import { ffmpegWriteError } from '../codec/ffmpeg-write-error.js';
import { CodecError, InvalidArgumentError, MalformedDataError } from '../core/errors.js';
import { openMediaFile } from './media-file.js';
import { writeOutputFile } from '../core/output-file.js';

/** Where one input landed in the concatenated file. */
export interface ConcatSegment {
  input: string;
  /** Its first frame's time in the output, seconds (a dataset episode's `from_timestamp`). */
  from: number;
  /** The end of its last frame in the output, seconds (the next input's `from`; `to_timestamp`). */
  to: number;
  frames: number;
}

/** What `concatVideos` wrote. */
export interface ConcatSummary {
  output: string;
  segments: ConcatSegment[];
  frames: number;
  /** Seconds. */
  duration: number;
}

/** What must agree between inputs for their packets to form one stream. */
interface Layout {
  codec: string;
  size: string;
  pixFmt: string;
  timeBase: string;
  extradata: Buffer;
}

/** One input's video packets' extent, read before writing. */
interface Extent {
  path: string;
  start: bigint;
  end: bigint;
  frames: number;
}


function layoutOf(demuxer: Demuxer, path: string): Layout {
  const video = demuxer.video();
  if (!video) throw new MalformedDataError(`${path} has no video stream.`);
  const par = video.codecpar;
  return {
    codec: avGetCodecName(par.codecId) ?? `codec id ${par.codecId}`,
    size: `${par.width}x${par.height}`,
    pixFmt: par.format >= 0 ? (avGetPixFmtName(par.format as AVPixelFormat) ?? String(par.format)) : 'unknown',
    timeBase: `${video.timeBase.num}/${video.timeBase.den}`,
    extradata: Buffer.from(par.extradata ?? Buffer.alloc(0)),
  };
}

/** The first way `b` differs from `a`, in words, or undefined. */
function difference(a: Layout, b: Layout): string | undefined {
  if (a.codec !== b.codec) return `codec ${b.codec} ≠ ${a.codec}`;
  if (a.size !== b.size) return `size ${b.size} ≠ ${a.size}`;
  if (a.pixFmt !== b.pixFmt) return `pixel format ${b.pixFmt} ≠ ${a.pixFmt}`;
  if (a.timeBase !== b.timeBase) return `time base ${b.timeBase} ≠ ${a.timeBase}`;
  if (!a.extradata.equals(b.extradata)) return `codec configuration (extradata: encoder settings, parameter sets) differs (${b.extradata.length} vs ${a.extradata.length} bytes)`;
  return undefined;
}

/** Reads an input's video packets for its first presentation time, the end of its last frame and its frame count. */
async function extentOf(demuxer: Demuxer, path: string): Promise<Extent> {
  const video = demuxer.video()!;
  const rate = video.avgFrameRate.num > 0 ? video.avgFrameRate : video.rFrameRate;
  const frameTicks = rate.num > 0 ? BigInt(Math.round((rate.den * video.timeBase.den) / (rate.num * video.timeBase.num))) : 0n;
  const ctx = demuxer.getFormatContext();
  const packet = new Packet();
  packet.alloc();
  let start: bigint | undefined;
  let end: bigint | undefined;
  let frames = 0;
  try {
    while ((await ctx.readFrame(packet)) >= 0) {
      if (packet.streamIndex === video.index && (packet.flags & C.AV_PKT_FLAG_DISCARD) === 0) {
        if (packet.pts === C.AV_NOPTS_VALUE) throw new MalformedDataError(`${path}: a video packet has no presentation time; remux it into MP4 first.`);
        frames++;
        if (start === undefined || packet.pts < start) start = packet.pts;
        const e = packet.pts + (packet.duration > 0n ? packet.duration : frameTicks);
        if (end === undefined || e > end) end = e;
      }
      packet.unref();
    }
  } finally {
    packet.free();
  }
  if (start === undefined || end === undefined) throw new MalformedDataError(`${path} has no video frames.`);
  return { path, start, end, frames };
}

/**
 * Concatenates videos into one MP4 without re-encoding (packets copied, timestamps shifted so
 * each input starts where the previous one ended): the way a dataset joins its episodes
 * (LeRobot's `concatenate_video_files`). Only the first video stream of each input is kept.
 * The output appears whole or not at all (see `OutputFile`); inputs are never written over.
 * @returns each input's `from`/`to` in the output, seconds.
 * @throws InvalidArgumentError for fewer than one input, or inputs whose codec, size, pixel
 *   format, time base or codec configuration differ (naming the first difference and the
 *   files); NotFoundError for a missing input; MalformedDataError for an unreadable one;
 *   as `checkOutputPath` for the output.
 */
export async function concatVideos(inputs: readonly string[], output: string): Promise<ConcatSummary> {
  if (!Array.isArray(inputs) || inputs.length === 0) throw new InvalidArgumentError('Give at least one video to concatenate.');
  quietFfmpegLogs();
  const extents: Extent[] = [];
  let reference: Layout | undefined;
  let timeBase: Rational | undefined;
  for (const path of inputs) {
    const demuxer = await openMediaFile(path, 'Video');
    try {
      const layout = layoutOf(demuxer, path);
      const diff = reference && difference(reference, layout);
      if (diff) throw new InvalidArgumentError(`Cannot concatenate ${path} after ${inputs[0]} without re-encoding: ${diff}. Re-encode it with the same settings first.`);
      reference ??= layout;
      timeBase ??= demuxer.video()!.timeBase;
      extents.push(await extentOf(demuxer, path));
    } finally {
      await demuxer.close();
    }
  }
  const segments: ConcatSegment[] = [];
  const seconds = (t: bigint) => (Number(t) * timeBase!.num) / timeBase!.den;
  await writeOutputFile(output, { inputs, overwrite: true }, async (temp) => {
    let offset = 0n;
    const out = new FormatContext();
    let opened = false;
    const packet = new Packet();
    packet.alloc();
    try {
      if (out.allocOutputContext2(null, 'mp4', temp) < 0) throw new CodecError(`Cannot create an MP4 muxer for ${output}.`);
      const stream = out.newStream(null);
      let lastDts: bigint | undefined;
      for (const [i, extent] of extents.entries()) {
        const demuxer = await openMediaFile(extent.path, 'Video');
        try {
          const video = demuxer.video()!;
          if (i === 0) {
            video.codecpar.copy(stream.codecpar);
            stream.codecpar.codecTag = 0;
            stream.timeBase = new Rational(timeBase!.num, timeBase!.den);
            const opening = await out.openOutput();
            if (opening < 0) throw ffmpegWriteError(opening, `Cannot open ${output} for writing`);
            opened = true;
            if ((await out.writeHeader(Dictionary.fromObject({ movflags: '+faststart' }))) < 0) {
              const codec = avGetCodecName(video.codecpar.codecId) ?? `codec id ${video.codecpar.codecId}`;
              throw new CodecError(
                `Cannot write ${output}: MP4 does not hold ${codec} video (from ${extent.path}). concat copies packets without re-encoding; convert the inputs first, e.g. framebus encode ${extent.path} --out episode.mp4.`,
              );
            }
          }
          const ctx = demuxer.getFormatContext();
          const shift = offset - extent.start;
          while ((await ctx.readFrame(packet)) >= 0) {
            if (packet.streamIndex === video.index) {
              packet.streamIndex = 0;
              packet.pts += shift;
              packet.dts = packet.dts === C.AV_NOPTS_VALUE ? packet.pts : packet.dts + shift;
              packet.pos = -1n;
              if (lastDts !== undefined && packet.dts <= lastDts) {
                throw new InvalidArgumentError(`Cannot concatenate ${extent.path}: its decode times overlap the previous input's after joining (a different frame reordering delay); re-encode it with the same settings.`);
              }
              lastDts = packet.dts;
              packet.rescaleTs(timeBase!, stream.timeBase);
              const ret = await out.writeFrame(packet);
              if (ret < 0) throw ffmpegWriteError(ret, `Writing ${output} failed`);
            }
            packet.unref();
          }
        } finally {
          await demuxer.close();
        }
        const length = extent.end - extent.start;
        segments.push({ input: extent.path, from: seconds(offset), to: seconds(offset + length), frames: extent.frames });
        offset += length;
      }
      const trailer = await out.writeTrailer();
      if (trailer < 0) throw ffmpegWriteError(trailer, `Cannot finish ${output}`);
    } finally {
      packet.free();
      if (opened) await out.closeOutput();
      out.freeContext();
    }
  });
  return { output, segments, frames: segments.reduce((n, s) => n + s.frames, 0), duration: segments.at(-1)!.to };
}
