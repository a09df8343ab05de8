import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { VideoEncoder } from '../../codec/video-encoder.js';
import type { Frame } from '../../core/frame.js';
import type { VideoPacket } from '../../core/packet.js';
import { frameDurationNs, nowNs } from '../../core/time.js';
import { SyntheticSource } from '../../source/synthetic-source.js';
import { keyframeRequestMessageType, videoPacketMessageType } from '../../wire/messages.js';
import { psnr, randomLcmUrl, randomMemoryUrl, waitFor } from '../../../test/support/bus-fixtures.js';
import { Bus } from '../bus.js';
import { LcmTransport } from '../lcm/lcm-transport.js';
import { LocalNatsServer } from '../nats/local-nats-server.js';
import { LossyTransport } from '../../../test/support/lossy-transport.js';

const WIDTH = 320;
const HEIGHT = 240;
const source = new SyntheticSource({ width: WIDTH, height: HEIGHT });
const frame = (i: number): Frame => source.render(i, BigInt(i) * frameDurationNs(30));

function assertSamePacket(got: VideoPacket, sent: VideoPacket): void {
  assert.deepEqual({ ...got, data: undefined }, { ...sent, data: undefined });
  assert.ok(Buffer.from(got.data).equals(Buffer.from(sent.data)), `packet ${sent.sequence} bytes differ`);
}

let nats: LocalNatsServer;
before(async () => {
  nats = await LocalNatsServer.start();
});
after(async () => {
  await nats.stop();
});

const KINDS = ['memory', 'lcm', 'nats'] as const;
const urlOf = (kind: (typeof KINDS)[number]) => (kind === 'memory' ? randomMemoryUrl() : kind === 'lcm' ? randomLcmUrl() : nats.url);

for (const kind of KINDS) {
  describe(`video over ${kind}`, () => {
    let pub: Bus;
    let sub: Bus;
    before(async () => {
      const url = urlOf(kind);
      pub = await Bus.open(url);
      sub = await Bus.open(url);
    });
    after(async () => {
      await Promise.all([pub.close(), sub.close()]);
    });

    test('a late joiner to a GOP-300 30 fps topic decodes at once from the cached GOP, long before the next key frame', async () => {
      const topic = pub.video('late', { encoder: { gop: 300, fps: 30 } });
      const decoded: Frame[] = [];
      const joinAt = 100;
      let published = 0;
      let decodedAtPublished: number | undefined;
      for (let i = 0; i < 300; i++) {
        await topic.publishFrame(frame(i));
        published = i + 1;
        if (i + 1 === joinAt) {
          sub.video('late').subscribeFrames((f) => {
            decoded.push(f);
            decodedAtPublished ??= published;
          });
        }
        if (decoded.some((f) => f.frameId >= joinAt - 1)) break;
        await sleep(2);
      }
      assert.ok(decodedAtPublished !== undefined && decodedAtPublished < 300, `first frame only after ${decodedAtPublished} of 300 frames`);
      assert.ok(decoded.some((f) => f.frameId >= joinAt - 1), `caught up to the join point before frame 300 (published ${published})`);
      assert.equal(decoded[0].frameId, 0, 'it starts at the cached key frame');
      assert.equal(topic.publisherStats.forcedKeyframes, 0, 'served from the cache, not by forcing a key frame on everyone');
      assert.equal(topic.publisherStats.keyPackets, 1);
      assert.ok(topic.publisherStats.gopReplies >= 1);
      decoded.forEach((f, i) => assert.equal(f.frameId, i, 'frames in order, none missing'));
      for (const f of [decoded[0], decoded.at(-1)!]) assert.ok(psnr(f, frame(f.frameId)) >= 30);
      await topic.close();
    });

    test('a packets subscriber receives the published packets byte for byte, live and from the cache', async () => {
      const topic = pub.video('bytes', { encoder: { gop: 10 } });
      const early: VideoPacket[] = [];
      const late: VideoPacket[] = [];
      sub.video('bytes').subscribePackets((p) => void early.push(p));
      await sub.flush();
      const sent: VideoPacket[] = [];
      for (let i = 0; i < 25; i++) sent.push(...(await topic.publishFrame(frame(i))));
      await waitFor(() => early.length === 25, 'the first 25 packets');
      sub.video('bytes').subscribePackets((p) => void late.push(p));
      for (let i = 25; i < 30; i++) sent.push(...(await topic.publishFrame(frame(i))));
      await waitFor(() => early.length === 30 && late.at(-1)?.sequence === 29, 'every packet');
      early.forEach((p, i) => assertSamePacket(p, sent[i]));
      assert.equal(late[0].sequence, 20, 'the late subscriber starts at the last key packet');
      late.forEach((p, i) => assertSamePacket(p, sent[20 + i]));
      if (kind === 'memory') assert.equal(early[3], sent[3], 'memory hands over the packet object itself');
      await topic.close();
    });
  });
}

