import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Bus } from '../bus/bus.js';
import { LocalNatsServer } from '../bus/nats/local-nats-server.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import type { VideoPacket } from '../core/packet.js';
import { nowNs } from '../core/time.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { fromVideoPacket } from '../wire/core-conversion.js';
import { videoPacketMessageType } from '../wire/messages.js';
import { randomLcmUrl } from '../../test/support/bus-fixtures.js';
import { lcmHostilePeer, natsHostilePeer, sendGarbage, type GarbageCounts, type HostilePeer } from '../../test/support/hostile-peer.js';
import { packetsOf, T0, tempDir } from '../../test/store/fixtures.js';
import { runCli } from '../../test/support/run-cli.js';
import { BusRecorder } from './bus-recorder.js';
import { openMcapSource } from './mcap-source.js';
import { RecordingReader } from './recording-reader.js';
import { recordingInfo } from './recording-info.js';

let dir: string;
let cleanup: () => Promise<void>;
let nats: LocalNatsServer;
before(async () => {
  ({ dir, cleanup } = await tempDir('framebus-rec-guard-'));
  nats = await LocalNatsServer.start();
});
after(async () => {
  await nats.stop();
  await cleanup();
});

const quiet = () => {};

/** Waits until `value()` has not changed for `quietMs` (bounded, so a broken run fails instead of hanging). */
async function settle(value: () => number, quietMs = 400, limitMs = 10_000): Promise<void> {
  const deadline = performance.now() + limitMs;
  let last = value();
  let since = performance.now();
  while (performance.now() < deadline && performance.now() - since < quietMs) {
    await sleep(50);
    if (value() !== last) [last, since] = [value(), performance.now()];
  }
}

/** Frames a stored video stream decodes to, from its first key packet, with the project's reader and decoder. */
async function decodedFrames(path: string, stream: string): Promise<number> {
  const reader = await RecordingReader.open(path);
  let n = 0;
  try {
    for await (const _ of reader.frames(stream, { format: 'gray8' })) n++;
  } finally {
    await reader.close();
  }
  return n;
}

interface Attack {
  /** Before the real packet of this index is published, send one copy of it as forged: a billion seconds in the future. */
  forgeBefore?: number;
  /** Garbage messages to send while the publisher runs. */
  garbage?: number;
}

/**
 * Records topic `cam` from `url` while a real publisher sends `frames` frames at 30 fps and a
 * hostile peer attacks; returns what was published and what the recording holds.
 */
async function recordUnderAttack(url: string, peer: HostilePeer, file: string, frames: number, attack: Attack) {
  const path = join(dir, file);
  const recorderBus = await Bus.open(url, { log: quiet });
  const publisherBus = await Bus.open(url, { log: quiet });
  try {
    const recorder = await BusRecorder.start(recorderBus, path, { topics: ['cam'], log: quiet });
    await recorderBus.flush();
    const topic = publisherBus.video('cam', { log: quiet });
    const published: VideoPacket[] = [];
    let garbage: Promise<GarbageCounts> | undefined;
    if (attack.garbage) garbage = sendGarbage(peer, 'cam', attack.garbage, frames / 30, 15);
    let i = 0;
    for await (const frame of new SyntheticSource({ width: 320, height: 240, fps: 30, frames, realtime: true })) {
      if (i++ === attack.forgeBefore) {
        const copy = published[0];
        const forged = { ...copy, sequence: published.at(-1)!.sequence + 1, frameId: 0, timestamp: nowNs() + 1_000_000_000n * 1_000_000_000n };
        await peer.send('cam', videoPacketMessageType.encode(fromVideoPacket(forged)));
      }
      published.push(...(await topic.publishFrame(frame)));
    }
    const counts = await garbage;
    await settle(() => recorder.stats.cam.packets);
    await recorder.stop();
    await topic.close();
    return { path, published, stats: recorder.stats.cam, counts };
  } finally {
    await Promise.all([recorderBus.close(), publisherBus.close()]);
  }
}

