import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { McapIndexedReader } from '@mcap/core';
import { FileHandleReadable } from '@mcap/nodejs';
import type { VideoPacket } from '../core/packet.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import { readFrameCode } from '../source/synthetic-source.js';
import { InvalidArgumentError, NotFoundError } from '../core/errors.js';
import { exportClip } from '../media/export.js';
import { recordSynthetic, T0, tempDir } from '../../test/store/fixtures.js';
import { runCli } from '../../test/support/run-cli.js';
import { startRecorderChild } from '../../test/support/recorder-child.js';
import { McapFileWriter } from './mcap-file-writer.js';
import { recordingInfo } from './recording-info.js';
import { recover } from './recover.js';
import { RecordingReader } from './recording-reader.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

async function validates(path: string): Promise<bigint> {
  const handle = await open(path);
  try {
    const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) });
    let n = 0n;
    for await (const m of reader.readMessages({ validateCrcs: true })) if (m) n++;
    assert.equal(n, reader.statistics?.messageCount);
    return n;
  } finally {
    await handle.close();
  }
}

describe('crash safety', () => {
  test('SIGKILL while recording, then recover: every message older than the flush interval is there and decodes', async (t) => {
    let path = join(dir, 'killed.mcap');
    const interval = 0.5;
    // The recording is written under a partial name until it is closed; a kill leaves it there.
    const child = startRecorderChild(path, interval);
    const { written, exited } = child;
    void child.started.then((p) => (path = p));
    await Promise.race([child.started, exited]);
    await sleep(2500);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await exited;
    assert.ok(written.size > 30, `the child recorded only ${written.size} frames`);

    await assert.rejects(open(path).then(async (h) => {
      try {
        await McapIndexedReader.Initialize({ readable: new FileHandleReadable(h) });
      } finally {
        await h.close();
      }
    }), 'a killed recorder leaves no index');
    const warnings: string[] = [];
    const direct = await RecordingReader.open(path, { warn: (m) => warnings.push(m) });
    assert.equal(direct.indexed, false);
    assert.match(warnings[0], /not finished.*recover/);
    const directFrames = (await direct.stream('camera')).frames;
    await direct.close();

    const summary = await recover(path);
    t.diagnostic(`child wrote ${written.size} frames; recovered ${summary.messages} messages, lost ${summary.lostBytes} bytes; ${summary.problems.join('; ')}`);
    assert.equal(summary.wasComplete, false);
    assert.equal(await validates(path), BigInt(summary.messages));

    const reader = await RecordingReader.open(path);
    const decoder = await VideoDecoder.create({ codec: 'h264' });
    try {
      assert.equal(reader.indexed, true);
      const info = await reader.stream('camera');
      assert.equal(info.indexed, true);
      assert.equal(info.frames, directFrames);
      const decoded = new Map<number, number>();
      for await (const p of reader.packets('camera')) {
        for (const f of await decoder.decode(p as VideoPacket)) decoded.set(f.frameId, readFrameCode(f.planes[0].data, f.width, f.height));
      }
      // Flushed by the first message after the interval: allow one frame period and the write.
      const deadline = killedAt - interval * 1000 - 1000 / 30 - 100;
      const old = [...written].filter(([, at]) => at <= deadline).map(([id]) => id);
      assert.ok(old.length > 20);
      for (const id of old) assert.equal(decoded.get(id), id, `frame ${id}, written ${killedAt - written.get(id)!} ms before the kill, is missing or wrong`);
    } finally {
      decoder.close();
      await reader.close();
    }
  });

  test('a truncated copy recovers to the complete chunks before the cut', async () => {
    const path = join(dir, 'whole.mcap');
    await recordSynthetic(path, { frames: 60, recording: { maxChunkBytes: 8 * 1024 } });
    const cut = join(dir, 'cut.mcap');
    await copyFile(path, cut);
    await truncate(cut, Math.floor((await stat(path)).size * 0.6));
    const out = join(dir, 'cut-recovered.mcap');
    const summary = await recover(cut, { output: out });
    assert.ok(summary.messages > 20 && summary.messages < 60, `${summary.messages} messages`);
    assert.ok(summary.lostBytes > 0);
    assert.equal(await validates(out), BigInt(summary.messages));
    const reader = await RecordingReader.open(out);
    try {
      const info = await reader.stream('camera');
      assert.equal(info.frames, summary.messages);
      const last = await reader.frameAt('camera', info.end);
      assert.equal(readFrameCode(last.planes[0].data, 320, 240), info.frames - 1);
    } finally {
      await reader.close();
    }
    await assert.rejects(recover(cut, { output: out }), /already exists/);
  });
});

