import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * Real-world inputs, made at test time with the Debian `ffmpeg` CLI: small (320x240 at 25 fps,
 * 2 s unless said otherwise), bit-exact, each a kind of file users bring.
 */
export interface CorpusFile {
  /** File name; its extension picks the container. */
  name: string;
  /** What the file stands for, for test names and reports. */
  about: string;
  /** `usable`: decodes whole; `damaged`: decodes in part; `unusable`: no video at all. */
  kind: 'usable' | 'damaged' | 'unusable';
  /** Arguments of `ffmpeg` that write the file (output path appended), or a maker of their own. */
  make: string[] | ((path: string, dir: string) => Promise<void>);
  /** Codec as ffprobe names it. */
  codec?: string;
  /** True when frames are reordered (B-frames), whatever the container's timestamps say. */
  bFrames?: boolean;
  /**
   * For `damaged` files: how many of the frames PyAV decodes (it conceals damage) a reader that
   * shows nothing broken drops, fewest and most.
   */
  lose?: [number, number];
  /** For `unusable` files: what the one-line error must say about why. */
  why?: RegExp;
}

/**
 * FFmpeg's moving test pattern at 25 fps: neighbouring frames differ by about 20 dB PSNR, so a
 * picture comparison tells which frame it got (testsrc's frames differ by only 40 dB).
 */
const testsrc = (seconds = 2) => ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', String(seconds)];
const x264 = (bf: number) => ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '12', '-bf', String(bf)];
const x265 = (bf: number) => ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', `keyint=12:min-keyint=12:bframes=${bf}:open-gop=0:log-level=error`];