/** What a user checks: nearly every real frame stored, byte for byte, and every stored frame decodes. */
async function checkRecording(path: string, published: VideoPacket[]) {
  const stored = await packetsOf(path, 'cam');
  assert.ok(stored.length >= 0.99 * published.length, `${stored.length} of ${published.length} frames recorded`);
  const bySequence = new Map(published.map((p) => [p.sequence, p]));
  for (const p of stored) {
    const real = bySequence.get(p.sequence);
    assert.ok(real && Buffer.from(p.data).equals(Buffer.from(real.data)) && p.timestamp === real.timestamp, `stored packet ${p.sequence} is the one published`);
  }
  assert.equal(await decodedFrames(path, 'cam'), stored.length, 'every stored frame decodes');
  const info = await recordingInfo(path);
  assert.deepEqual(info.streams.map((s) => s.name), ['cam']);
  assert.ok(info.streams[0].duration < 60, `the recording lasts ${info.streams[0].duration} s`);
  return { stored, info };
}

for (const transport of ['lcm', 'nats'] as const) {
  describe(`a bus recorder on ${transport.toUpperCase()} under attack`, () => {
    const open = () => (transport === 'lcm' ? Promise.resolve(randomLcmUrl()) : Promise.resolve(nats.url));
    const peerFor = (url: string) => (transport === 'lcm' ? lcmHostilePeer(url) : natsHostilePeer(url));

    test('one forged packet timestamped a billion seconds ahead is counted as an outlier; every real frame is recorded', async (t) => {
      const url = await open();
      const peer = await peerFor(url);
      try {
        const { path, published, stats } = await recordUnderAttack(url, peer, `forged-${transport}.mcap`, 150, { forgeBefore: 60 });
        const { stored, info } = await checkRecording(path, published);
        t.diagnostic(`${stored.length} of ${published.length} frames recorded, ${stats.outliers} outlier`);
        assert.equal(stored.length, published.length);
        assert.deepEqual(info.topics, [{ topic: 'cam', ...stats }]);
        assert.equal(stats.outliers, 1);
        assert.deepEqual([stats.packets, stats.dropped, stats.streams], [published.length, 0, ['cam']]);
        if (transport === 'nats') {
          const cli = await runCli(['info', path]);
          assert.equal(cli.code, 0, cli.stderr);
          assert.match(cli.stdout, new RegExp(`topic cam: ${published.length} packets recorded in cam; outliers: 1, dropped: 0, lost: 0`));
        }
      } finally {
        await peer.close();
      }
    });

    test('20,000 garbage messages: at least 99% of the real frames are recorded, each decodes, and the forged packets are counted', async (t) => {
      const url = await open();
      const peer = await peerFor(url);
      try {
        const { path, published, stats, counts } = await recordUnderAttack(url, peer, `garbage-${transport}.mcap`, 300, { garbage: 20_000 });
        const { stored, info } = await checkRecording(path, published);
        t.diagnostic(`${stored.length} of ${published.length} frames recorded; ${stats.outliers} outliers of ${counts!.videoPackets} forged packets among ${counts!.messages} messages`);
        assert.deepEqual(info.topics, [{ topic: 'cam', ...stats }]);
        assert.equal(counts!.messages, 20_000);
        // NATS delivers every message; UDP on loopback may drop a few under the flood.
        if (transport === 'nats') assert.equal(stats.outliers, counts!.videoPackets);
        else assert.ok(stats.outliers > 0.9 * counts!.videoPackets && stats.outliers <= counts!.videoPackets, `${stats.outliers} outliers of ${counts!.videoPackets} forged packets`);
      } finally {
        await peer.close();
      }
    });
  });
}

