import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { TransportError } from '../../core/errors.js';
import type { VideoPacket } from '../../core/packet.js';
import { nowNs } from '../../core/time.js';
import { keyframeRequestMessageType, twistMessageType, type KeyframeRequestMessage, type TwistMessage } from '../../wire/messages.js';
import { randomMemoryUrl, waitFor } from '../../../test/support/bus-fixtures.js';
import { startSignalingServer } from '../../../test/support/webrtc-signaling.js';
import { Bus } from '../bus.js';
import type { RawMessage } from '../topic.js';
import type { TransportBus } from '../transport-bus.js';
import { videoPacketType } from '../video/video-packet-type.js';
import { channelBytes, encodeBatch, encodeFragment, encodeMessage } from './dc-frame.js';
import { loopbackPeers, NdcPeer } from './ndc-peer.js';
import { WebRtcAnswerer } from './webrtc-answerer.js';
import { WebRtcLink } from './webrtc-link.js';
import type { WebRtcTransport } from './webrtc-transport.js';

const twist = (x: number): TwistMessage => ({ timestamp_ns: BigInt(x), linear: [x, 0, 0], angular: [0, 0, x] });
const request = (topic: string): KeyframeRequestMessage => ({ timestamp_ns: 1n, topic, requester: 'r1', reason: 'gap', last_sequence: 5n });

function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 131 + seed * 7) & 255;
  return out;
}

/** A packet message of `size` data bytes, as a typed bus message. */
function packet(sequence: number, size: number): VideoPacket {
  return { kind: 'video-packet', codec: 'h264', data: bytes(size, sequence), key: sequence === 0, timestamp: BigInt(sequence), sequence, frameId: sequence, width: 64, height: 48 };
}

describe('webrtc:loopback', () => {
  let bus: TransportBus;
  before(async () => {
    bus = (await Bus.open('webrtc:loopback', { log: () => {} })) as TransportBus;
  });
  after(() => bus.close());

  test('typed topics: several types share a channel by fingerprint, raw patterns see all, unsubscribe stops delivery', async () => {
    assert.equal(bus.url, 'webrtc:loopback');
    const twists: TwistMessage[] = [];
    const requests: KeyframeRequestMessage[] = [];
    const raw: RawMessage[] = [];
    const s1 = bus.topic('shared', twistMessageType).subscribe((m) => twists.push(m));
    const s2 = bus.topic('shared', keyframeRequestMessageType).subscribe((m) => requests.push(m));
    const s3 = bus.subscribeRaw('sha.*', (m) => raw.push(m));
    await bus.flush();
    await bus.topic('shared', twistMessageType).publish(twist(1));
    await bus.topic('shared', keyframeRequestMessageType).publish(request('cam'));
    await bus.topic('shared', twistMessageType).publish(twist(2));
    await waitFor(() => twists.length === 2 && requests.length === 1 && raw.length === 3, 'all three messages');
    assert.deepEqual(twists, [twist(1), twist(2)]);
    assert.deepEqual(requests, [request('cam')]);
    assert.deepEqual(raw.map((m) => m.typeName), [twistMessageType.name, keyframeRequestMessageType.name, twistMessageType.name]);
    s1.unsubscribe();
    await bus.topic('shared', twistMessageType).publish(twist(3));
    await bus.topic('shared', keyframeRequestMessageType).publish(request('end'));
    await waitFor(() => requests.length === 2, 'the end marker');
    assert.equal(twists.length, 2, 'the unsubscribed handler got nothing more');
    s2.unsubscribe();
    s3.unsubscribe();
  });

  test('messages from 0 B to 16 MiB arrive whole and byte-identical, cut to the negotiated max-message-size', async () => {
    const transport = bus.transport as WebRtcTransport;
    const got: VideoPacket[] = [];
    const s = bus.topic('big', videoPacketType).subscribe((p) => got.push(p));
    const sizes = [0, 1, 262_000, 262_144, 1_000_000, 16 * 2 ** 20];
    const before = transport.stats;
    for (const [i, size] of sizes.entries()) await bus.topic('big', videoPacketType).publish(packet(i, size));
    await waitFor(() => got.length === sizes.length, 'every message');
    got.forEach((p, i) => assert.ok(Buffer.from(p.data).equals(Buffer.from(packet(i, sizes[i]).data)), `message of ${sizes[i]} bytes`));
    assert.equal(transport.stats.received - before.received, sizes.length);
    assert.equal(transport.stats.malformed + transport.stats.incomplete, 0);
    assert.equal(transport.pendingReassemblyBytes, 0);
    s.unsubscribe();
  });

  test('channels named *_unreliable go on the unordered maxRetransmits-0 channel; a flood there drops and counts instead of queueing', async () => {
    const transport = bus.transport as WebRtcTransport;
    const got: TwistMessage[] = [];
    const s = bus.topic('cmd_unreliable', twistMessageType).subscribe((m) => got.push(m));
    const sentBefore = transport.stats.sent;
    await bus.topic('cmd_unreliable', twistMessageType).publish(twist(7));
    await waitFor(() => got.length === 1, 'one command');
    assert.deepEqual(got, [twist(7)]);
    // 64 MiB offered at once: more than the high-water mark, so most of it is dropped, never buffered without bound.
    const big = packet(1, 2 ** 20);
    await Promise.all(Array.from({ length: 64 }, () => bus.topic('video_unreliable', videoPacketType).publish(big)));
    assert.ok(transport.stats.dropped > 0, `dropped ${transport.stats.dropped}`);
    assert.equal(transport.stats.sent - sentBefore + transport.stats.dropped, 65);
    s.unsubscribe();
  });
});