describe('loss and recovery', () => {
  test('under 5% injected loss on LCM a frame subscriber never shows a damaged frame and recovers with one keyframe request per gap', async () => {
    const url = randomLcmUrl();
    const pub = await Bus.open(url);
    const droppedKeys: number[] = [];
    const droppedFrames: number[] = [];
    const lossy = new LossyTransport(await LcmTransport.open(url), {
      lossRate: 0.05,
      seed: 7,
      onDrop: (payload, info) => {
        if (info.channel !== 'lossy') return;
        const p = videoPacketMessageType.decode(payload);
        droppedFrames.push(Number(p.frame_id));
        if (p.key) droppedKeys.push(Number(p.frame_id));
      },
    });
    const sub = Bus.overTransport(lossy);
    const topic = pub.video('lossy', { encoder: { gop: 300 }, keyframeIntervalMs: 50 });
    const shown: Frame[] = [];
    const worst = { psnr: Infinity, frameId: -1 };
    const subscription = sub.video('lossy').subscribeFrames((f) => {
      shown.push(f);
      const q = psnr(f, frame(f.frameId));
      if (q < worst.psnr) Object.assign(worst, { psnr: q, frameId: f.frameId });
    });
    const caughtUp = () => droppedFrames.length > 0 && (shown.at(-1)?.frameId ?? -1) > Math.max(...droppedFrames);
    for (let i = 0; i < 300 && (i < 240 || !caughtUp()); i++) {
      await topic.publishFrame(frame(i));
      await sleep(8);
    }
    await waitFor(caughtUp, 'a decoded frame after the last loss');
    const { stats } = subscription;
    assert.ok(stats.gaps >= 3, `the loss pattern should break the stream a few times, got ${stats.gaps} gaps`);
    assert.ok(worst.psnr >= 30, `frame ${worst.frameId} shown at ${worst.psnr.toFixed(1)} dB`);
    for (let i = 1; i < shown.length; i++) assert.ok(shown[i].frameId > shown[i - 1].frameId, 'frames in order');
    // One request per gap; a retry only when the forced key frame itself was lost.
    assert.ok(stats.keyframeRequests - 1 <= stats.gaps + droppedKeys.length, `${stats.keyframeRequests} requests for ${stats.gaps} gaps`);
    assert.equal(stats.corrupt, 0);
    assert.ok(topic.publisherStats.forcedKeyframes >= 1);
    await Promise.all([pub.close(), sub.close()]);
  });
});

describe('backpressure and keyframe requests', () => {
  test('a slow subscriber drops whole GOP remainders, never a reference a later packet needs, and counts them', async () => {
    const bus = await Bus.open(randomMemoryUrl());
    const topic = bus.video('slow', { encoder: { gop: 15 }, keyframeIntervalMs: 60_000 });
    const got: VideoPacket[] = [];
    const subscription = topic.subscribePackets(
      async (p) => {
        got.push(p);
        await sleep(15);
      },
      { queue: { maxPackets: 8 } },
    );
    for (let i = 0; i < 90; i++) await topic.publishFrame(frame(i));
    await waitFor(() => got.at(-1)?.sequence === 89 || subscription.stats.delivered + subscription.stats.dropped >= 90, 'the queue to drain');
    const { stats } = subscription;
    assert.ok(stats.dropped > 0, 'the slow subscriber dropped packets');
    assert.equal(stats.delivered + stats.dropped, 90);
    assert.ok(got[0].key);
    for (let i = 1; i < got.length; i++) {
      assert.ok(got[i].key || got[i].sequence === got[i - 1].sequence + 1, `packet ${got[i].sequence} after ${got[i - 1].sequence} needs a dropped reference`);
    }
    await bus.close();
  });

  test('keyframe requests force at most one IDR per interval', async () => {
    const bus = await Bus.open(randomMemoryUrl());
    const topic = bus.video('limited', { encoder: { gop: 300 }, keyframeIntervalMs: 60_000 });
    const control = bus.topic('limited/ctl', keyframeRequestMessageType);
    const keys: number[] = [];
    for (let i = 0; i < 30; i++) {
      for (const p of await topic.publishFrame(frame(i))) if (p.key) keys.push(p.sequence);
      await control.publish({ timestamp_ns: nowNs(), topic: 'limited', requester: 'tester', reason: i % 2 ? 'gap' : 'corrupt', last_sequence: BigInt(i) });
    }
    assert.deepEqual(keys, [0, 1], 'the first request forces the next frame to be key; the next 29 wait for the interval');
    assert.equal(topic.publisherStats.forcedKeyframes, 1);
    assert.equal(topic.publisherStats.keyframeRequests, 30);
    await control.publish({ timestamp_ns: nowNs(), topic: 'limited', requester: 'bad id!', reason: 'gap', last_sequence: 0n });
    await control.publish({ timestamp_ns: nowNs(), topic: 'limited', requester: 'x', reason: 'please', last_sequence: 0n });
    assert.equal(topic.publisherStats.keyframeRequests, 30, 'malformed requests are ignored');
    await bus.close();
  });
});

describe('0 loss for a 640x480 30 fps stream on loopback', () => {
  const packets: VideoPacket[] = [];
  before(async () => {
    const encoder = await VideoEncoder.create({ width: 640, height: 480, fps: 30 });
    const big = new SyntheticSource({ width: 640, height: 480 });
    for (let i = 0; i < 60; i++) packets.push(...(await encoder.encode(big.render(i, BigInt(i) * frameDurationNs(30)))));
    packets.push(...(await encoder.flush()));
    encoder.close();
  });

  for (const kind of ['lcm', 'nats'] as const) {
    test(`${kind}: 2 s of real-time packets arrive complete and byte-identical`, async () => {
      const url = urlOf(kind);
      const [pub, sub] = await Promise.all([Bus.open(url), Bus.open(url)]);
      const got: VideoPacket[] = [];
      const subscription = sub.video('stream').subscribePackets((p) => void got.push(p));
      await sub.flush();
      const topic = pub.video('stream');
      const start = performance.now();
      for (const [i, p] of packets.entries()) {
        const due = start + (i * 1000) / 30 - performance.now();
        if (due > 0) await sleep(due);
        await topic.publishPacket(p);
      }
      await waitFor(() => got.length === packets.length, `${packets.length} packets`);
      got.forEach((p, i) => assertSamePacket(p, packets[i]));
      assert.deepEqual([subscription.stats.lost, subscription.stats.skipped, subscription.stats.dropped], [0, 0, 0]);
      await Promise.all([pub.close(), sub.close()]);
    });
  }
});
