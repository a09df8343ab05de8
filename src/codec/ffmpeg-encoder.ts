import { isMainThread } from 'node:worker_threads';
import { Codec, CodecContext, Dictionary, HardwareFramesContext, Rational } from 'node-av/lib';
import { HardwareContext } from 'node-av/api';
import * as C from 'node-av/constants';
import type { AVPixelFormat } from 'node-av/constants';
import { CodecError, InvalidArgumentError } from '../core/errors.js';
import type { VideoCodec } from '../core/packet.js';
import { ENCODER_PIXEL_FORMATS } from './av-pixel-format.js';
import type { VideoEncoderOptions } from './video-encoder-options.js';

/** The FFmpeg encoder each codec uses unless `VideoEncoderOptions.encoder` names another. */
export const DEFAULT_ENCODERS: Record<VideoCodec, string> = { h264: 'libx264', h265: 'libx265', av1: 'libsvtav1', ffv1: 'ffv1' };

/**
 * Smallest picture side an encoder codes, in pixels: x265 refuses 8x8; SVT-AV1 refuses less
 * than 4 and, below about 25 pixels of width, opens but never returns from its first frame.
 */
const MIN_CODED_SIDE: Record<string, number> = { libx265: 16, libsvtav1: 32 };

/**
 * Chroma subsampling of the formats encoders get: 2 where a side must be even. H.264 and
 * H.265 code whole chroma samples and crop in chroma units, so in 4:2:0 no bitstream decodes
 * to an odd size. AV1 states the luma size itself and decodes odd sizes exactly.
 */
function chromaStep(format: AVPixelFormat): { x: number; y: number } {
  if (format === C.AV_PIX_FMT_YUV444P || format === C.AV_PIX_FMT_GRAY16LE) return { x: 1, y: 1 };
  if (format === C.AV_PIX_FMT_YUV422P) return { x: 2, y: 1 };
  return { x: 2, y: 2 };
}

/** The size `name` encodes a `width`x`height` picture at: the same, or the next one up it can code. */
function codedSize(name: string, format: AVPixelFormat, width: number, height: number): { width: number; height: number } {
  const step = ['av1', 'ffv1'].includes(codecOfEncoder(name)) ? { x: 1, y: 1 } : chromaStep(format);
  const min = MIN_CODED_SIDE[name] ?? 1;
  return {
    width: Math.max(min, Math.ceil(width / step.x) * step.x),
    height: Math.max(min, Math.ceil(height / step.y) * step.y),
  };
}

/** Hardware H.264 encoders `codec: 'auto'` tries, in order, with the device each needs. */
export const HARDWARE_H264: { name: string; device: string | null }[] = [
  { name: 'h264_nvenc', device: null },
  { name: 'h264_qsv', device: null },
  { name: 'h264_vaapi', device: 'vaapi' },
  { name: 'h264_videotoolbox', device: null },
];

/** The codec an FFmpeg encoder produces, from its name. */
export function codecOfEncoder(name: string): VideoCodec {
  if (name.includes('264')) return 'h264';
  if (name.includes('265') || name.includes('hevc')) return 'h265';
  if (name.includes('av1')) return 'av1';
  if (name === 'ffv1') return 'ffv1';
  throw new InvalidArgumentError(`Encoder ${name} does not produce H.264, H.265, AV1 or FFV1.`);
}

/** An open FFmpeg encoder and what it was opened with. */
export interface Opened {
  ctx: CodecContext;
  name: string;
  pixelFormat: AVPixelFormat;
  /** The size the encoder codes, in pixels: the requested one, or the next one up it can code. */
  width: number;
  height: number;
  hwFrames?: HardwareFramesContext;
  hw?: HardwareContext;
}

function privateOptions(name: string, o: Required<Pick<VideoEncoderOptions, 'gop'>> & VideoEncoderOptions): Record<string, string> {
  const opts: Record<string, string> = {};
  const rate = o.bitrate === undefined;
  if (name === 'libx264') {
    opts.preset = o.preset ?? 'veryfast';
    opts.tune = o.tune ?? 'zerolatency';
    if (rate) opts.crf = String(o.crf ?? 23);
    opts['forced-idr'] = '1';
    opts['x264-params'] = `keyint=${o.gop}:min-keyint=${o.gop}:scenecut=0`;
  } else if (name === 'libx265') {
    opts.preset = o.preset ?? 'veryfast';
    opts.tune = o.tune ?? 'zerolatency';
    if (rate) opts.crf = String(o.crf ?? 23);
    opts['forced-idr'] = '1';
    opts['x265-params'] = `keyint=${o.gop}:min-keyint=${o.gop}:scenecut=0:open-gop=0:repeat-headers=1:log-level=error`;
  } else if (name === 'libsvtav1') {
    opts.preset = o.preset ?? '10';
    if (rate) opts.crf = String(o.crf ?? 35);
    opts['svtav1-params'] = `keyint=${o.gop}:pred-struct=1:irefresh-type=2:scd=0`;
  } else if (name === 'ffv1') {
    // Version 1 keeps the configuration in every key frame, so each packet decodes on its own
    // (version 3 moves it to extradata, which a VideoPacket does not carry). Range coder: smaller.
    opts.level = '1';
    opts.coder = 'range_def';
  } else if (name.endsWith('_nvenc')) {
    opts.preset = 'p4';
    opts.tune = 'll';
    opts['forced-idr'] = '1';
    if (rate) opts.cq = String(o.crf ?? 23);
  } else if (name.endsWith('_qsv') || name.endsWith('_vaapi')) {
    opts['forced_idr'] = '1';
  } else if (name.endsWith('_videotoolbox')) {
    opts.realtime = '1';
  }
  return opts;
}