describe('webrtc://host:port dialing an answerer', () => {
  let local: Bus;
  let answerer: WebRtcAnswerer;
  let stop: () => Promise<void>;
  let url: string;
  before(async () => {
    local = await Bus.open(randomMemoryUrl());
    answerer = new WebRtcAnswerer(local, { log: () => {} });
    const s = await startSignalingServer(answerer, 'sekret');
    stop = s.close;
    url = `webrtc://127.0.0.1:${s.port}?token=sekret`;
  });
  after(async () => {
    answerer.close();
    await stop();
    await local.close();
  });

  test('two dialers and the local bus exchange typed messages both ways; a late joiner gets the cached GOP and a gap becomes a keyframe request over WebRTC', async () => {
    const pub = await Bus.open(url, { log: () => {} });
    const sub = await Bus.open(url, { log: () => {} });
    try {
      assert.equal(pub.url, url.replace('?token=sekret', ''), 'the token is not part of the printed URL');
      const atLocal: TwistMessage[] = [];
      const atSub: TwistMessage[] = [];
      local.topic('state', twistMessageType).subscribe((m) => atLocal.push(m));
      sub.topic('state', twistMessageType).subscribe((m) => atSub.push(m));
      await sub.flush();
      await pub.topic('state', twistMessageType).publish(twist(1));
      await waitFor(() => atSub.length === 1, 'the dialer\'s message');
      await local.topic('state', twistMessageType).publish(twist(2));
      await waitFor(() => atLocal.length === 2 && atSub.length === 2, 'both messages at both ends');
      assert.deepEqual(atSub, [twist(1), twist(2)]);

      const topic = pub.video('late', { encoder: { gop: 10 } });
      // What a subscriber's packet guard takes for a stream's start: a key access unit (parameter sets, IDR).
      const key = packet(0, 5000);
      key.data.set([0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65]);
      await topic.publishPacket({ ...key, timestamp: nowNs() });
      // The packet has reached the server before the late joiner subscribes (publish resolves once
      // the packet is handed to the DataChannel sender, which may still batch it this turn).
      await pub.flush();
      const late: VideoPacket[] = [];
      sub.video('late').subscribePackets((p) => void late.push(p));
      await waitFor(() => late.length >= 1, 'the cached key packet');
      assert.equal(late[0].sequence, 0);
      assert.ok(topic.publisherStats.gopReplies >= 1, 'answered from the GOP cache over the DataChannels');
      // A gap (sequence 2 after 0) makes the subscriber ask the publisher for a keyframe.
      const requestsBefore = topic.publisherStats.keyframeRequests;
      const delta = packet(2, 100);
      delta.data.set([0, 0, 0, 1, 0x41, 0x9a]);
      await topic.publishPacket({ ...delta, key: false, timestamp: nowNs() });
      await waitFor(() => topic.publisherStats.keyframeRequests > requestsBefore, `the keyframe request over WebRTC (${JSON.stringify(topic.publisherStats)})`, 5000);
      await topic.close();
    } finally {
      await Promise.all([pub.close(), sub.close()]);
    }
    await waitFor(() => answerer.openSessions === 0, 'the sessions to end');
  });

  test('a wrong token or a dead server is a TransportError that says what to do', async () => {
    await assert.rejects(Bus.open(url.replace('sekret', 'wrong')), (e: unknown) => e instanceof TransportError && /401.*token/s.test(e.message));
    await assert.rejects(Bus.open('webrtc://127.0.0.1:1'), (e: unknown) => e instanceof TransportError && /framebus serve/.test(e.message));
    await assert.rejects(answerer.answer('not sdp'), { name: 'InvalidArgumentError' });
    await assert.rejects(answerer.answer('v=0\r\nm=nonsense\r\n'), { name: 'MalformedDataError' });
    assert.equal(answerer.openSessions, 0);
  });
});

