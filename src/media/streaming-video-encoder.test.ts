import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Demuxer } from 'node-av/api';
import { Packet } from 'node-av/lib';
import { CodecError, InvalidArgumentError } from '../core/errors.js';
import { frameFromPacked, type Frame } from '../core/frame.js';
import type { VideoPacket } from '../core/packet.js';
import { isKeyAccessUnit } from '../codec/keyframe-detect.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { tempDir } from '../../test/store/fixtures.js';
import { statsDownsampleStep } from './image-stats.js';
import { StreamingVideoEncoder } from './streaming-video-encoder.js';

const run = promisify(execFile);
const FRAME_NS = 33_333_333n;
let dir: string;
let cleanup: () => Promise<void>;
let scene: Frame[];

before(async () => {
  ({ dir, cleanup } = await tempDir('framebus-streaming-'));
  scene = [];
  for await (const f of new SyntheticSource({ width: 320, height: 240, frames: 40 })) scene.push(f);
});
after(() => cleanup());

/** ffprobe's count of decoded frames and the container's duration in seconds. */
async function ffprobe(path: string): Promise<{ frames: number; duration: number; codec: string; pixFmt: string }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,pix_fmt,nb_read_frames:format=duration', '-of', 'json', path]);
  const json = JSON.parse(stdout) as { streams: { codec_name: string; pix_fmt: string; nb_read_frames: string }[]; format: { duration: string } };
  return { frames: Number(json.streams[0].nb_read_frames), duration: Number(json.format.duration), codec: json.streams[0].codec_name, pixFmt: json.streams[0].pix_fmt };
}

/** Every frame fed with rising timestamps 1/30 s apart. */
function feedAll(encoder: StreamingVideoEncoder, key: string, frames: Frame[]): number {
  let accepted = 0;
  frames.forEach((f, i) => {
    if (encoder.feedFrame(key, { ...f, timestamp: BigInt(i) * FRAME_NS, frameId: i })) accepted++;
  });
  return accepted;
}

/** The statistics computed directly: every downsampled value of a channel, sorted. */
function directStats(frames: Frame[], channel: number) {
  const values: number[] = [];
  for (const f of frames) {
    const step = statsDownsampleStep(f.width, f.height);
    const { data, stride } = f.planes[0];
    for (let y = 0; y < f.height; y += step) for (let x = 0; x < f.width; x += step) values.push(data[y * stride + x * 3 + channel] / 255);
  }
  values.sort((a, b) => a - b);
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  const rank = (q: number) => values[Math.max(1, Math.ceil(q * n)) - 1];
  return { n, min: values[0], max: values[n - 1], mean, std, q01: rank(0.01), q99: rank(0.99) };
}

