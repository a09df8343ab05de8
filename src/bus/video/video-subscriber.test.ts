import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Frame } from '../../core/frame.js';
import type { VideoPacket } from '../../core/packet.js';
import { nowNs } from '../../core/time.js';
import { SyntheticSource } from '../../source/synthetic-source.js';
import { randomMemoryUrl, waitFor } from '../../../test/support/bus-fixtures.js';
import { Bus } from '../bus.js';
import { videoPacketType } from './video-packet-type.js';

const S = 1_000_000_000n;

/** Publishes `frames` synthetic frames on `cam`, calling `between` before each is published. */
async function publish(bus: Bus, frames: number, o: { width?: number; start?: bigint; between?: (published: VideoPacket[]) => Promise<void> } = {}): Promise<VideoPacket[]> {
  const topic = bus.video('cam', { encoder: { gop: 30 } });
  const published: VideoPacket[] = [];
  const width = o.width ?? 160;
  for await (const frame of new SyntheticSource({ width, height: (width * 3) / 4, frames, startTimestamp: o.start ?? nowNs() })) {
    await o.between?.(published);
    published.push(...(await topic.publishFrame(frame)));
  }
  await topic.close();
  return published;
}

describe('video subscriber guard', () => {
  test('forged packets (far future, other size, other codec, absurd sequence, a replayed old key) are not decoded; every real frame is', async () => {
    const bus = await Bus.open(randomMemoryUrl());
    try {
      const frames: Frame[] = [];
      const sub = bus.video('cam').subscribeFrames((f) => void frames.push(f), { format: 'gray8' });
      await bus.flush();
      const forger = bus.topic('cam', videoPacketType);
      let forged = 0;
      const published = await publish(bus, 60, {
        between: async (sent) => {
          if (sent.length === 0 || sent.length % 10 !== 0) return;
          const last = sent.at(-1)!;
          const next = { ...sent[sent.length - 10], sequence: last.sequence + 1, timestamp: last.timestamp + S / 30n };
          const forgeries: VideoPacket[] = [
            { ...next, timestamp: last.timestamp + 1_000_000_000n * S },
            { ...next, width: 320 },
            { ...next, codec: 'h265' },
            { ...next, sequence: last.sequence + 2 ** 40 },
            { ...sent[0], timestamp: last.timestamp + S / 60n },
          ];
          for (const f of forgeries) await forger.publish(f);
          forged += forgeries.length;
        },
      });
      await waitFor(() => frames.length === published.length, 'every frame');
      await sub.unsubscribe();
      assert.deepEqual(
        frames.map((f) => f.timestamp),
        published.map((p) => p.timestamp),
      );
      assert.equal(sub.stats.outliers, forged);
      assert.deepEqual([sub.stats.corrupt, sub.stats.lost, sub.stats.restarts], [0, 0, 0]);
    } finally {
      await bus.close();
    }
  });

  test('a publisher restarted with an older clock and another size is a new segment; packets say which, and frames keep coming', async () => {
    const url = randomMemoryUrl();
    const bus = await Bus.open(url);
    try {
      const packets: [number, number][] = [];
      const frames: Frame[] = [];
      const packetSub = bus.video('cam').subscribePackets((p, segment) => void packets.push([segment, p.sequence]));
      const frameSub = bus.video('cam').subscribeFrames((f) => void frames.push(f), { format: 'gray8' });
      await bus.flush();
      const restarted = async (o: Parameters<typeof publish>[2]) => {
        const publisher = await Bus.open(url);
        const sent = await publish(publisher, 40, o);
        await publisher.close();
        return sent;
      };
      const first = await restarted({});
      await waitFor(() => frames.length === 40, 'the first run');
      const second = await restarted({ width: 96, start: first[0].timestamp - 3600n * S });
      await waitFor(() => frames.length === 80, 'the restarted run');
      assert.deepEqual(packets, [...first.map((p) => [0, p.sequence]), ...second.map((p) => [1, p.sequence])]);
      assert.deepEqual(
        frames.map((f) => [f.width, f.timestamp]),
        [...first, ...second].map((p) => [p.width, p.timestamp]),
      );
      for (const sub of [packetSub, frameSub]) assert.deepEqual([sub.stats.restarts, sub.stats.outliers, sub.stats.lost], [1, 0, 0]);
    } finally {
      await bus.close();
    }
  });
});