test('backpressure: 40 MiB published at once never puts more than the high-water mark (plus one frame) in the DataChannel buffer, and arrives in order', async (t) => {
  const { offerer, answerer, a, b } = await loopbackPeers();
  const got: number[] = [];
  const highWaterBytes = 512 * 1024;
  const out = new WebRtcLink(a, { message: () => undefined }, { send: { highWaterBytes } });
  const inbound = new WebRtcLink(b, { message: (p) => got.push(p[0]) });
  t.after(() => {
    out.close();
    inbound.close();
    offerer.close();
    answerer.close();
  });
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, a.reliable.bufferedAmount())), 1);
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 40; i++) {
    const payload = bytes(2 ** 20, i);
    payload[0] = i;
    sends.push(out.publish('bulk', payload));
    peak = Math.max(peak, a.reliable.bufferedAmount());
  }
  await Promise.all(sends);
  await waitFor(() => got.length === 40, 'all 40 messages');
  clearInterval(sample);
  assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => i));
  assert.ok(peak <= highWaterBytes + 262_144, `bufferedAmount peaked at ${peak} bytes`);
  assert.ok(peak > 0);
});

test('garbage, truncated and oversize frames, damaged batches and a peer that vanishes mid-message are counted drops, never crashes (property)', async (t) => {
  const { offerer, answerer, a, b } = await loopbackPeers();
  t.after(() => {
    offerer.close();
    answerer.close();
  });
  const got: string[] = [];
  const maxPendingBytes = 4 * 2 ** 20;
  const link = new WebRtcLink(b, { message: (_, info) => got.push(info.channel) }, { reassembly: { maxPendingBytes, maxMessageBytes: 8 * 2 ** 20, timeoutMs: 200 } });
  t.after(() => link.close());
  const name = channelBytes('fuzz');
  const frame = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.record({ id: fc.nat(), index: fc.nat(5), count: fc.nat(6), offset: fc.nat(2 ** 24), total: fc.nat(2 ** 25), size: fc.nat(4000) }).map((h) => encodeFragment(name, { messageId: h.id, index: h.index, count: h.count, offset: h.offset, total: h.total }, bytes(h.size, 1))),
    fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(40)).map(([body, cut]) => encodeMessage(name, body).subarray(0, cut)),
    // Batches, whole or damaged: cut short, a wrong count, or a batch nested in one.
    fc.tuple(fc.array(fc.uint8Array({ maxLength: 60 }), { minLength: 1, maxLength: 6 }), fc.nat(3), fc.nat(400)).map(([bodies, damage, at]) => {
      const frames = bodies.map((p) => encodeMessage(name, p));
      const batch = encodeBatch(frames, frames.reduce((n, f) => n + f.byteLength, 0));
      if (damage === 1) return batch.subarray(0, at % batch.byteLength);
      if (damage === 2) batch[2] ^= 1 + (at % 255);
      return damage === 3 ? encodeBatch([batch, frames[0]], batch.byteLength + frames[0].byteLength) : batch;
    }),
  );
  let round = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(frame, { minLength: 20, maxLength: 60 }), async (frames) => {
      round++;
      for (const f of frames) a.reliable.send(f);
      a.reliable.send(encodeMessage(channelBytes(`mark${round}`), new Uint8Array(8)));
      await waitFor(() => got.at(-1) === `mark${round}`, `mark ${round}`, 5000);
      assert.ok(link.pendingReassemblyBytes <= maxPendingBytes);
    }),
    { numRuns: 60 },
  );
  assert.ok(link.stats.malformed > 0, 'garbage was counted');
  // A peer that sends the first fragment of a message and vanishes: the rest never comes.
  a.reliable.send(encodeFragment(name, { messageId: 999_999, index: 0, count: 3, offset: 0, total: 3000 }, bytes(1000, 2)));
  await waitFor(() => link.pendingReassemblyBytes > 0 || link.stats.incomplete > 0, 'the partial message');
  offerer.close();
  await waitFor(() => link.isClosed, 'the link to notice');
  assert.equal(link.pendingReassemblyBytes, 0, 'partial messages released when the peer left');
  assert.ok(link.stats.incomplete >= 1);
});