describe('StreamingVideoEncoder', () => {
  test('writes one MP4 per camera that ffprobe and PyAV count right, with statistics equal to a direct computation', async () => {
    const encoder = new StreamingVideoEncoder({ queueSize: 64, log: () => undefined });
    try {
      const episode = join(dir, 'episode0');
      await encoder.startEpisode(['front', 'wrist'], episode);
      assert.equal(feedAll(encoder, 'front', scene), 40);
      assert.equal(feedAll(encoder, 'wrist', scene.slice(0, 25)), 25);
      const results = await encoder.finishEpisode();
      assert.deepEqual(Object.keys(results).sort(), ['front', 'wrist']);
      assert.equal(results.front.path, join(episode, 'front.mp4'));
      assert.equal(results.front.frames, 40);
      assert.equal(results.front.dropped, 0);
      assert.equal(results.wrist.frames, 25);
      assert.ok(results.front.encodeFps > 0);
      const probe = await ffprobe(results.front.path!);
      assert.deepEqual([probe.frames, probe.codec], [40, 'h264']);
      assert.ok(Math.abs(probe.duration - 40 / 30) < 0.002, `duration ${probe.duration}`);
      assert.ok(Math.abs(results.front.durationS - 40 / 30) < 0.002);
      assert.equal((await ffprobe(results.wrist.path!)).frames, 25);
      const { stdout } = await run('/usr/bin/python3', ['-c', 'import av,sys\nwith av.open(sys.argv[1]) as c: print(sum(1 for _ in c.decode(video=0)))', results.front.path!]);
      assert.equal(Number(stdout.trim()), 40);

      const stats = results.front.stats!;
      assert.deepEqual(stats.channels, ['r', 'g', 'b']);
      assert.equal(stats.count, 40);
      for (let c = 0; c < 3; c++) {
        const direct = directStats(scene, c);
        assert.equal(stats.samples, direct.n);
        assert.equal(stats.min[c], direct.min);
        assert.equal(stats.max[c], direct.max);
        assert.equal(stats.q01[c], direct.q01);
        assert.equal(stats.q99[c], direct.q99);
        // Summation order differs: exact up to rounding.
        assert.ok(Math.abs(stats.mean[c] - direct.mean) < 1e-9, `mean ${stats.mean[c]} vs ${direct.mean}`);
        assert.ok(Math.abs(stats.std[c] - direct.std) < 1e-9, `std ${stats.std[c]} vs ${direct.std}`);
      }
      // The workers carry over to the next episode.
      await encoder.startEpisode(['front'], join(dir, 'episode1'));
      assert.equal(feedAll(encoder, 'front', scene.slice(0, 5)), 5);
      assert.equal((await encoder.finishEpisode()).front.frames, 5);
    } finally {
      await encoder.close();
    }
  });

  test('drops frames when a camera queue is full and warns on the 1st and every 10th drop', async () => {
    const warnings: string[] = [];
    const encoder = new StreamingVideoEncoder({ queueSize: 1, log: (m) => warnings.push(m) });
    try {
      await encoder.startEpisode(['slow'], join(dir, 'drops'));
      // 40 frames in a tight loop (well under a millisecond each) against an encoder that has
      // yet to open and has one slot: most are dropped.
      const accepted = feedAll(encoder, 'slow', scene);
      const dropped = 40 - accepted;
      assert.ok(dropped >= 20, `${dropped} dropped`);
      const drops = warnings.filter((w) => w.includes('dropped'));
      assert.equal(drops.length, 1 + Math.floor(dropped / 10), drops.join('\n'));
      assert.match(drops[0], /camera "slow": dropped a frame \(1 so far\).*queue of 1 is full.*faster preset.*larger queueSize/);
      assert.match(drops[1], /\(10 so far\)/);
      assert.match(drops[2], /\(20 so far\)/);
      const result = (await encoder.finishEpisode()).slow;
      assert.deepEqual([result.frames, result.dropped], [accepted, dropped]);
    } finally {
      await encoder.close();
    }
  });

  test('cancelEpisode stops the workers and leaves no files', async () => {
    const encoder = new StreamingVideoEncoder({ queueSize: 64, log: () => undefined });
    try {
      const episode = join(dir, 'cancelled');
      await encoder.startEpisode(['a', 'b'], episode);
      feedAll(encoder, 'a', scene);
      feedAll(encoder, 'b', scene);
      // Cancel once the encoders are writing: their partial files exist.
      for (let i = 0; i < 100 && (await readdir(episode)).length < 2; i++) await sleep(50);
      assert.equal((await readdir(episode)).filter((name) => name.includes('.partial-')).length, 2);
      await encoder.cancelEpisode();
      assert.deepEqual(await readdir(episode), []);
      assert.throws(() => encoder.feedFrame('a', scene[0]), InvalidArgumentError);
    } finally {
      await encoder.close();
    }
  });

  test('an encoder that fails is reported on the next feedFrame with its cause, and its episode leaves no file', async () => {
    const encoder = new StreamingVideoEncoder({ encoder: 'h264_not_in_this_build', log: () => undefined });
    try {
      const episode = join(dir, 'failed');
      await encoder.startEpisode(['cam'], episode);
      assert.equal(encoder.feedFrame('cam', scene[0]), true);
      let error: unknown;
      for (let i = 1; i < 100 && !error; i++) {
        await sleep(50);
        try {
          encoder.feedFrame('cam', { ...scene[i % 40], timestamp: BigInt(i) * FRAME_NS });
        } catch (e) {
          error = e;
        }
      }
      assert.ok(error instanceof CodecError, String(error));
      assert.match(error.message, /camera "cam" failed: .*h264_not_in_this_build is not in this FFmpeg build/);
      await assert.rejects(encoder.finishEpisode(), CodecError);
      assert.deepEqual(await readdir(episode), []);
    } finally {
      await encoder.close();
    }
  });

  test('depth (gray16) goes losslessly to FFV1 in Matroska and decodes back bit-exact', async () => {
    const W = 96;
    const H = 64;
    const depth = Array.from({ length: 12 }, (_, i) => {
      const d = new Uint16Array(W * H);
      for (let j = 0; j < d.length; j++) d[j] = (j * 2654435761 + i * 40503) >>> 16;
      return frameFromPacked(new Uint8Array(d.buffer), { width: W, height: H, format: 'gray16', timestamp: BigInt(i) * FRAME_NS, frameId: i });
    });
    const encoder = new StreamingVideoEncoder({ log: () => undefined });
    let path: string;
    try {
      await encoder.startEpisode(['depth'], join(dir, 'depth'));
      depth.forEach((f) => assert.ok(encoder.feedFrame('depth', f)));
      const result = (await encoder.finishEpisode()).depth;
      assert.equal(result.encoder, 'ffv1');
      assert.equal(result.stats?.channels.length, 1);
      path = result.path!;
    } finally {
      await encoder.close();
    }
    assert.ok(path.endsWith('depth.mkv'));
    const probe = await ffprobe(path);
    assert.deepEqual([probe.frames, probe.codec, probe.pixFmt], [12, 'ffv1', 'gray16le']);

    const decoder = await VideoDecoder.create({ codec: 'ffv1', format: 'gray16' });
    const demuxer = await Demuxer.open(path);
    const packet = new Packet();
    packet.alloc();
    const decoded: Frame[] = [];
    try {
      const ctx = demuxer.getFormatContext();
      for (let sequence = 0; (await ctx.readFrame(packet)) >= 0; sequence++) {
        const data = Buffer.from(packet.data!);
        packet.unref();
        const p: VideoPacket = { kind: 'video-packet', codec: 'ffv1', data, key: isKeyAccessUnit('ffv1', data), timestamp: BigInt(sequence), sequence, frameId: sequence, width: W, height: H };
        decoded.push(...(await decoder.decode(p)));
      }
      decoded.push(...(await decoder.flush()));
    } finally {
      packet.free();
      await demuxer.close();
      decoder.close();
    }
    assert.equal(decoded.length, 12);
    decoded.forEach((f, i) => assert.ok(Buffer.from(f.planes[0].data).equals(Buffer.from(depth[i].planes[0].data)), `frame ${i} differs`));
  });

  test('VideoEncoder and VideoDecoder carry gray16 through FFV1 bit-exact, key flags from the bitstream', async () => {
    const W = 33;
    const H = 17;
    const encoder = await VideoEncoder.create({ width: W, height: H, codec: 'ffv1', gop: 3, log: () => undefined });
    const decoder = await VideoDecoder.create({ codec: 'ffv1', format: 'gray16' });
    try {
      const frames = Array.from({ length: 6 }, (_, i) => {
        const d = new Uint16Array(W * H).map((_, j) => (j * 977 + i * 65521) & 0xffff);
        return frameFromPacked(new Uint8Array(d.buffer), { width: W, height: H, format: 'gray16', timestamp: BigInt(i), frameId: i });
      });
      const packets: VideoPacket[] = [];
      for (const f of frames) packets.push(...(await encoder.encode(f)));
      packets.push(...(await encoder.flush()));
      assert.deepEqual(packets.map((p) => p.key), [true, false, false, true, false, false]);
      const out: Frame[] = [];
      for (const p of packets) out.push(...(await decoder.decode(p)));
      assert.equal(out.length, 6);
      out.forEach((f, i) => assert.ok(Buffer.from(f.planes[0].data).equals(Buffer.from(frames[i].planes[0].data))));
    } finally {
      encoder.close();
      decoder.close();
    }
  });
});
