import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Bus } from '../bus/bus.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { packetsOf, recordSynthetic, T0, tempDir } from '../../test/store/fixtures.js';
import { BusRecorder, recordBus } from './bus-recorder.js';
import { playRecording } from './play-recording.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir('framebus-bus-rec-')));
after(() => cleanup());

describe('bus recording and playback', () => {
  test('a bus recorder stores every published packet byte for byte, with sequence and frame id', async () => {
    const bus = await Bus.open('memory:rec');
    const path = join(dir, 'from-bus.mcap');
    try {
      const recorder = await BusRecorder.start(bus, path, { topics: ['cam/front'] });
      const topic = bus.video('cam/front', { encoder: { gop: 10 } });
      const published: VideoPacket[] = [];
      for await (const frame of new SyntheticSource({ width: 160, height: 120, frames: 25, startTimestamp: T0 })) {
        published.push(...(await topic.publishFrame({ ...frame, frameId: frame.frameId + 500 })));
      }
      await sleep(50);
      const summary = await recorder.stop();
      await topic.close();
      assert.equal(recorder.stats['cam/front'].packets, 25);
      assert.equal(summary.streams[0].frames, 25);
      const stored = await packetsOf(path, 'cam/front');
      assert.equal(stored.length, published.length);
      stored.forEach((p, i) => {
        assert.deepEqual(Buffer.from(p.data), Buffer.from(published[i].data));
        assert.equal(p.sequence, published[i].sequence);
        assert.equal(p.frameId, published[i].frameId);
        assert.equal(p.timestamp, published[i].timestamp);
      });
    } finally {
      await bus.close();
    }
  });

  test('playback publishes a recording with its timing; recording it again gives the same packets', async () => {
    const original = join(dir, 'original.mcap');
    await recordSynthetic(original, { frames: 30, width: 160, height: 120, streamOptions: { encoder: { gop: 10 } } });
    const bus = await Bus.open('memory:play');
    try {
      const again = join(dir, 'again.mcap');
      const recorder = await BusRecorder.start(bus, again, { topics: ['replay/camera'] });
      const startedAt = performance.now();
      const summary = await playRecording(original, bus, { speed: 2, topicPrefix: 'replay/' });
      const elapsed = performance.now() - startedAt;
      await sleep(50);
      await recorder.stop();
      assert.deepEqual(summary, { packets: 30, passes: 1, topics: { camera: 'replay/camera' } });
      // 29 frame intervals of 1/30 s at twice the speed.
      assert.ok(elapsed >= (29 / 30 / 2) * 1000 - 20, `played in ${elapsed} ms`);
      const before = await packetsOf(original, 'camera');
      const after = await packetsOf(again, 'replay/camera');
      assert.equal(after.length, 30);
      after.forEach((p, i) => {
        assert.deepEqual(Buffer.from(p.data), Buffer.from(before[i].data));
        assert.equal(p.timestamp, before[i].timestamp);
      });
    } finally {
      await bus.close();
    }
  });

  test('looped playback keeps sequences and timestamps rising until aborted', async () => {
    const original = join(dir, 'loop.mcap');
    await recordSynthetic(original, { frames: 10, width: 160, height: 120, streamOptions: { encoder: { gop: 5 } } });
    const bus = await Bus.open('memory:loop');
    try {
      const seen: VideoPacket[] = [];
      const sub = bus.video('camera').subscribePackets((p) => {
        seen.push(p);
      });
      const stop = new AbortController();
      const playing = playRecording(original, bus, { speed: 10, loop: true, signal: stop.signal, onProgress: (n) => n >= 25 && stop.abort() });
      const summary = await playing;
      await sleep(20);
      await sub.unsubscribe();
      assert.ok(summary.passes >= 2, `${summary.passes} passes`);
      assert.ok(seen.length >= 25);
      seen.forEach((p, i) => {
        assert.equal(p.sequence, i);
        if (i > 0) assert.ok(p.timestamp > seen[i - 1].timestamp);
      });
    } finally {
      await bus.close();
    }
  });

  test('bad options fail with typed errors', async () => {
    const bus = await Bus.open('memory:bad');
    try {
      await assert.rejects(BusRecorder.start(bus, join(dir, 'none.mcap'), { topics: [] }), InvalidArgumentError);
      await assert.rejects(recordBus(bus, join(dir, 'forever.mcap'), { topics: ['a'] }), /never ends/);
      await assert.rejects(playRecording(join(dir, 'original.mcap'), bus, { speed: 0 }), /speed must be a positive number/);
      const jpeg = join(dir, 'jpeg.mcap');
      await recordSynthetic(jpeg, { frames: 2, streamOptions: { codec: 'jpeg' } });
      await assert.rejects(playRecording(jpeg, bus), /no video stream to play/);
      await assert.rejects(playRecording(jpeg, bus, { streams: ['camera'] }), /is jpeg; only video streams/);
    } finally {
      await bus.close();
    }
  });

  test('recordBus runs for a duration', async () => {
    const bus = await Bus.open('memory:duration');
    try {
      const path = join(dir, 'timed.mcap');
      const ticks: number[] = [];
      const summary = await recordBus(bus, path, { topics: ['quiet'], duration: 0.2, onProgress: () => ticks.push(1) });
      assert.equal(summary.streams.length, 0);
      assert.ok(ticks.length >= 1);
    } finally {
      await bus.close();
    }
  });
});
