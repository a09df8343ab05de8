import { Demuxer } from 'node-av/api';
import { avChannelLayoutDescribe, avGetBytesPerSample, avGetCodecName, avGetPixFmtName } from 'node-av/lib';
import type { AVPixelFormat, AVSampleFormat } from 'node-av/constants';
import { MalformedDataError } from '../core/errors.js';
import { openMediaFile } from './media-file.js';

/**
 * A video file's features in LeRobot's `get_video_info` keys, as a dataset's `info.json`
 * stores them. `audio.*` keys appear only with `has_audio: true`.
 */
export interface VideoInfo {
  'video.height': number;
  'video.width': number;
  /** FFmpeg's codec name: `h264`, `hevc`, `av1`, … */
  'video.codec': string;
  /** FFmpeg's pixel format name, e.g. `yuv420p`; null when the container does not say. */
  'video.pix_fmt': string | null;
  /** Whole frames per second (the container's base rate, truncated as LeRobot does). */
  'video.fps': number;
  /** Components per pixel: 1 gray, 3 YUV/RGB, 4 with alpha. */
  'video.channels': number;
  /** True for single-channel video deeper than 8 bits (gray10/12/16): depth maps. */
  'video.is_depth_map': boolean;
  has_audio: boolean;
  'audio.channels'?: number;
  'audio.codec'?: string;
  /** Bits per second, 0 when unknown. */
  'audio.bit_rate'?: number;
  /** Samples per second. */
  'audio.sample_rate'?: number;
  /** Bits per sample of the decoded format (32 for AAC's float planar). */
  'audio.bit_depth'?: number;
  /** E.g. `mono`, `stereo`, `5.1`. */
  'audio.channel_layout'?: string | null;
}

/** LeRobot's `get_video_pixel_channels`, without its failure on unknown names (those count 3). */
function pixelChannels(pixFmt: string | null): number {
  if (!pixFmt) return 3;
  if (/gray|depth|monochrome/.test(pixFmt)) return 1;
  if (/rgba|yuva|argb|bgra|abgr/.test(pixFmt)) return 4;
  return 3;
}

/**
 * LeRobot's `get_video_info`: size, codec, pixel format, fps and channels of the first video
 * stream, and the first audio stream's channels, codec, bit rate, sample rate, bit depth and
 * layout (or `has_audio: false`).
 * @throws NotFoundError for a missing file; MalformedDataError when it is not media or has no video.
 */
export async function getVideoInfo(path: string): Promise<VideoInfo> {
  const demuxer = await openMediaFile(path);
  try {
    return videoInfoOf(demuxer, path);
  } finally {
    await demuxer.close();
  }
}

/**
 * `getVideoInfo`'s keys for a demuxer already open (FFmpeg has probed its streams).
 * @throws MalformedDataError when it has no video stream.
 */
export function videoInfoOf(demuxer: Demuxer, path: string): VideoInfo {
  const video = demuxer.video();
  if (!video) throw new MalformedDataError(`${path} has no video stream.`);
  const par = video.codecpar;
  const pixFmt = par.format >= 0 ? avGetPixFmtName(par.format as AVPixelFormat) : null;
  const channels = pixelChannels(pixFmt);
  const rate = video.rFrameRate.den > 0 ? video.rFrameRate : video.avgFrameRate;
  const info: VideoInfo = {
    'video.height': par.height,
    'video.width': par.width,
    'video.codec': avGetCodecName(par.codecId) ?? `id ${par.codecId}`,
    'video.pix_fmt': pixFmt,
    'video.fps': rate.den > 0 ? Math.trunc(rate.num / rate.den) : 0,
    'video.channels': channels,
    'video.is_depth_map': channels === 1 && pixFmt !== null && /gray(9|1\d)/.test(pixFmt),
    has_audio: false,
  };
  const audio = demuxer.audio();
  if (!audio) return info;
  const a = audio.codecpar;
  return {
    ...info,
    'audio.channels': a.channels,
    'audio.codec': avGetCodecName(a.codecId) ?? `id ${a.codecId}`,
    'audio.bit_rate': Number(a.bitRate),
    'audio.sample_rate': a.sampleRate,
    'audio.bit_depth': a.format >= 0 ? avGetBytesPerSample(a.format as AVSampleFormat) * 8 : 0,
    'audio.channel_layout': avChannelLayoutDescribe(a.channelLayout),
    has_audio: true,
  };
}