const quiet = { warn: () => {} };
const FRAME_NS = 33_333_333n;

function sha1(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

async function chunksOf(path: string): Promise<{ offset: number; length: number; end: bigint }[]> {
  const handle = await open(path);
  try {
    const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) });
    return reader.chunkIndexes.map((c) => ({ offset: Number(c.chunkStartOffset), length: Number(c.chunkLength), end: c.messageEndTime }));
  } finally {
    await handle.close();
  }
}

/** The frame codes (the synthetic scene's frame counter) of every frame a reader decodes from the start. */
async function decodedCodes(path: string): Promise<number[]> {
  const reader = await RecordingReader.open(path, quiet);
  try {
    const codes: number[] = [];
    for await (const f of reader.frames('camera')) codes.push(readFrameCode(f.planes[0].data, f.width, f.height));
    return codes;
  } finally {
    await reader.close();
  }
}

describe('recover never reduces what can be read', () => {
  /** 90 frames of 320x240 in three chunks: the file of the reported cases. */
  let clean: Buffer;
  let chunks: { offset: number; length: number; end: bigint }[];
  before(async () => {
    const path = join(dir, 'ninety.mcap');
    await recordSynthetic(path, { frames: 90, recording: { maxChunkBytes: 28 * 1024 } });
    clean = await readFile(path);
    chunks = await chunksOf(path);
    assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
  });

  test('one flipped byte in the header: every reader still reads 90 frames, and so does the recovered file; the original is kept', async () => {
    const path = join(dir, 'header.mcap');
    const damaged = Buffer.from(clean);
    damaged[9] ^= 0xff; // the header record's length
    await writeFile(path, damaged);
    assert.equal((await recordingInfo(path, quiet)).streams[0].frames, 90);
    assert.equal((await exportClip(path, join(dir, 'header.mp4'), quiet)).frames, 90);

    const summary = await recover(path);
    assert.equal(summary.output, path);
    assert.equal(summary.original, `${path}.orig`);
    assert.equal(sha1(await readFile(`${path}.orig`)), sha1(damaged), 'the original is kept byte for byte');
    assert.equal(summary.messages, 90);
    assert.equal(summary.wasComplete, false);
    assert.ok(summary.lostBytes < 300, `${summary.lostBytes} bytes lost`);
    assert.equal(await validates(path), 90n);
    assert.deepEqual(await decodedCodes(path), [...Array(90).keys()]);
    assert.deepEqual(await readdir(dir).then((names) => names.filter((n) => n.includes('.recovering-'))), []);
  });

  test('one flipped byte in the first chunk costs only its frames: the 60 of chunks 2–3 are kept, with schema and channel from the summary', async () => {
    const path = join(dir, 'first-chunk.mcap');
    const damaged = Buffer.from(clean);
    damaged[chunks[0].offset + Math.floor(chunks[0].length / 2)] ^= 0x01;
    await writeFile(path, damaged);
    const summary = await recover(path);
    assert.equal(summary.wasComplete, false);
    assert.match(summary.problems.join('\n'), new RegExp(`skipped the chunk at byte ${chunks[0].offset}`));
    assert.ok(summary.lostBytes >= chunks[0].length, `${summary.lostBytes} bytes lost`);
    const inFirst = Number((chunks[0].end - T0) / FRAME_NS) + 1;
    assert.equal(summary.messages, 90 - inFirst);
    // Decoding starts at the first key packet after the lost chunk (GOP 30).
    const firstKey = Math.ceil(inFirst / 30) * 30;
    assert.deepEqual(await decodedCodes(path), [...Array(90 - firstKey).keys()].map((i) => firstKey + i));
  });

  test('the report is true: a whole file "was complete" and loses nothing; recovering again keeps every earlier original', async () => {
    const path = join(dir, 'whole.mcap');
    await writeFile(path, clean);
    const first = await recover(path);
    assert.deepEqual([first.wasComplete, first.messages, first.lostBytes, first.problems], [true, 90, 0, []]);
    assert.deepEqual(first.readable, { summary: 90, messageScan: 90, chunkScan: 90 });
    const second = await recover(path);
    assert.equal(second.original, `${path}.orig-2`);
    assert.equal(sha1(await readFile(`${path}.orig`)), sha1(clean));
    assert.equal(second.messages, 90);
  });

  test('a truncated file: the report names the cut, and the frames before it are kept', async () => {
    const path = join(dir, 'cut-report.mcap');
    await writeFile(path, clean.subarray(0, chunks[1].offset + 100));
    const summary = await recover(path);
    assert.equal(summary.wasComplete, false);
    assert.equal(summary.lostBytes, 100);
    assert.match(summary.problems.join('\n'), /last 100 bytes/);
    assert.equal((await decodedCodes(path)).length, summary.messages);
  });

  test('a killed recover leaves no temp file behind on the next run; a running one is not disturbed', async () => {
    const path = join(dir, 'stale.mcap');
    await writeFile(path, clean);
    const dead = spawn(process.execPath, ['-e', '']);
    const deadPid = dead.pid!;
    await new Promise((resolve) => dead.on('exit', resolve));
    const stale = `${path}.recovering-${deadPid}-0badf00d`;
    const running = `${path}.recovering-${process.pid}-5ca1ab1e`;
    await writeFile(stale, clean.subarray(0, 1000));
    await writeFile(running, clean.subarray(0, 1000));
    await recover(path);
    const left = (await readdir(dir)).filter((n) => n.startsWith('stale.mcap.recovering-'));
    assert.deepEqual(left, ['stale.mcap.recovering-' + `${process.pid}-5ca1ab1e`]);
  });

  test('bad paths are one-line typed errors, and an output that is the input is refused (in place is the default)', async () => {
    await assert.rejects(recover(join(dir, 'absent.mcap')), NotFoundError);
    const folder = join(dir, 'a-folder');
    await mkdir(folder);
    await assert.rejects(recover(folder), (e: Error) => e instanceof InvalidArgumentError && /is a folder/.test(e.message));
    const path = join(dir, 'same.mcap');
    await writeFile(path, clean);
    await assert.rejects(recover(path, { output: path }), (e: Error) => e instanceof InvalidArgumentError && /is the input .*leave out the output/.test(e.message));
    assert.equal(sha1(await readFile(path)), sha1(clean));
    const summary = await recover(path);
    assert.equal(summary.original, `${path}.orig`);
  });

  test('framebus recover on the header-damaged file keeps its 90 messages and the original beside it', async () => {
    const path = join(dir, 'cli.mcap');
    const damaged = Buffer.from(clean);
    damaged[9] ^= 0xff;
    await writeFile(path, damaged);
    const r = await runCli(['recover', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /recovered, 90 messages kept/);
    assert.deepEqual(await decodedCodes(path), [...Array(90).keys()]);
    assert.equal(sha1(await readFile(`${path}.orig`)), sha1(damaged));
  });
});

test('salvaging a 192 MB recording cut short holds where its messages are, not their bytes; recover reads each again as it writes', { timeout: 300_000 }, async () => {
  const file = join(dir, 'big-cut.mcap');
  const writer = await McapFileWriter.create(file);
  const channelId = await writer.registerChannel({ schemaId: 0, topic: 'blob', messageEncoding: 'application/octet-stream', metadata: new Map() });
  const payload = new Uint8Array(512 * 1024);
  for (let i = 0; i < 384; i++) {
    randomFillSync(payload);
    // A chunk opcode before the next message's header: a candidate chunk ~134 MB long, which must not be read.
    payload[payload.length - 1] = 0x06;
    await writer.addMessages([{ channelId, sequence: i, logTime: T0 + BigInt(i) * 1_000_000n, publishTime: T0, data: payload }]);
  }
  await writer.close();
  const size = (await stat(file)).size;
  await truncate(file, Math.floor(size * 0.9));
  const script = new URL('../../test/support/salvage-memory.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, file, join(dir, 'big-recovered.mcap')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0);
  const report = JSON.parse(out) as { heldArrayBuffers: number; found: number; messages: number };
  process.stdout.write(`# salvage of ${(size / 2 ** 20).toFixed(0)} MB cut to 90%: ${report.found} messages found, ${(report.heldArrayBuffers / 2 ** 20).toFixed(1)} MiB of buffers held\n`);
  // About 90% of the 384 half-MiB messages survive the cut, less the chunk it went through.
  assert.ok(report.found >= 320 && report.found < 384, `${report.found} messages found`);
  // Its own read buffers (a chunk and a search block); the messages' bytes would be 170 MB.
  assert.ok(report.heldArrayBuffers < size / 4, `the salvage holds ${(report.heldArrayBuffers / 2 ** 20).toFixed(0)} MiB of buffers for a ${(size / 2 ** 20).toFixed(0)} MB file`);
  assert.equal(report.messages, report.found);
  assert.equal(await validates(join(dir, 'big-recovered.mcap')), BigInt(report.found));
});

test('messages that carry MCAP data are not read as the file\'s: a cut or damaged chunk\'s inside is skipped, and recover keeps only the real messages', async () => {
  const inner = join(dir, 'nested-inner.mcap');
  const innerWriter = await McapFileWriter.create(inner);
  // Its channel id is not the outer file's: its chunks parse on their own.
  await innerWriter.registerChannel({ schemaId: 0, topic: 'unused', messageEncoding: 'application/octet-stream', metadata: new Map() });
  const innerChannel = await innerWriter.registerChannel({ schemaId: 0, topic: 'inner', messageEncoding: 'application/octet-stream', metadata: new Map() });
  for (let i = 0; i < 5; i++) await innerWriter.addMessages([{ channelId: innerChannel, sequence: i, logTime: T0 + BigInt(i), publishTime: T0, data: new Uint8Array([i]) }]);
  await innerWriter.close();
  const blob = await readFile(inner);

  const write = async (name: string) => {
    const path = join(dir, name);
    // One message per chunk: each chunk's inside is a whole recording.
    const writer = await McapFileWriter.create(path, { maxChunkBytes: 1 });
    const channelId = await writer.registerChannel({ schemaId: 0, topic: 'outer', messageEncoding: 'application/octet-stream', metadata: new Map() });
    for (let i = 0; i < 8; i++) await writer.addMessages([{ channelId, sequence: i, logTime: T0 + 1_000_000n * BigInt(i), publishTime: T0, data: blob }]);
    await writer.close();
    return path;
  };
  const topics = async (path: string) => {
    const handle = await open(path);
    try {
      const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) });
      const seen: string[] = [];
      for await (const m of reader.readMessages()) seen.push(`${reader.channelsById.get(m.channelId)!.topic}:${m.sequence}`);
      return seen;
    } finally {
      await handle.close();
    }
  };
  const chunkStarts = async (path: string) => {
    const handle = await open(path);
    try {
      const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) });
      return reader.chunkIndexes.map((c) => Number(c.chunkStartOffset));
    } finally {
      await handle.close();
    }
  };

  // A whole file: recover says so and writes its 8 messages alone.
  const whole = await write('nested-whole.mcap');
  const wholeSummary = await recover(whole, { output: join(dir, 'nested-whole-recovered.mcap') });
  assert.equal(wholeSummary.wasComplete, true);
  assert.deepEqual(await topics(join(dir, 'nested-whole-recovered.mcap')), [...Array(8).keys()].map((i) => `outer:${i}`));

  // Cut through the last chunk: the 7 whole chunks before it are kept, nothing of the inner recording.
  const cut = await write('nested-cut.mcap');
  const starts = await chunkStarts(cut);
  assert.equal(starts.length, 8);
  await truncate(cut, starts[7] + 200);
  const cutSummary = await recover(cut, { output: join(dir, 'nested-cut-recovered.mcap') });
  assert.deepEqual(await topics(join(dir, 'nested-cut-recovered.mcap')), [...Array(7).keys()].map((i) => `outer:${i}`));
  assert.equal(cutSummary.messages, 7);

  // A flipped byte in the third chunk's message: that chunk fails its CRC and costs its message alone.
  const damaged = await write('nested-damaged.mcap');
  const bytes = await readFile(damaged);
  const third = (await chunkStarts(damaged))[2];
  bytes[third + Math.floor(blob.length / 2)] ^= 0xff;
  await writeFile(damaged, bytes);
  await recover(damaged, { output: join(dir, 'nested-damaged-recovered.mcap') });
  assert.deepEqual(await topics(join(dir, 'nested-damaged-recovered.mcap')), [0, 1, 3, 4, 5, 6, 7].map((i) => `outer:${i}`));
});
