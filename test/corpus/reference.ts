import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';

const exec = promisify(execFile);
const script = fileURLToPath(new URL('./reference.py', import.meta.url));

/** What ffprobe sees in a file's first video stream, frames counted by decoding. */
export interface FfprobeView {
  codec: string;
  width: number;
  height: number;
  /** `nb_read_frames` of `-count_frames`. */
  frames: number;
  /** Stream duration, else the container's, else frames / rate; seconds. */
  duration: number;
  fps: number;
  hasBFrames: number;
  /** Degrees of the display matrix, 0 without one. */
  rotation: number;
  /** Every packet in file order: pts and dts in stream ticks (null when absent) and the key flag. */
  packets: { pts: number | null; dts: number | null; key: boolean }[];
}

export async function ffprobe(path: string): Promise<FfprobeView> {
  const { stdout } = await exec('ffprobe', [
    '-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_packets', '-of', 'json',
    '-show_entries', 'stream=codec_name,width,height,nb_read_frames,duration,has_b_frames,avg_frame_rate,r_frame_rate:stream_side_data=rotation:format=duration:packet=pts,dts,flags',
    path,
  ], { maxBuffer: 64 << 20 });
  const j = JSON.parse(stdout);
  const s = j.streams[0];
  const rate = (r: string) => {
    const [n, d] = r.split('/').map(Number);
    return d ? n / d : 0;
  };
  const fps = rate(s.avg_frame_rate) || rate(s.r_frame_rate);
  const frames = Number(s.nb_read_frames);
  const num = (v: unknown) => (v === undefined || v === 'N/A' ? null : Number(v));
  return {
    codec: s.codec_name,
    width: s.width,
    height: s.height,
    frames,
    duration: num(s.duration) ?? num(j.format?.duration) ?? frames / fps,
    fps,
    hasBFrames: s.has_b_frames,
    rotation: Number(s.side_data_list?.find((d: { rotation?: number }) => d.rotation !== undefined)?.rotation ?? 0),
    packets: (j.packets ?? []).map((p: Record<string, string>) => ({ pts: num(p.pts), dts: num(p.dts), key: p.flags.includes('K') })),
  };
}

/** PyAV's decode of a file, frames in output (= presentation) order. */
export interface PyavView {
  frames: number;
  /** Presentation time of each output position, seconds from the first frame. */
  times: number[];
  /** Output positions of key frames. */
  keys: number[];
  width: number;
  height: number;
  fps: number;
  /** Reads output frame `i` as RGB24, when the frames were dumped. */
  rgb(i: number): Promise<Buffer>;
}

/** Decodes `path` with PyAV (Debian's python3-av); with `dumpDir`, writes every frame as RGB there. */
export async function pyav(path: string, dumpDir?: string): Promise<PyavView> {
  const args = [script, path];
  if (dumpDir) args.push(dumpDir, 'all');
  const { stdout } = await exec('/usr/bin/python3', args, { maxBuffer: 16 << 20 });
  return { ...JSON.parse(stdout), rgb: (i: number) => readFile(`${dumpDir}/${i}.rgb`) };
}

/** A PNG's pixels as RGB24. */
export async function pngRgb(path: string, size?: { width: number; height: number }): Promise<Rgb> {
  const image = sharp(path).removeAlpha();
  // framebus encodes odd 4:2:0 sizes at the next even size: compare at the file's size.
  if (size) image.resize(size.width, size.height, { fit: 'fill', kernel: 'cubic' });
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** An RGB24 picture. */
export interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * PSNR in dB of two RGB24 pictures over the region they share from the top left (a picture
 * one pixel smaller or larger, as when an odd size is cropped or padded to an even one);
 * Infinity when identical.
 */
export function psnr(a: Rgb, b: Rgb): number {
  const w = Math.min(a.width, b.width);
  const h = Math.min(a.height, b.height);
  let sum = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w * 3; x++) sum += (a.data[y * a.width * 3 + x] - b.data[y * b.width * 3 + x]) ** 2;
  }
  return sum === 0 ? Infinity : 10 * Math.log10((255 * 255 * w * h * 3) / sum);
}
