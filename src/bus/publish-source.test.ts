import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import { frameDurationNs, nowNs } from '../core/time.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { randomMemoryUrl, waitFor } from '../../test/support/bus-fixtures.js';
import { Bus } from './bus.js';
import { publishSource } from './publish-source.js';

test('publishes every frame of a source at its frame rate, encoded once, stamped with the time of publishing', async () => {
  const bus = await Bus.open(randomMemoryUrl());
  const got: VideoPacket[] = [];
  bus.video('cam').subscribePackets((p) => void got.push(p));
  const before = nowNs();
  const progress: number[] = [];
  const result = await publishSource(bus, 'cam', new SyntheticSource({ width: 160, height: 120, fps: 60, frames: 30 }), {
    onFrame: (p) => progress.push(p.frames),
  });
  assert.equal(result.frames, 30);
  assert.equal(result.packets, 30);
  assert.deepEqual(progress, Array.from({ length: 30 }, (_, i) => i + 1));
  assert.ok(result.seconds >= 29 / 60, `30 frames at 60 fps take at least 29/60 s, took ${result.seconds}`);
  await waitFor(() => got.length === 30, 'every packet');
  assert.deepEqual(got.map((p) => p.frameId), Array.from({ length: 30 }, (_, i) => i));
  assert.equal(result.bytes, got.reduce((s, p) => s + p.data.byteLength, 0));
  assert.ok(got[0].timestamp >= before && got.every((p, i) => i === 0 || p.timestamp > got[i - 1].timestamp));
  await bus.close();
});

test('stops at a frame limit or when aborted, and keeps source timestamps when asked', async () => {
  const bus = await Bus.open(randomMemoryUrl());
  const got: VideoPacket[] = [];
  bus.video('cam').subscribePackets((p) => void got.push(p));
  const limited = await publishSource(bus, 'cam', new SyntheticSource({ width: 160, height: 120, fps: 120 }), { frames: 5, timestamps: 'source' });
  assert.equal(limited.frames, 5);
  await waitFor(() => got.length === 5, 'five packets');
  assert.deepEqual(got.map((p) => p.timestamp), [0n, 1n, 2n, 3n, 4n].map((i) => i * frameDurationNs(120)));
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 100);
  const aborted = await publishSource(bus, 'cam2', new SyntheticSource({ width: 160, height: 120, fps: 30 }), { signal: abort.signal });
  assert.ok(aborted.frames >= 1 && aborted.frames < 30, `${aborted.frames} frames before the abort`);
  await assert.rejects(publishSource(bus, 'cam3', new SyntheticSource(), { frames: -1 }), InvalidArgumentError);
  await bus.close();
});
