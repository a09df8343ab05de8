import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { VideoEncoder } from '../codec/video-encoder.js';
import { FramebusError, InvalidArgumentError } from '../core/errors.js';
import { frameFromPacked, type Frame, type PixelFormat } from '../core/frame.js';
import type { VideoPacket } from '../core/packet.js';
import { audioSamples } from './segment-handoff.js';
import { SegmentStreamer } from './segment-streamer.js';
import type { SegmentStreamerOptions, StreamEvent } from './segment-types.js';

const run = promisify(execFile);
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framebus-segments-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A streamer that records every event in order. */
function recorded(options: SegmentStreamerOptions): { streamer: SegmentStreamer; events: StreamEvent[]; bytes: () => Buffer } {
  const streamer = SegmentStreamer.create(options);
  const events: StreamEvent[] = [];
  for (const type of ['init', 'chunk', 'complete', 'error', 'warning'] as const) streamer.on(type, (e) => events.push(e));
  const bytes = () => Buffer.concat(events.flatMap((e) => (e.type === 'init' || e.type === 'chunk' ? [e.bytes] : [])));
  return { streamer, events, bytes };
}

/** A yuv420p picture whose luma is `y` everywhere. */
function grayFrame(width: number, height: number, y: number, buffer = new Uint8Array((width * height * 3) / 2)): Frame {
  buffer.fill(y, 0, width * height).fill(128, width * height);
  return frameFromPacked(buffer, { width, height, format: 'yuv420p', timestamp: 0n });
}

function tone(samples: number, channels: number, from = 0): Float32Array {
  const out = new Float32Array(samples * channels);
  for (let i = 0; i < samples; i++) for (let c = 0; c < channels; c++) out[i * channels + c] = 0.2 * Math.sin((2 * Math.PI * 440 * (from + i)) / 48000);
  return out;
}

interface ProbedStream {
  codec_type: string;
  codec_name: string;
  nb_read_frames: string;
  duration: string;
}

async function probeFile(path: string): Promise<{ streams: ProbedStream[]; videoPts: number[] }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,codec_name,nb_read_frames,duration', '-of', 'json', path]);
  const { stdout: frames } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', path]);
  return { streams: (JSON.parse(stdout) as { streams: ProbedStream[] }).streams, videoPts: frames.split('\n').filter((l) => /^[\d.]+/.test(l)).map((l) => Number.parseFloat(l)) };
}

