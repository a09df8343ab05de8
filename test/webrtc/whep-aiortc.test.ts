import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Bus } from '../../src/bus/bus.js';
import { startLiveServer } from '../../src/server/live-server.js';
import { startSyntheticCamera } from '../../src/bench/synthetic-camera.js';

const run = promisify(execFile);
const PLAYER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'whep_aiortc.py');

test('aiortc plays WHEP: it decodes the H.264 track (PyAV) and its frames carry the synthetic frame numbers in order', async () => {
  const bus = await Bus.open('memory:whep-aiortc-test');
  const server = await startLiveServer({ bus, port: 0 });
  const camera = startSyntheticCamera(bus, 'camera', { width: 320, height: 240, gop: 30 });
  try {
    while (camera.published < 20) await sleep(20);
    const { stdout } = await run('/usr/bin/python3', [PLAYER, `${new URL(server.url).origin}/whep/camera`, '60', '20'], { timeout: 60_000 });
    const frames = stdout
      .split('\n')
      .filter((line) => line.startsWith('frame '))
      .map((line) => line.split(' ').slice(1).map(Number));
    assert.equal(frames.length, 60);
    assert.ok(stdout.includes('done'));
    for (const [, width, height] of frames) assert.deepEqual([width, height], [320, 240]);
    const codes = frames.map(([code]) => code);
    // The first frame is the cached GOP's key frame; then every frame follows, none lost on loopback.
    for (let i = 1; i < codes.length; i++) assert.equal(codes[i], codes[i - 1] + 1, `frame numbers in order: ${codes.slice(Math.max(0, i - 3), i + 2).join(', ')}`);
    assert.equal(codes[0] % 30, 0, `the player starts at a key frame (GOP 30), got frame ${codes[0]}`);
    assert.ok(codes.at(-1)! < camera.published);
    // The DELETE ended the session.
    for (let i = 0; i < 100 && server.webrtc!.whep.size > 0; i++) await sleep(20);
    assert.equal(server.webrtc!.whep.size, 0);
  } finally {
    await server.close();
    await camera.stop();
    await bus.close();
  }
});
