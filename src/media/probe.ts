import { BitStreamFilterAPI } from 'node-av/api';
import { avGetPixFmtName, Codec, Packet } from 'node-av/lib';
import type { AVPixelFormat } from 'node-av/constants';
import * as C from 'node-av/constants';
import { MalformedDataError } from '../core/errors.js';
import { FrameReorderCheck } from '../codec/frame-reordering.js';
import { Mpeg4KeyCheck } from '../codec/mpeg4-vop.js';
import { openMediaFile } from './media-file.js';
import { videoInfoOf, type VideoInfo } from './video-info.js';

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
    /** Frames shown, counted by reading every packet (packets an edit list hides are not counted). */
    frames: number;
    keyframes: number;
    /** Seconds from the first to the end of the last frame. */
    duration: number;
    /**
     * True when presentation order differs from decode order: for H.264/H.265 read from the
     * bitstream (SPS, picture order counts), for other codecs from the container's times and
     * the decoder's reported delay.
     */
    bFrames: boolean;
    pixelFormat: string | null;
  };
  audio: { codec: string; sampleRate: number; channels: number } | null;
  /** The same file in LeRobot's `get_video_info` keys (`video.height`, …, `has_audio`, `audio.*`). */
  info: VideoInfo;
}

/**
 * Reads a media file through and reports its video (codec, size, fps, exact frame and
 * keyframe counts, duration, B-frames) and its first audio stream.
 * @throws NotFoundError for a missing file; MalformedDataError when it is not media or has no video.
 */
export async function probeVideo(path: string): Promise<ProbeResult> {
  const demuxer = await openMediaFile(path);
  try {
    const video = demuxer.video();
    if (!video) throw new MalformedDataError(`${path} has no video stream.`);
    const audio = demuxer.audio();
    const info = videoInfoOf(demuxer, path);
    const tb = video.timeBase;
    const packet = new Packet();
    packet.alloc();
    const codecId = video.codecpar.codecId;
    const annexB = codecId === C.AV_CODEC_ID_H264 ? 'h264' : codecId === C.AV_CODEC_ID_HEVC ? 'h265' : undefined;
    const filter = annexB ? BitStreamFilterAPI.create(annexB === 'h264' ? 'h264_mp4toannexb' : 'hevc_mp4toannexb', video) : undefined;
    const reorderCheck = annexB ? new FrameReorderCheck(annexB) : undefined;
    const mpeg4 = codecId === C.AV_CODEC_ID_MPEG4 ? new Mpeg4KeyCheck(video.codecpar.extradata) : undefined;
    let frames = 0;
    let keyframes = 0;
    let reordered = false;
    let outOfOrder = false;
    let maxPts: bigint | undefined;
    let minPts: bigint | undefined;
    let end: bigint | undefined;
    const ctx = demuxer.getFormatContext();
    try {
      while ((await ctx.readFrame(packet)) >= 0) {
        if (packet.streamIndex === video.index) {
          if (packet.isKeyframe && (!mpeg4 || (packet.data !== null && mpeg4.isKey(packet.data)))) keyframes++;
          const pts = packet.pts !== C.AV_NOPTS_VALUE ? packet.pts : packet.dts;
          // Packets before an edit list's start are decoded but never shown.
          if ((packet.flags & C.AV_PKT_FLAG_DISCARD) === 0) {
            frames++;
            if (pts !== C.AV_NOPTS_VALUE) {
              if (maxPts !== undefined && pts < maxPts) outOfOrder = true;
              if (maxPts === undefined || pts > maxPts) maxPts = pts;
              if (minPts === undefined || pts < minPts) minPts = pts;
              const e = pts + (packet.duration > 0n ? packet.duration : 0n);
              if (end === undefined || e > end) end = e;
            }
          }
          // Filtering takes the packet's contents, so it comes last.
          if (filter && reorderCheck && !reordered) {
            for (const out of await filter.filterAll(packet)) {
              if (out.data && reorderCheck.inspect(out.data)) reordered = true;
              out.free();
            }
          }
        }
        packet.unref();
      }
    } finally {
      packet.free();
      filter?.close();
    }
    const seconds = (t: bigint) => (Number(t) * tb.num) / tb.den;
    const rate = video.avgFrameRate.num > 0 ? video.avgFrameRate : video.rFrameRate;
    const fps = rate.den > 0 ? rate.num / rate.den : 0;
    const stamped = end !== undefined && minPts !== undefined ? seconds(end - minPts) : 0;
    // Raw elementary streams carry no times: their duration is their frame count at their rate.
    const duration = stamped > 0 || fps <= 0 ? stamped : frames / fps;
    const par = video.codecpar;
    return {
      path,
      container: demuxer.formatName,
      video: {
        codec: Codec.findDecoder(par.codecId)?.name ?? `id ${par.codecId}`,
        width: par.width,
        height: par.height,
        fps,
        frames,
        keyframes,
        duration,
        bFrames: reorderCheck ? reordered : outOfOrder || video.codecpar.videoDelay > 0,
        pixelFormat: par.format >= 0 ? avGetPixFmtName(par.format as AVPixelFormat) : null,
      },
      audio: audio
        ? {
            codec: Codec.findDecoder(audio.codecpar.codecId)?.name ?? `id ${audio.codecpar.codecId}`,
            sampleRate: audio.codecpar.sampleRate,
            channels: audio.codecpar.channels,
          }
        : null,
      info,
    };
  } finally {
    await demuxer.close();
  }
}