describe('SegmentStreamer', () => {
  test('segments of frames and Opus audio become one fMP4 stream: init, then chunks; ffprobe sees every frame on one timeline', async () => {
    const { streamer, events, bytes } = recorded({ width: 160, height: 120, audio: { sampleRate: 48000, channels: 2 } });
    const buffer = new Uint8Array(160 * 120 * 3);
    let frame = 0;
    for (let s = 0; s < 4; s++) {
      const segment = await streamer.beginSegment({ trimFrames: s === 0 ? 0 : 2, trimSamples: s === 0 ? 0 : 3200 });
      for (let i = 0; i < (s === 0 ? 15 : 17); i++) segment.addFrame(frameFromPacked(buffer.fill(frame++ % 200), { width: 160, height: 120, format: 'rgb24', timestamp: 0n }));
      segment.addAudio({ samples: tone(s === 0 ? 24000 : 27200, 2), sampleRate: 48000, channels: 2 });
      segment.end();
    }
    const result = await streamer.close({ timeoutMs: 30_000 });
    assert.equal(result.completed, 4);
    assert.equal(result.cause, undefined);
    assert.equal(streamer.signal.aborted, false);

    // Order: init first, each segment's chunks then its complete, segments in order.
    assert.equal(events[0].type, 'init');
    const init = events[0] as Extract<StreamEvent, { type: 'init' }>;
    assert.match(init.mimeType, /^video\/mp4; codecs="avc1\.[0-9a-f]{6},opus"$/);
    const order = events.slice(1).map((e) => `${e.type}:${'segment' in e ? e.segment : ''}`);
    let segment = 0;
    for (const entry of order) {
      if (entry === `complete:${segment}`) segment++;
      else assert.equal(entry, `chunk:${segment}`, `events out of order: ${order.join(' ')}`);
    }
    assert.equal(segment, 4);
    const completes = events.filter((e): e is Extract<StreamEvent, { type: 'complete' }> => e.type === 'complete');
    assert.deepEqual(completes.map((c) => c.timings.frames), [15, 15, 15, 15], 'head trim drops 2 frames of later segments');
    assert.deepEqual(completes.map((c) => c.timings.audioSamples), [24000, 24000, 24000, 24000]);
    assert.deepEqual(completes.map((c) => c.timings.audioPadded + c.timings.audioCut), [0, 0, 0, 0]);
    assert.ok(completes.every((c) => c.timings.bytes > 0 && c.timings.firstChunkMs > 0));
    assert.equal(new Set(completes.map((c) => c.timings)).size, 4, 'every segment has its own timings object');
    const chunks = events.filter((e): e is Extract<StreamEvent, { type: 'chunk' }> => e.type === 'chunk');
    for (let i = 1; i < chunks.length; i++) assert.equal(chunks[i].startTime, chunks[i - 1].endTime, 'chunks continue one timeline');

    const file = join(dir, 'opus.mp4');
    await writeFile(file, bytes());
    const probed = await probeFile(file);
    assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`), ['video:h264', 'audio:opus']);
    assert.equal(Number(probed.streams[0].nb_read_frames), 60);
    assert.deepEqual(probed.videoPts.map((t) => Math.round(t * 30)), Array.from({ length: 60 }, (_, i) => i), 'frame times rise by exactly 1/30 s, no gap at segment joins');
    const videoDuration = Number(probed.streams[0].duration);
    const audioDuration = Number(probed.streams[1].duration);
    assert.ok(Math.abs(videoDuration - 2) < 1e-6, `video lasts ${videoDuration} s`);
    assert.ok(Math.abs(audioDuration - videoDuration) < 1 / 30, `audio lasts ${audioDuration} s, video ${videoDuration} s`);
  });

  test('a producer that hands each frame\'s PCM after the frame gets fragments whose audio reaches their video\'s end (within one Opus frame)', async () => {
    const { streamer, events, bytes } = recorded({ width: 64, height: 48, audio: { sampleRate: 48000, channels: 1 } });
    const frame = grayFrame(64, 48, 90);
    for (let s = 0; s < 2; s++) {
      const segment = await streamer.beginSegment();
      for (let i = 0; i < 30; i++) {
        segment.addFrame(frame);
        segment.addAudio({ samples: tone(1600, 1, (s * 30 + i) * 1600), sampleRate: 48000, channels: 1 });
      }
      segment.end();
    }
    await streamer.close({ timeoutMs: 30_000 });
    const file = join(dir, 'interleaved.mp4');
    await writeFile(file, bytes());
    // Which fragment each audio packet is in, by its byte position in the file.
    const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'packet=pts_time,pos', '-of', 'csv=p=0', file]);
    const rows = stdout.trim().split('\n').map((l) => l.split(',').map(Number));
    // A packet ends where the next begins (ffprobe gives no duration here); Opus frames are 20 ms.
    const packets = rows.map(([pts, pos], i) => ({ end: i + 1 < rows.length ? rows[i + 1][0] : pts + 0.02, pos }));
    let offset = (events[0] as Extract<StreamEvent, { type: 'init' }>).bytes.byteLength;
    const shortfalls: number[] = [];
    for (const chunk of events.filter((e): e is Extract<StreamEvent, { type: 'chunk' }> => e.type === 'chunk')) {
      const inside = packets.filter((p) => p.pos >= offset && p.pos < offset + chunk.bytes.byteLength);
      offset += chunk.bytes.byteLength;
      shortfalls.push(chunk.endTime - Math.max(...inside.map((p) => p.end)));
    }
    assert.equal(shortfalls.length, 20);
    // One Opus frame (20 ms) and the encoder's priming (6.5 ms) at most; a frame short would be 40 ms or more.
    assert.ok(shortfalls.every((d) => d < 0.03), `audio ends short of each fragment's video by ${shortfalls.map((d) => Math.round(d * 1000)).join(', ')} ms`);
  });

  test('A/V stay in sync over 60 s of 2 s segments whose audio runs long or short: each segment is fitted to its video', async () => {
    const { streamer, bytes } = recorded({ width: 32, height: 32, fragmentFrames: 30, audio: { sampleRate: 48000, channels: 1 } });
    const frame = grayFrame(32, 32, 90);
    let padded = 0;
    let cut = 0;
    streamer.on('complete', (e) => {
      padded += e.timings.audioPadded;
      cut += e.timings.audioCut;
    });
    for (let s = 0; s < 30; s++) {
      // A generator's audio is rarely exactly as long as its video: ±1 % here.
      await streamer.writeSegment({ frames: Array.from({ length: 60 }, () => frame), audio: { samples: tone(s % 2 ? 96960 : 95040, 1), sampleRate: 48000, channels: 1 } });
    }
    assert.equal((await streamer.close({ timeoutMs: 30_000 })).completed, 30);
    assert.equal(padded, 15 * 960);
    assert.equal(cut, 15 * 960);
    const file = join(dir, 'long.mp4');
    await writeFile(file, bytes());
    const { streams } = await probeFile(file);
    const [video, audio] = streams.map((st) => Number(st.duration));
    assert.ok(Math.abs(video - 60) < 1e-6, `video lasts ${video} s`);
    assert.ok(Math.abs(audio - video) < 1 / 30, `audio lasts ${audio} s after 60 s of video`);
  });

  test('AAC instead of Opus; a final segment ends the audio with the video', async () => {
    const { streamer, events, bytes } = recorded({ width: 64, height: 48, audio: { codec: 'aac', sampleRate: 44100, channels: 2 } });
    for (let s = 0; s < 2; s++) {
      const frames = Array.from({ length: 30 }, (_, i) => grayFrame(64, 48, 40 + i));
      await streamer.writeSegment({ frames, audio: { samples: new Int16Array(44100 * 2).fill(3000), sampleRate: 44100, channels: 2 }, final: s === 1 });
    }
    await assert.rejects(streamer.beginSegment(), /final segment/);
    assert.equal((await streamer.close()).completed, 2);
    assert.match((events[0] as Extract<StreamEvent, { type: 'init' }>).mimeType, /codecs="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    const file = join(dir, 'aac.mp4');
    await writeFile(file, bytes());
    const { streams } = await probeFile(file);
    assert.deepEqual(streams.map((st) => st.codec_name), ['h264', 'aac']);
    assert.equal(Number(streams[0].nb_read_frames), 60);
    // Without `final` the audio would end short by what the encoder holds back (2 AAC frames and the unfinished one).
    assert.ok(Math.abs(Number(streams[1].duration) - Number(streams[0].duration)) < 1 / 30, `audio ${streams[1].duration} s, video ${streams[0].duration} s`);
  });

  // The default ring (made at the first frame); one made at creation for the frames' format
  // (`frameFormat`); one declared for another format (remade at the first frame); one of 4
  // slots that overflows mid-segment (frames then also go by message, in order).
  const rings: [string, Partial<SegmentStreamerOptions>][] = [
    ['', {}],
    [', through a ring made at creation', { frameFormat: 'yuv420p' }],
    [', through a ring made for another format and remade', { frameFormat: 'rgba' }],
    [', through a ring that overflows', { fps: 4, maxQueued: 1 }],
  ];
  for (const [label, ring] of rings) {
    test(`a producer that overwrites its buffers right after each handoff still gets exactly its frames out (pixel-checked)${label}`, async () => {
      const { streamer, bytes } = recorded({ width: 64, height: 48, fragmentFrames: 2, ...ring });
      const buffer = new Uint8Array(64 * 48 * 3 / 2);
      const lumas = Array.from({ length: 24 }, (_, i) => 20 + i * 9);
      for (let s = 0; s < 3; s++) {
        const segment = await streamer.beginSegment();
        for (let i = 0; i < 8; i++) {
          segment.addFrame(grayFrame(64, 48, lumas[s * 8 + i], buffer));
          buffer.fill(255); // the generator reuses its buffer at once
        }
        segment.end();
      }
      assert.equal((await streamer.close()).completed, 3);
      const file = join(dir, 'overwrite.mp4');
      await writeFile(file, bytes());
      const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'], { encoding: 'buffer', maxBuffer: 1 << 24 });
      const pixels = 64 * 48;
      const frameBytes = (pixels * 3) / 2;
      assert.equal(stdout.length, frameBytes * lumas.length);
      lumas.forEach((luma, i) => {
        let sum = 0;
        for (let p = 0; p < pixels; p++) sum += stdout[i * frameBytes + p];
        assert.ok(Math.abs(sum / pixels - luma) < 3, `frame ${i}: mean luma ${sum / pixels}, handed over ${luma}`);
      });
    });
  }

  test('a producer that overwrites its PCM right after each handoff still gets its audio out (through the ring, and held for a queued segment)', async () => {
    const { streamer, bytes } = recorded({ width: 64, height: 48, audio: { sampleRate: 48000, channels: 1 } });
    const frame = grayFrame(64, 48, 90);
    const pcm = new Float32Array(1600);
    for (let s = 0; s < 3; s++) {
      // The next segment begins while the worker is still on this one: its PCM is held, not in the ring.
      const segment = await streamer.beginSegment();
      for (let i = 0; i < 30; i++) {
        segment.addFrame(frame);
        pcm.set(tone(1600, 1, (s * 30 + i) * 1600));
        segment.addAudio({ samples: pcm, sampleRate: 48000, channels: 1 });
        pcm.fill(0);
      }
      segment.end();
    }
    await streamer.close({ timeoutMs: 30_000 });
    const file = join(dir, 'overwritten-pcm.mp4');
    await writeFile(file, bytes());
    const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-map', '0:a', '-af', 'volumedetect', '-f', 'null', '-']);
    // The tone's mean is about -17 dBFS (amplitude 0.2); the zeros written after each handoff would be silence (-91 dB).
    const mean = Number(/mean_volume: (-?[\d.]+) dB/.exec(stderr)?.[1]);
    assert.ok(mean > -20, `mean volume ${mean} dB`);
  });

  test('the packaging worker and its encoder threads run at SCHED_IDLE, the producer\'s thread does not', async () => {
    /** Scheduling policy of each thread of this process (field 41 of /proc/<tid>/stat; 5 = SCHED_IDLE). */
    const policies = () =>
      readdirSync('/proc/self/task').map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[38]));
    const before = policies().filter((p) => p === 5).length;
    const { streamer } = recorded({ width: 320, height: 240, frameFormat: 'rgb24' });
    const segment = await streamer.beginSegment();
    for (let i = 0; i < 10; i++) segment.addFrame(frameFromPacked(new Uint8Array(320 * 240 * 3).fill(i * 20), { width: 320, height: 240, format: 'rgb24', timestamp: 0n }));
    segment.end();
    await new Promise((resolve) => streamer.on('complete', resolve));
    const idle = policies().filter((p) => p === 5).length - before;
    assert.equal(policies()[0], 0, 'the main thread keeps SCHED_OTHER');
    assert.ok(idle >= 2, `${idle} threads at SCHED_IDLE: the worker and x264's threads`);
    await streamer.close();
  });

  test('a failing segment emits error, aborts the producer\'s signal with the cause, and ends the stream', async () => {
    const { streamer, events } = recorded({ width: 64, height: 48 });
    const encoder = await VideoEncoder.create({ width: 32, height: 32, log: () => {} });
    const other: VideoPacket[] = [];
    for (let i = 0; i < 3; i++) other.push(...(await encoder.encode(grayFrame(32, 32, 100))));
    encoder.close();
    await streamer.writeSegment({ frames: [grayFrame(64, 48, 50), grayFrame(64, 48, 60)] });
    await streamer.writeSegment({ packets: other });
    await new Promise<void>((resolve) => streamer.signal.addEventListener('abort', () => resolve()));
    const cause = streamer.signal.reason as FramebusError;
    assert.ok(cause instanceof FramebusError);
    assert.match(cause.message, /^Segment 1 has h264 32x32 video; the stream is h264 64x48/);
    const error = events.find((e) => e.type === 'error');
    assert.deepEqual(error && { segment: error.segment, code: error.code }, { segment: 1, code: 'invalid-argument' });
    assert.deepEqual(events.filter((e) => e.type === 'complete').map((e) => e.segment), [0]);
    await assert.rejects(streamer.beginSegment(), (e) => e === cause);
    const result = await streamer.close();
    assert.equal(result.cause, cause);
    assert.equal(result.completed, 1);
  });

  test('close({ timeoutMs }) cuts a worker stuck in a segment and names the segment; it never hangs', async () => {
    const { streamer } = recorded({ width: 1280, height: 720, encoder: { preset: 'placebo', crf: 0 } });
    await streamer.ready;
    const noise = new Uint8Array(1280 * 720 * 3 / 2).map(() => (Math.random() * 255) | 0);
    const segment = await streamer.beginSegment();
    for (let i = 0; i < 40; i++) segment.addFrame(frameFromPacked(noise, { width: 1280, height: 720, format: 'yuv420p', timestamp: 0n }));
    segment.end();
    await streamer.writeSegment({ frames: [frameFromPacked(noise, { width: 1280, height: 720, format: 'yuv420p', timestamp: 0n })] });
    const started = performance.now();
    const result = await streamer.close({ timeoutMs: 300 });
    assert.ok(performance.now() - started < 5000, 'close returned');
    assert.equal(result.cut, 0);
    assert.deepEqual(result.abandoned, [1]);
    assert.equal(result.completed, 0);
  });

  test('bad input: a wrong frame size, another sample rate, NaN audio and an empty segment are typed errors; the stream goes on', async () => {
    const { streamer, events } = recorded({ width: 64, height: 48, audio: { sampleRate: 48000, channels: 1 } });
    const segment = await streamer.beginSegment();
    segment.addFrame(grayFrame(64, 48, 80));
    assert.throws(() => segment.addFrame(grayFrame(32, 48, 80)), (e) => e instanceof InvalidArgumentError && /32x48.*64x48/.test(e.message));
    assert.throws(() => segment.addAudio({ samples: tone(100, 1), sampleRate: 44100, channels: 1 }), (e) => e instanceof InvalidArgumentError && /44100 Hz/.test(e.message));
    const nan = tone(100, 1);
    nan[7] = NaN;
    assert.throws(() => segment.addAudio({ samples: nan, sampleRate: 48000, channels: 1 }), (e) => e instanceof InvalidArgumentError && /non-finite/.test(e.message));
    segment.addAudio({ samples: new Int16Array(1600).fill(1000), sampleRate: 48000, channels: 1 });
    segment.end();
    const empty = await streamer.beginSegment();
    assert.throws(() => empty.end(), (e) => e instanceof InvalidArgumentError && /no video frames/.test(e.message));
    const trimmedAway = await streamer.beginSegment({ trimFrames: 1 });
    trimmedAway.addFrame(grayFrame(64, 48, 80));
    assert.throws(() => trimmedAway.end(), InvalidArgumentError);
    await streamer.writeSegment({ frames: [grayFrame(64, 48, 90)] });
    await assert.rejects(streamer.beginSegment({ trimFrames: -1 }), InvalidArgumentError);
    assert.throws(() => SegmentStreamer.create({ width: 64, height: 48, audio: { sampleRate: 44100, channels: 2 } }), /Opus codes/);
    assert.throws(() => SegmentStreamer.create({ width: 64, height: 48, frameFormat: 'yuv444p' as PixelFormat }), (e) => e instanceof InvalidArgumentError && /frameFormat must be one of rgb24/.test(e.message));
    const result = await streamer.close();
    assert.equal(result.completed, 2);
    assert.equal(streamer.emptySegments, 2);
    assert.equal(result.cause, undefined);
    assert.equal(events.filter((e) => e.type === 'error').length, 0);
  });

  test('a full queue with overflow drop-oldest drops the oldest queued segment with a counted warning', async () => {
    const { streamer, events } = recorded({ width: 64, height: 48, maxQueued: 1, overflow: 'drop-oldest' });
    for (let s = 0; s < 6; s++) await streamer.writeSegment({ frames: Array.from({ length: 4 }, () => grayFrame(64, 48, 40 + s)) });
    const result = await streamer.close();
    const warnings = events.filter((e) => e.type === 'warning');
    assert.ok(result.dropped >= 1, 'a producer far ahead of the worker dropped segments');
    assert.equal(warnings.length, result.dropped);
    assert.equal(result.completed + result.dropped, 6);
  });

  test('1,000 short segments leave memory flat', async () => {
    const streamer = SegmentStreamer.create({ width: 16, height: 16, audio: { sampleRate: 8000, channels: 1 } });
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const frame = grayFrame(16, 16, 70);
    const audio = { samples: new Float32Array(267), sampleRate: 8000, channels: 1 };
    const heap: number[] = [];
    for (let s = 0; s < 1000; s++) {
      await streamer.writeSegment({ frames: [frame], audio });
      if (s === 199 || s === 999) {
        await streamer.writeSegment({ frames: [frame] });
        gc();
        heap.push(process.memoryUsage().heapUsed);
      }
    }
    const result = await streamer.close({ timeoutMs: 30_000 });
    assert.equal(result.completed, 1002);
    assert.ok(heap[1] - heap[0] < 2 * 1024 * 1024, `heap grew ${((heap[1] - heap[0]) / 1048576).toFixed(1)} MiB from segment 200 to 1000`);
  });
});

test('audio handoff: any float or int16 PCM of the stream\'s shape converts, anything else is an InvalidArgumentError', () => {
  const stream = { sampleRate: 48000, channels: 2 };
  fc.assert(
    fc.property(fc.float32Array({ maxLength: 64 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 40 }), (samples, channels, skip) => {
      try {
        const out = audioSamples(0, { samples, sampleRate: 48000, channels }, stream, skip);
        assert.equal(channels, 2);
        assert.ok(samples.every(Number.isFinite));
        assert.equal(out.length, Math.max(0, samples.length - skip * 2));
      } catch (error) {
        assert.ok(error instanceof InvalidArgumentError, String(error));
      }
    }),
  );
});
