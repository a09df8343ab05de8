import { access } from 'node:fs/promises';
import { Demuxer } from 'node-av/api';
import { avGetPixFmtName, Codec, Packet } from 'node-av/lib';
import type { AVPixelFormat } from 'node-av/constants';
import * as C from 'node-av/constants';
import { MalformedDataError, NotFoundError } from '../core/errors.js';
import { quietFfmpegLogs } from '../codec/ffmpeg-log.js';

/** What `probeVideo` finds in a media file. */
export interface ProbeResult {
  path: string;
  container: string;
  video: {
    codec: string;
    width: number;
    height: number;
    /** Average frames per second. */
    fps: number;
    /** Frames counted by reading every packet. */
    frames: number;
    keyframes: number;
    /** Seconds from the first to the end of the last frame. */
    duration: number;
    /** True when decode order differs from presentation order somewhere. */
    bFrames: boolean;
    pixelFormat: string | null;
  };
  audio: { codec: string; sampleRate: number; channels: number } | null;
}

/**
 * Reads a media file through and reports its video (codec, size, fps, exact frame and
 * keyframe counts, duration, B-frames) and its first audio stream.
 * @throws NotFoundError for a missing file; MalformedDataError when it is not media or has no video.
 */
export async function probeVideo(path: string): Promise<ProbeResult> {
  quietFfmpegLogs();
  try {
    await access(path);
  } catch {
    throw new NotFoundError(`File not found: ${path}`);
  }
  let demuxer: Demuxer;
  try {
    demuxer = await Demuxer.open(path);
  } catch (error) {
    throw new MalformedDataError(`Not a media file FFmpeg can read: ${path} (${(error as Error).message})`, { cause: error });
  }
  try {
    const video = demuxer.video();
    if (!video) throw new MalformedDataError(`${path} has no video stream.`);
    const audio = demuxer.audio();
    const tb = video.timeBase;
    const packet = new Packet();
    packet.alloc();
    let frames = 0;
    let keyframes = 0;
    let bFrames = false;
    let maxPts: bigint | undefined;
    let minPts: bigint | undefined;
    let end: bigint | undefined;
    const ctx = demuxer.getFormatContext();
    while ((await ctx.readFrame(packet)) >= 0) {
      if (packet.streamIndex === video.index) {
        frames++;
        if (packet.isKeyframe) keyframes++;
        const pts = packet.pts !== C.AV_NOPTS_VALUE ? packet.pts : packet.dts;
        if (maxPts !== undefined && pts < maxPts) bFrames = true;
        if (maxPts === undefined || pts > maxPts) maxPts = pts;
        if (minPts === undefined || pts < minPts) minPts = pts;
        const e = pts + (packet.duration > 0n ? packet.duration : 0n);
        if (end === undefined || e > end) end = e;
      }
      packet.unref();
    }
    packet.free();
    const seconds = (t: bigint) => (Number(t) * tb.num) / tb.den;
    const duration = end !== undefined && minPts !== undefined ? seconds(end - minPts) : 0;
    const rate = video.avgFrameRate.num > 0 ? video.avgFrameRate : video.rFrameRate;
    const par = video.codecpar;
    return {
      path,
      container: demuxer.formatName,
      video: {
        codec: Codec.findDecoder(par.codecId)?.name ?? `id ${par.codecId}`,
        width: par.width,
        height: par.height,
        fps: rate.den > 0 ? rate.num / rate.den : 0,
        frames,
        keyframes,
        duration,
        bFrames: bFrames || video.codecpar.videoDelay > 0,
        pixelFormat: par.format >= 0 ? avGetPixFmtName(par.format as AVPixelFormat) : null,
      },
      audio: audio
        ? {
            codec: Codec.findDecoder(audio.codecpar.codecId)?.name ?? `id ${audio.codecpar.codecId}`,
            sampleRate: audio.codecpar.sampleRate,
            channels: audio.codecpar.channels,
          }
        : null,
    };
  } finally {
    await demuxer.close();
  }
}
