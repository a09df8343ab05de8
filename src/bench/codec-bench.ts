import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { framePackedBytes, type Frame } from '../core/frame.js';
import type { VideoPacket } from '../core/packet.js';
import { PixelConverter } from '../codec/pixel-converter.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { timeFfmpeg } from './ffmpeg-cli.js';
import { median, round } from './stats.js';

/** One resolution's figures in `framebus bench codec`. */
export interface CodecBenchCase {
  width: number;
  height: number;
  frames: number;
  /** Median frames/s over the repetitions. */
  framebus_encode_fps: number;
  ffmpeg_encode_fps: number;
  /** framebus ÷ ffmpeg CLI encode throughput; goal ≥ 0.95. */
  encode_vs_ffmpeg: number;
  framebus_decode_fps: number;
  ffmpeg_decode_fps: number;
  decode_vs_ffmpeg: number;
}

/** Result of `framebus bench codec`. */
export interface CodecBenchResult {
  settings: string;
  repetitions: number;
  cases: CodecBenchCase[];
  /** The lowest encode ratio over the cases. */
  encode_vs_ffmpeg: number;
  decode_vs_ffmpeg: number;
}

async function encodeAll(frames: Frame[], width: number, height: number): Promise<{ seconds: number; packets: VideoPacket[] }> {
  const t0 = performance.now();
  const enc = await VideoEncoder.create({ width, height, fps: 30, log: () => {} });
  const packets: VideoPacket[] = [];
  for (const f of frames) packets.push(...(await enc.encode(f)));
  packets.push(...(await enc.flush()));
  enc.close();
  return { seconds: (performance.now() - t0) / 1000, packets };
}

async function decodeAll(packets: VideoPacket[]): Promise<number> {
  const t0 = performance.now();
  const dec = await VideoDecoder.create({ codec: 'h264', format: 'yuv420p' });
  let n = 0;
  for (const p of packets) n += (await dec.decode(p)).length;
  n += (await dec.flush()).length;
  dec.close();
  if (n !== packets.length) throw new Error(`decoded ${n} of ${packets.length} frames`);
  return (performance.now() - t0) / 1000;
}

/**
 * Encode and decode throughput of framebus against the ffmpeg CLI on the same frames with the
 * same settings (libx264 veryfast/zerolatency/crf 23/GOP 30/no B-frames, one decoder thread),
 * alternating the two in each repetition so machine noise hits both alike.
 */
export async function runCodecBench(options: { frames?: number; repetitions?: number; sizes?: [number, number][] } = {}): Promise<CodecBenchResult> {
  const count = options.frames ?? 300;
  const reps = options.repetitions ?? 3;
  const sizes = options.sizes ?? [
    [320, 240],
    [640, 480],
  ];
  const dir = await mkdtemp(join(tmpdir(), 'framebus-bench-'));
  const cases: CodecBenchCase[] = [];
  try {
    for (const [width, height] of sizes) {
      const converter = new PixelConverter();
      const scene = new SyntheticSource({ width, height });
      const frames = Array.from({ length: count }, (_, i) => converter.convert(scene.render(i, BigInt(i) * 33_333_333n), { format: 'yuv420p' }));
      converter.close();
      const yuv = join(dir, `in-${width}x${height}.yuv`);
      await writeFile(yuv, Buffer.concat(frames.map((f) => framePackedBytes(f))));
      const h264 = join(dir, `ref-${width}x${height}.h264`);
      const ours = { enc: [] as number[], dec: [] as number[] };
      const ref = { enc: [] as number[], dec: [] as number[] };
      for (let r = 0; r < reps; r++) {
        const { seconds, packets } = await encodeAll(frames, width, height);
        ours.enc.push(count / seconds);
        ours.dec.push(count / (await decodeAll(packets)));
        const encSeconds = await timeFfmpeg([
          '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-r', '30', '-i', yuv,
          '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-crf', '23',
          '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-bf', '0', '-f', 'h264', '-y', h264,
        ]);
        ref.enc.push(count / encSeconds);
        ref.dec.push(count / (await timeFfmpeg(['-threads', '1', '-i', h264, '-f', 'null', '-'])));
      }
      const c = {
        width,
        height,
        frames: count,
        framebus_encode_fps: round(median(ours.enc), 1),
        ffmpeg_encode_fps: round(median(ref.enc), 1),
        encode_vs_ffmpeg: round(median(ours.enc) / median(ref.enc), 3),
        framebus_decode_fps: round(median(ours.dec), 1),
        ffmpeg_decode_fps: round(median(ref.dec), 1),
        decode_vs_ffmpeg: round(median(ours.dec) / median(ref.dec), 3),
      };
      cases.push(c);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return {
    settings: 'libx264 preset=veryfast tune=zerolatency crf=23 gop=30 bframes=0; decode: 1 thread, yuv420p out',
    repetitions: reps,
    cases,
    encode_vs_ffmpeg: Math.min(...cases.map((c) => c.encode_vs_ffmpeg)),
    decode_vs_ffmpeg: Math.min(...cases.map((c) => c.decode_vs_ffmpeg)),
  };
}
