import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { BitStreamFilterAPI, Demuxer } from 'node-av/api';
import { Packet } from 'node-av/lib';
import { InvalidArgumentError, MalformedDataError, NotFoundError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import { RecordingReader } from '../store/recording-reader.js';
import { recordSynthetic, T0, tempDir } from '../../test/store/fixtures.js';
import { exportClip } from './export.js';

const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
let recording: string;
let recorded: VideoPacket[];

before(async () => {
  ({ dir, cleanup } = await tempDir('framebus-export-'));
  recording = join(dir, 'rec.mcap');
  await recordSynthetic(recording, { frames: 90, streamOptions: { encoder: { gop: 30 } } });
  await recordSynthetic(join(dir, 'jpeg.mcap'), { frames: 3, streamOptions: { codec: 'jpeg' } });
  const reader = await RecordingReader.open(recording);
  recorded = [];
  for await (const p of reader.packets('camera')) recorded.push(p as VideoPacket);
  await reader.close();
});
after(() => cleanup());

/** ffprobe's view of a file's video stream, counting frames by decoding them. */
async function probe(path: string): Promise<{ frames: number; duration: number; codec: string; width: number; height: number }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames:format=duration', '-of', 'json', path]);
  const json = JSON.parse(stdout) as { streams: { codec_name: string; width: number; height: number; nb_read_frames: string }[]; format: { duration: string } };
  const [s] = json.streams;
  return { frames: Number(s.nb_read_frames), duration: Number(json.format.duration), codec: s.codec_name, width: s.width, height: s.height };
}

/** The MP4's samples converted back to Annex B, as node-av demuxes them. */
async function annexBSamples(path: string): Promise<Buffer[]> {
  const demuxer = await Demuxer.open(path);
  const stream = demuxer.video()!;
  const filter = BitStreamFilterAPI.create('h264_mp4toannexb', stream);
  const ctx = demuxer.getFormatContext();
  const packet = new Packet();
  packet.alloc();
  const out: Buffer[] = [];
  try {
    while ((await ctx.readFrame(packet)) >= 0) {
      if (packet.streamIndex === stream.index) {
        for (const p of await filter.filterAll(packet)) {
          if (p.data) out.push(Buffer.from(p.data));
          p.free();
        }
      }
      packet.unref();
    }
  } finally {
    packet.free();
    filter.close();
    await demuxer.close();
  }
  return out;
}

/** Top-level MP4 box types in file order. */
async function topLevelBoxes(path: string): Promise<string[]> {
  const bytes = await readFile(path);
  const types: string[] = [];
  for (let at = 0; at + 8 <= bytes.length; ) {
    let size = bytes.readUInt32BE(at);
    types.push(bytes.toString('latin1', at + 4, at + 8));
    if (size === 1) size = Number(bytes.readBigUInt64BE(at + 8));
    if (size < 8) break;
    at += size;
  }
  return types;
}

describe('export', () => {
  test('a range exports to a faststart MP4 that ffprobe reads with the expected frames and duration; packets byte-identical', async (t) => {
    const out = join(dir, 'clip.mp4');
    const summary = await exportClip(recording, out, { start: 1.2, end: 2.5 });
    // Frame 36 (1.1999999 s) is on screen at 1.2 s; frame 75 is at exactly 2.5 s.
    assert.equal(summary.frames, 40);
    assert.equal(summary.start, recorded[36].timestamp);
    assert.equal(summary.end, recorded[75].timestamp);
    const p = await probe(out);
    t.diagnostic(`ffprobe: ${JSON.stringify(p)}`);
    assert.deepEqual([p.codec, p.width, p.height, p.frames], ['h264', 320, 240, 40]);
    assert.ok(Math.abs(p.duration - 40 / 30) < 0.002, `duration ${p.duration}`);
    const boxes = await topLevelBoxes(out);
    assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), `boxes ${boxes.join(',')}`);

    const samples = await annexBSamples(out);
    const expected = recorded.slice(30, 76);
    assert.equal(samples.length, expected.length, 'stored from the key packet at 1.0 s');
    samples.forEach((s, i) => assert.deepEqual(s, Buffer.from(expected[i].data), `packet ${30 + i}`));
  });

  test('the whole stream exports to fragmented MP4', async () => {
    const out = join(dir, 'all.mp4');
    const summary = await exportClip(recording, out, { fragmented: true });
    assert.equal(summary.frames, 90);
    const p = await probe(out);
    assert.equal(p.frames, 90);
    assert.ok(Math.abs(p.duration - 3) < 0.002, `duration ${p.duration}`);
    assert.ok((await topLevelBoxes(out)).includes('moof'));
    const samples = await annexBSamples(out);
    samples.forEach((s, i) => assert.deepEqual(s, Buffer.from(recorded[i].data)));
  });

  test('bad requests fail with typed errors', async () => {
    await assert.rejects(exportClip(join(dir, 'jpeg.mcap'), join(dir, 'x.mp4')), /has no video stream/);
    await assert.rejects(exportClip(join(dir, 'jpeg.mcap'), join(dir, 'x.mp4'), { stream: 'camera' }), (e: Error) => e instanceof InvalidArgumentError && /is jpeg; only/.test(e.message));
    await assert.rejects(exportClip(recording, join(dir, 'x.mp4'), { stream: 'nope' }), NotFoundError);
    await assert.rejects(exportClip(recording, join(dir, 'x.mp4'), { start: -1 }), /start must not be negative/);
    await assert.rejects(exportClip(recording, join(dir, 'x.mp4'), { start: Number.NaN }), InvalidArgumentError);
    await assert.rejects(exportClip(recording, join(dir, 'x.mp4'), { start: 2, end: 1 }), /ends .* before it starts/);
    await assert.rejects(exportClip(recording, join(dir, 'x.mp4'), { start: 10 }), /after the stream's last frame/);
  });

  test('a stream index whose times were altered to where no packet is: the whole stream or a typed error, never a TypeError (bench fuzz seed 15, case 9274)', async () => {
    const bytes = await readFile(recording);
    const last = recorded[recorded.length - 1].timestamp;
    // One digit of the stored index's start and end: the index now claims a range 0.1e18 ns later.
    for (const t of [T0, last]) {
      const at = bytes.indexOf(String(t));
      assert.ok(at > 0 && bytes.indexOf(String(t), at + 1) < 0, `${t} is in the file once`);
      bytes[at + 1] = '8'.charCodeAt(0);
    }
    const shifted = join(dir, 'shifted-index.mcap');
    await writeFile(shifted, bytes);
    // A reader that checks the index against the messages exports all 90 frames; one that trusts it finds no packets and says so.
    const outcome = await exportClip(shifted, join(dir, 'shifted.mp4'), { warn: () => {} }).catch((e: Error) => e);
    if (outcome instanceof Error) assert.ok(outcome instanceof MalformedDataError && /no readable packets/.test(outcome.message), outcome.stack);
    else assert.equal(outcome.frames, 90);
  });
});
