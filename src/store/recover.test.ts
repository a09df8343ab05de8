import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, open, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { McapIndexedReader } from '@mcap/core';
import { FileHandleReadable } from '@mcap/nodejs';
import type { VideoPacket } from '../core/packet.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import { readFrameCode } from '../source/synthetic-source.js';
import { recordSynthetic, tempDir } from '../../test/store/fixtures.js';
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
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/store/record-child.ts', path, String(interval)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const written = new Map<number, number>();
    let ready!: () => void;
    const started = new Promise<void>((resolve) => (ready = resolve));
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        // The recording is written under a partial name until it is closed; a kill leaves it there.
        if (line.startsWith('ready ')) {
          path = line.slice('ready '.length);
          ready();
        }
        const [id, at] = line.split(' ').map(Number);
        if (at) written.set(id, at);
      }
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await Promise.race([started, exited]);
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