describe('a bus recorder and lost packets', () => {
  test('after a lost packet nothing is stored until the next key packet, so every stored frame decodes; the drops are counted', async () => {
    const bus = await Bus.open('memory:lost');
    const path = join(dir, 'lost.mcap');
    try {
      const recorder = await BusRecorder.start(bus, path, { topics: ['cam'], log: quiet });
      const topic = bus.video('cam', { log: quiet });
      const encoder = await VideoEncoder.create({ width: 160, height: 120, gop: 30 });
      const packets: VideoPacket[] = [];
      for await (const frame of new SyntheticSource({ width: 160, height: 120, frames: 60, startTimestamp: nowNs() })) packets.push(...(await encoder.encode(frame)));
      packets.push(...(await encoder.flush()));
      encoder.close();
      for (const p of packets) if (p.sequence !== 10) await topic.publishPacket(p);
      await settle(() => recorder.stats.cam.packets, 100);
      await recorder.stop();
      await topic.close();
      const stored = await packetsOf(path, 'cam');
      assert.deepEqual(
        stored.map((p) => p.sequence),
        packets.filter((p) => p.sequence < 10 || p.sequence >= 30).map((p) => p.sequence),
      );
      assert.equal(await decodedFrames(path, 'cam'), stored.length);
      const [record] = (await recordingInfo(path)).topics!;
      assert.deepEqual([record.packets, record.lost, record.dropped, record.outliers], [40, 1, 19, 0]);
    } finally {
      await bus.close();
    }
  });
});

describe('a bus recorder across publisher restarts', () => {
  async function publish(bus: Bus, frames: number, o: { width: number; startTimestamp: bigint }): Promise<VideoPacket[]> {
    const topic = bus.video('cam', { log: quiet });
    const out: VideoPacket[] = [];
    for await (const frame of new SyntheticSource({ width: o.width, height: o.width * 0.75, frames, startTimestamp: o.startTimestamp })) out.push(...(await topic.publishFrame(frame)));
    await topic.close();
    return out;
  }

  test('a restart with the clock going back, then one with a new size, each continue in a new stream that decodes', async () => {
    const url = 'memory:restarts';
    const recorderBus = await Bus.open(url);
    const path = join(dir, 'restarts.mcap');
    try {
      const recorder = await BusRecorder.start(recorderBus, path, { topics: ['cam'], log: quiet });
      const runs: VideoPacket[][] = [];
      for (const o of [
        { width: 320, startTimestamp: T0 },
        { width: 320, startTimestamp: T0 },
        { width: 160, startTimestamp: T0 + 3600n * 1_000_000_000n },
      ]) {
        const publisher = await Bus.open(url);
        runs.push(await publish(publisher, 40, o));
        await settle(() => recorder.stats.cam.packets, 100);
        await publisher.close();
      }
      const stats = recorder.stats.cam;
      await recorder.stop();
      assert.deepEqual(stats.streams, ['cam', 'cam@2', 'cam@3']);
      assert.deepEqual([stats.packets, stats.outliers, stats.dropped], [120, 0, 0]);
      const info = await recordingInfo(path);
      assert.deepEqual(
        info.streams.map((s) => [s.name, s.frames, s.width]),
        [
          ['cam', 40, 320],
          ['cam@2', 40, 320],
          ['cam@3', 40, 160],
        ],
      );
      for (const [k, name] of stats.streams.entries()) {
        const stored = await packetsOf(path, name);
        assert.deepEqual(stored.map((p) => p.timestamp), runs[k].map((p) => p.timestamp), `${name} holds run ${k + 1}`);
        assert.equal(await decodedFrames(path, name), 40, `${name} decodes`);
      }
      const source = await openMcapSource(path);
      const segmentOf = [...source.channels.values()].map((c) => [c.topic, c.metadata.get('framebus.segment_of')]);
      await source.close();
      assert.deepEqual(segmentOf, [
        ['cam', undefined],
        ['cam@2', 'cam'],
        ['cam@3', 'cam'],
      ]);
    } finally {
      await recorderBus.close();
    }
  });
});