test('200 loopback connect/disconnect cycles and 3 answerer sessions leave no open session and RSS near its baseline', async () => {
  const local = await Bus.open(randomMemoryUrl());
  // An offer lost to libdatachannel's race (see RETRY_RACE) leaves a session that ends when its connection times out.
  const answerer = new WebRtcAnswerer(local, { log: () => {}, timeoutMs: 2000 });
  const { port, close } = await startSignalingServer(answerer);
  try {
    const cycle = async (): Promise<void> => {
      const bus = await Bus.open('webrtc:loopback');
      await bus.close();
    };
    for (let i = 0; i < 20; i++) await cycle();
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    for (let i = 0; i < 200; i++) await cycle();
    for (let i = 0; i < 3; i++) {
      const bus = await Bus.open(`webrtc://127.0.0.1:${port}`);
      assert.ok(answerer.openSessions >= 1);
      await bus.close();
      await waitFor(() => answerer.openSessions === 0, 'the session to end');
    }
    global.gc?.();
    const grown = process.memoryUsage().rss - baseline;
    assert.ok(grown < 40 * 2 ** 20, `RSS grew ${(grown / 2 ** 20).toFixed(1)} MiB over 200 cycles`);
  } finally {
    answerer.close();
    await close();
    await local.close();
  }
});

test("a peer's subscription pattern that would backtrack for hours cannot hold the server: it forwards a linear-time cover of it", { timeout: 60_000 }, async () => {
  const local = await Bus.open(randomMemoryUrl());
  const answerer = new WebRtcAnswerer(local, { log: () => {} });
  const { peer, offerSdp } = await NdcPeer.offer();
  const forwarded: string[] = [];
  let link: WebRtcLink | undefined;
  try {
    peer.accept((await answerer.answer(offerSdp)).answerSdp);
    // A peer of its own (not a framebus bus, which would filter by the pattern itself): it sends
    // the subscription and records every channel the server forwards.
    link = new WebRtcLink(await peer.ready(), { message: (_, info) => void forwarded.push(info.channel) });
    // On a name of 40 a's and a c, `^(?:(a+)+b)$` takes a backtracking engine about 2^40 steps.
    await link.control('subscribe', 1, '(a+)+b');
    await link.control('subscribe', 2, 'robot/.*/image');
    const names = [`${'a'.repeat(40)}c`, 'aab', 'robot/arm/image', 'robot/arm/depth', 'imu'];
    for (let round = 0; !names.every((name) => forwarded.includes(name)); round++) {
      assert.ok(round < 400, 'the subscriptions never reached the server');
      for (const name of names) await local.topic(name, twistMessageType).publish(twist(1));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // `(a+)+b` is covered by `.*`: everything comes (the loop ending says so), and the peer's own
    // filter is its business.
    assert.deepEqual(new Set(forwarded), new Set(names));
  } finally {
    link?.close();
    peer.close();
    answerer.close();
    await local.close();
  }
});
