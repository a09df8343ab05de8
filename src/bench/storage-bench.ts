import type { Frame } from '../core/frame.js';
import { createImageCodec } from '../codec/image-codec.js';
import { psnr } from '../codec/psnr.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import { FileSource } from '../source/file-source.js';
import { sampleVideoPath } from '../source/sample-video.js';
import { round } from './stats.js';

/** Result of `framebus bench storage`: bytes and quality of JPEG vs H.264 on real footage. */
export interface StorageBenchResult {
  input: string;
  frames: number;
  width: number;
  height: number;
  jpeg_q75_bytes: number;
  jpeg_q75_psnr: number;
  jpeg_q90_bytes: number;
  jpeg_q90_psnr: number;
  h264_bytes: number;
  h264_psnr: number;
  /** H.264 bytes ÷ JPEG q90 bytes; the goal is ≤ 0.10. */
  h264_over_jpeg_q90: number;
  /** H.264 PSNR − JPEG q90 PSNR in dB; the goal is ≥ −0.5. */
  h264_psnr_minus_jpeg_q90: number;
  h264_settings: string;
}

/** Loads the first `frames` frames of a video at `width`x`height` as rgb24. */
export async function loadFrames(path: string, width: number, height: number, frames: number): Promise<Frame[]> {
  const source = await FileSource.open(path, { width, height, frames });
  const out: Frame[] = [];
  for await (const f of source) out.push(f);
  return out;
}

/**
 * Stores the same frames as JPEG (quality 75 and 90) and as H.264 at framebus's defaults,
 * decodes each back, and reports total bytes and mean PSNR (RGB, dB) against the source.
 */
export async function runStorageBench(options: { input?: string; frames?: number; width?: number; height?: number } = {}): Promise<StorageBenchResult> {
  const input = options.input ?? sampleVideoPath();
  const width = options.width ?? 320;
  const height = options.height ?? 240;
  const frames = await loadFrames(input, width, height, options.frames ?? 150);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  const jpeg = async (quality: number) => {
    const codec = createImageCodec('jpeg', { quality });
    let bytes = 0;
    const scores: number[] = [];
    for (const f of frames) {
      const img = await codec.encode(f);
      bytes += img.data.byteLength;
      scores.push(psnr(f, await codec.decode(img)));
    }
    return { bytes, psnr: mean(scores) };
  };
  const q75 = await jpeg(75);
  const q90 = await jpeg(90);

  const encoder = await VideoEncoder.create({ width, height, fps: 10 });
  const decoder = await VideoDecoder.create({ codec: 'h264', format: 'rgb24' });
  const byId = new Map(frames.map((f) => [f.frameId, f]));
  let h264Bytes = 0;
  const scores: number[] = [];
  const take = async (packets: Awaited<ReturnType<VideoEncoder['encode']>>) => {
    for (const p of packets) {
      h264Bytes += p.data.byteLength;
      for (const d of await decoder.decode(p)) scores.push(psnr(byId.get(d.frameId)!, d));
    }
  };
  for (const f of frames) await take(await encoder.encode(f));
  await take(await encoder.flush());
  for (const d of await decoder.flush()) scores.push(psnr(byId.get(d.frameId)!, d));
  const settings = `${encoder.encoderName} preset=veryfast tune=zerolatency crf=23 gop=${encoder.gop} bframes=0`;
  encoder.close();
  decoder.close();
  const h264Psnr = mean(scores);
  return {
    input,
    frames: frames.length,
    width,
    height,
    jpeg_q75_bytes: q75.bytes,
    jpeg_q75_psnr: round(q75.psnr, 2),
    jpeg_q90_bytes: q90.bytes,
    jpeg_q90_psnr: round(q90.psnr, 2),
    h264_bytes: h264Bytes,
    h264_psnr: round(h264Psnr, 2),
    h264_over_jpeg_q90: round(h264Bytes / q90.bytes, 4),
    h264_psnr_minus_jpeg_q90: round(h264Psnr - q90.psnr, 2),
    h264_settings: settings,
  };
}
