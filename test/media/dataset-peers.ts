import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import type { Frame } from '../../src/core/frame.js';

const exec = promisify(execFile);

/** Encodes testsrc2 with the ffmpeg CLI, as LeRobot's encoder would (crf 30, yuv420p). */
export async function makeVideo(path: string, options: { seconds: number; codec: 'h264' | 'av1'; gop: number; size?: string; pixFmt?: string; rate?: number }): Promise<string> {
  const codec = options.codec === 'h264' ? ['-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3'] : ['-c:v', 'libsvtav1', '-preset', '12'];
  await exec('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${options.size ?? '320x240'}:rate=${options.rate ?? 30}`, '-t', String(options.seconds),
    ...codec, '-g', String(options.gop), '-crf', '30', '-pix_fmt', options.pixFmt ?? 'yuv420p', path,
  ]);
  return path;
}

/** md5 of a yuv420p frame's Y, U and V rows (no padding), the same digest `pyavFrames` computes. */
export function yuvDigest(frame: Frame): string {
  const h = createHash('md5');
  const shapes = [
    { w: frame.width, rows: frame.height },
    { w: Math.ceil(frame.width / 2), rows: Math.ceil(frame.height / 2) },
    { w: Math.ceil(frame.width / 2), rows: Math.ceil(frame.height / 2) },
  ];
  shapes.forEach((s, i) => {
    const p = frame.planes[i];
    for (let y = 0; y < s.rows; y++) h.update(p.data.subarray(y * p.stride, y * p.stride + s.w));
  });
  return h.digest('hex');
}

const PYAV = `
import av, hashlib, json, sys
path, ts = sys.argv[1], json.loads(sys.argv[2])
c = av.open(path)
s = c.streams.video[0]
out = []
for q in ts:
    # LeRobot's pyav backend: seek to the key frame before, decode forward to the timestamp.
    c.seek(int(q / s.time_base), backward=True, any_frame=False, stream=s)
    loaded = []
    for f in c.decode(s):
        loaded.append((float(f.pts * s.time_base), f))
        if loaded[-1][0] >= q:
            break
    t, f = min(loaded, key=lambda x: abs(x[0] - q))
    y, u, v = (p for p in f.planes)
    h = hashlib.md5()
    for plane, w, rows in ((0, f.width, f.height), (1, (f.width + 1) // 2, (f.height + 1) // 2), (2, (f.width + 1) // 2, (f.height + 1) // 2)):
        p = f.planes[plane]
        data = bytes(p)
        for r in range(rows):
            h.update(data[r * p.line_size : r * p.line_size + w])
    out.append({"time": t, "digest": h.hexdigest()})
print(json.dumps(out))
`;

/** PyAV (Debian's python3-av) seeking and decoding LeRobot's way: each timestamp's nearest frame, its time and yuv420p digest. */
export async function pyavFrames(path: string, ts: number[]): Promise<{ time: number; digest: string }[]> {
  const { stdout } = await exec('/usr/bin/python3', ['-c', PYAV, path, JSON.stringify(ts)], { maxBuffer: 16 << 20 });
  return JSON.parse(stdout);
}

/** ffprobe -count_frames of the first video stream: frames decoded and duration, seconds. */
export async function ffprobeCount(path: string): Promise<{ frames: number; duration: number }> {
  const { stdout } = await exec('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,duration', '-of', 'json', path]);
  const s = JSON.parse(stdout).streams[0];
  return { frames: Number(s.nb_read_frames), duration: Number(s.duration) };
}

const PYAV_INFO = `
import av, json, sys
c = av.open(sys.argv[1])
v = c.streams.video[0]
out = {"height": v.height, "width": v.width, "pix_fmt": v.pix_fmt, "fps": int(v.base_rate)}
if c.streams.audio:
    a = c.streams.audio[0]
    out.update({"channels": a.channels, "sample_rate": a.sample_rate, "bits": a.format.bits, "layout": a.layout.name, "bit_rate": a.bit_rate})
print(json.dumps(out))
`;

/** What PyAV says of a file, for the keys LeRobot's `get_video_info` reads from it. */
export async function pyavInfo(path: string): Promise<Record<string, string | number>> {
  const { stdout } = await exec('/usr/bin/python3', ['-c', PYAV_INFO, path]);
  return JSON.parse(stdout);
}