export const CORPUS: CorpusFile[] = [
  { name: 'mpeg4-dx50.avi', about: 'DivX AVI with B-frames (many packets without pts)', kind: 'usable', codec: 'mpeg4', bFrames: true, make: [...testsrc(), '-c:v', 'mpeg4', '-bf', '2', '-g', '12', '-vtag', 'DX50'] },
  // libxvid packs each B-frame into the packet before it (a 6-byte placeholder follows): PyAV's
  // frame.pts then runs backwards (3, 4, 6, 5, 7, …) although frames come out in display order.
  { name: 'xvid-packed.avi', about: 'Xvid AVI with packed B-frames', kind: 'usable', codec: 'mpeg4', bFrames: true, make: [...testsrc(), '-c:v', 'libxvid', '-bf', '2', '-g', '12'] },
  { name: 'mjpeg.avi', about: 'Motion JPEG AVI (every frame a keyframe)', kind: 'usable', codec: 'mjpeg', bFrames: false, make: [...testsrc(), '-c:v', 'mjpeg', '-q:v', '3'] },
  { name: 'h264-bframes.mp4', about: 'H.264 MP4 with B-frames', kind: 'usable', codec: 'h264', bFrames: true, make: [...testsrc(), ...x264(2), '-pix_fmt', 'yuv420p'] },
  {
    name: 'h264-pts-eq-dts.mp4',
    about: 'H.264 MP4 with B-frames whose container says pts = dts',
    kind: 'usable',
    codec: 'h264',
    bFrames: true,
    make: [...testsrc(), ...x264(2), '-pix_fmt', 'yuv420p', '-bsf:v', 'setts=pts=DTS-STARTDTS:dts=DTS-STARTDTS'],
  },
  { name: 'annexb.h264', about: 'raw Annex B H.264, no timestamps', kind: 'usable', codec: 'h264', bFrames: false, make: [...testsrc(), ...x264(0), '-pix_fmt', 'yuv420p', '-f', 'h264'] },
  { name: 'annexb.h265', about: 'raw Annex B H.265 with B-frames, no timestamps', kind: 'usable', codec: 'hevc', bFrames: true, make: [...testsrc(), ...x265(2), '-pix_fmt', 'yuv420p', '-f', 'hevc'] },
  {
    name: 'vfr.mkv',
    about: 'variable frame rate MKV (frames 40 ms and 120 ms apart)',
    kind: 'usable',
    codec: 'h264',
    bFrames: false,
    make: [...testsrc(3), '-vf', 'select=lt(mod(n\\,4)\\,2)', '-fps_mode', 'vfr', ...x264(0), '-pix_fmt', 'yuv420p'],
  },
  { name: 'vp9.webm', about: 'VP9 WebM', kind: 'usable', codec: 'vp9', bFrames: false, make: [...testsrc(), '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '12', '-keyint_min', '12'] },
  { name: 'av1.mkv', about: 'AV1 MKV', kind: 'usable', codec: 'av1', bFrames: false, make: [...testsrc(), '-c:v', 'libaom-av1', '-usage', 'realtime', '-cpu-used', '8', '-g', '12'] },
  { name: 'av1.mp4', about: 'AV1 MP4', kind: 'usable', codec: 'av1', bFrames: false, make: [...testsrc(), '-c:v', 'libaom-av1', '-usage', 'realtime', '-cpu-used', '8', '-g', '12'] },
  { name: 'hevc-bframes.mp4', about: 'HEVC MP4 with B-frames', kind: 'usable', codec: 'hevc', bFrames: true, make: [...testsrc(), ...x265(2), '-pix_fmt', 'yuv420p', '-tag:v', 'hvc1'] },
  { name: 'odd-321x241.webm', about: 'odd picture size (VP9 4:2:0)', kind: 'usable', codec: 'vp9', bFrames: false, make: [...testsrc(), '-vf', 'scale=321:241', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '12', '-keyint_min', '12'] },
  { name: 'h264-yuv422p.mp4', about: 'H.264 High 4:2:2', kind: 'usable', codec: 'h264', bFrames: true, make: [...testsrc(), ...x264(2), '-pix_fmt', 'yuv422p'] },
  { name: 'h264-yuv444p.mp4', about: 'H.264 High 4:4:4', kind: 'usable', codec: 'h264', bFrames: true, make: [...testsrc(), ...x264(2), '-pix_fmt', 'yuv444p'] },
  { name: 'hevc-main10.mp4', about: '10-bit HEVC (yuv420p10le), as phones record', kind: 'usable', codec: 'hevc', bFrames: true, make: [...testsrc(), ...x265(2), '-pix_fmt', 'yuv420p10le', '-tag:v', 'hvc1'] },
  {
    name: 'rotated-90.mp4',
    about: 'H.264 with a 90° display matrix',
    kind: 'usable',
    codec: 'h264',
    bFrames: false,
    // FFmpeg 5.1 writes the display matrix only when copying, not when encoding.
    make: async (path, dir) => {
      await ffmpeg([...testsrc(), ...x264(0), '-pix_fmt', 'yuv420p'], join(dir, 'upright.mp4'));
      await ffmpeg(['-i', join(dir, 'upright.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90'], path);
    },
  },
  {
    name: 'truncated.mkv',
    about: 'H.264 MKV cut off at half its bytes',
    kind: 'damaged',
    // The last frame may be cut in two.
    lose: [0, 1],
    codec: 'h264',
    bFrames: false,
    make: async (path, dir) => {
      await ffmpeg([...testsrc(), ...x264(0), '-pix_fmt', 'yuv420p'], join(dir, 'whole.mkv'));
      const whole = await readFile(join(dir, 'whole.mkv'));
      await writeFile(path, whole.subarray(0, whole.length >> 1));
    },
  },
  {
    name: 'corrupt-gop.ts',
    about: 'H.264 MPEG-TS with a GOP in the middle overwritten',
    kind: 'damaged',
    // From the damaged frame to the next keyframe, at most the rest of one 12-frame GOP.
    lose: [1, 12],
    codec: 'h264',
    bFrames: false,
    make: async (path, dir) => {
      await ffmpeg([...testsrc(), ...x264(0), '-pix_fmt', 'yuv420p'], join(dir, 'whole.ts'));
      const data = await readFile(join(dir, 'whole.ts'));
      // Garbage in the payloads of 8 TS packets from the middle on; their 4-byte headers stay,
      // so the demuxer still delivers the packets and only the decoder meets the damage.
      const first = Math.floor(data.length / 188 / 2) * 188;
      for (let p = first; p < first + 8 * 188; p += 188) {
        for (let i = p + 4; i < p + 188; i++) data[i] = (i * 131) & 0xff;
      }
      await writeFile(path, data);
    },
  },
  { name: 'audio-only.m4a', about: 'AAC audio, no video', kind: 'unusable', why: /no video/i, make: ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac'] },
  {
    name: 'empty.mp4',
    about: 'zero bytes',
    kind: 'unusable',
    why: /empty|0 bytes|zero bytes/i,
    make: (path) => writeFile(path, ''),
  },
];

async function ffmpeg(args: string[], out: string): Promise<void> {
  await exec('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args, '-fflags', '+bitexact', '-flags', '+bitexact', out]);
}

/** Writes every corpus file into `dir`, two at a time; resolves with their paths by name. */
export async function makeCorpus(dir: string): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  await inParallel(CORPUS, 2, async (file) => {
    const path = join(dir, file.name);
    if (Array.isArray(file.make)) await ffmpeg(file.make, path);
    else {
      const scratch = join(dir, `${file.name}.parts`);
      await mkdir(scratch, { recursive: true });
      await file.make(path, scratch);
    }
    paths.set(file.name, path);
  });
  return paths;
}

/** Runs `job` over `items`, at most `limit` at a time (this machine is shared). */
export async function inParallel<T>(items: readonly T[], limit: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await job(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