function hwDeviceType(name: string) {
  if (name === 'vaapi') return C.AV_HWDEVICE_TYPE_VAAPI;
  throw new InvalidArgumentError(`Unknown hardware device ${name}.`);
}

/**
 * Opens FFmpeg encoder `name` for the picture size and options asked for, at the size it can
 * code and in a pixel format it takes (logging a fallback).
 * @throws CodecError when the encoder is not in this build, has no device, or does not open.
 */
export async function openEncoder(name: string, o: VideoEncoderOptions & { gop: number; fps: number }, log: (m: string) => void): Promise<Opened> {
  const codec = Codec.findEncoderByName(name as Parameters<typeof Codec.findEncoderByName>[0]);
  if (!codec) throw new CodecError(`Encoder ${name} is not in this FFmpeg build.`);
  let pixelFormat = ENCODER_PIXEL_FORMATS[o.pixelFormat ?? (name === 'ffv1' ? 'gray16le' : 'yuv420p')];
  const supported = codec.pixelFormats;
  let hw: HardwareContext | undefined;
  let hwFrames: HardwareFramesContext | undefined;
  const device = HARDWARE_H264.find((h) => h.name === name)?.device;
  if (device) {
    hw = HardwareContext.create(hwDeviceType(device)) ?? undefined;
    if (!hw) throw new CodecError(`No ${device} device for ${name}.`);
    pixelFormat = C.AV_PIX_FMT_NV12;
  } else if (supported && !supported.includes(pixelFormat)) {
    const fallback = supported.includes(C.AV_PIX_FMT_YUV420P) ? C.AV_PIX_FMT_YUV420P : supported[0];
    log(`${name} cannot encode ${o.pixelFormat ?? 'yuv420p'}; using ${fallback === C.AV_PIX_FMT_YUV420P ? 'yuv420p' : `pixel format ${fallback}`} instead.`);
    pixelFormat = fallback;
  }
  const size = codedSize(name, device ? C.AV_PIX_FMT_NV12 : pixelFormat, o.width, o.height);
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.width = size.width;
  ctx.height = size.height;
  ctx.timeBase = new Rational(1000, Math.round(o.fps * 1000));
  ctx.framerate = new Rational(Math.round(o.fps * 1000), 1000);
  ctx.gopSize = o.gop;
  ctx.maxBFrames = o.bFrames ?? 0;
  ctx.threadCount = o.threads ?? 0;
  if (o.bitrate !== undefined) ctx.bitRate = BigInt(o.bitrate);
  if (hw) {
    hwFrames = new HardwareFramesContext();
    hwFrames.alloc(hw.deviceContext);
    hwFrames.format = hw.devicePixelFormat;
    hwFrames.swFormat = C.AV_PIX_FMT_NV12;
    hwFrames.width = size.width;
    hwFrames.height = size.height;
    hwFrames.initialPoolSize = 8;
    if (hwFrames.init() < 0) {
      hw.dispose();
      throw new CodecError(`Cannot create ${device} frames for ${name}.`);
    }
    ctx.pixelFormat = hw.devicePixelFormat;
    ctx.hwFramesCtx = hwFrames;
  } else {
    ctx.pixelFormat = pixelFormat;
  }
  // In a worker, open on the calling thread: the encoder's own threads (x264 starts its slice
  // threads here) inherit that thread's priority. Opened from libuv's pool they ran at normal
  // priority beside the producer a worker lowers its own priority for, blocking it up to 200 ms.
  // (node-av's open2Sync crashes at exit when given a dictionary: the options are set first.)
  const options = privateOptions(name, o);
  let ret: number;
  if (isMainThread) ret = await ctx.open2(codec, Dictionary.fromObject(options));
  else {
    ret = 0;
    for (const [key, value] of Object.entries(options)) ret = Math.min(ret, ctx.setOption(key, value, C.AV_OPT_TYPE_STRING, C.AV_OPT_SEARCH_CHILDREN));
    if (ret >= 0) ret = ctx.open2Sync(codec, null);
  }
  if (ret < 0) {
    ctx.freeContext();
    hwFrames?.free();
    hw?.dispose();
    const scaled = size.width !== o.width || size.height !== o.height ? ` (coded as ${size.width}x${size.height})` : '';
    throw new CodecError(`Cannot open encoder ${name} (FFmpeg error ${ret}) for ${o.width}x${o.height}${scaled}.`);
  }
  return { ctx, name, pixelFormat, hw, hwFrames, ...size };
}
