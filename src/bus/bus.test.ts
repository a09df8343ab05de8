import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InvalidArgumentError, TransportError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import {
  keyframeRequestMessageType,
  twistMessageType,
  videoPacketMessageType,
  type KeyframeRequestMessage,
  type TwistMessage,
  type VideoPacketMessage,
} from '../wire/messages.js';
import { randomLcmUrl, randomMemoryUrl, waitFor } from '../../test/support/bus-fixtures.js';
import { Bus } from './bus.js';
import { LocalNatsServer } from './nats/local-nats-server.js';
import type { RawMessage } from './topic.js';
import { videoPacketType } from './video/video-packet-type.js';

test('on LCM publishing on a video topic name too long for its late-join channel is refused, naming the limit', async () => {
  const lcm = await Bus.open(randomLcmUrl());
  const memory = await Bus.open(randomMemoryUrl());
  const frame = { width: 2, height: 2 } as never;
  try {
    assert.equal(lcm.maxChannelBytes, 63);
    const long = lcm.video('c'.repeat(51));
    await assert.rejects(long.publishFrame(frame), { name: 'InvalidArgumentError', message: /is 51 bytes; on lcm:.* at most 50, because it also uses "<name>\/gop\/<id>"/ });
    // Receiving on such a topic still works; only late join is lost.
    long.subscribePackets(() => undefined);
    await assert.rejects(lcm.video('c'.repeat(50)).publishFrame(frame), { name: 'InvalidArgumentError', message: /takes a Frame/ });
    await assert.rejects(memory.video('c'.repeat(500)).publishFrame(frame), { name: 'InvalidArgumentError', message: /takes a Frame/ });
  } finally {
    await lcm.close();
    await memory.close();
  }
});

test('a bad URL is an InvalidArgumentError that shows what good ones look like', async () => {
  for (const url of ['', 'foo://x', 'camera', 'nats://h:0', 'nats://h:4222?x=1', 'memory:a b']) {
    await assert.rejects(Bus.open(url), (e: unknown) => e instanceof InvalidArgumentError && /nats:\/\/127\.0\.0\.1:4222/.test(e.message), url);
  }
  await assert.rejects(Bus.open('lcm://1.2.3.4:7667'), (e: unknown) => e instanceof InvalidArgumentError && /multicast/.test(e.message));
  await assert.rejects(Bus.open('nats://127.0.0.1:1'), TransportError);
});

const twist = (x: number): TwistMessage => ({ timestamp_ns: BigInt(Math.round(x * 1e9)), linear: [x, 0, 0], angular: [0, 0, x] });
const request = (topic: string): KeyframeRequestMessage => ({ timestamp_ns: 1n, topic, requester: 'r1', reason: 'gap', last_sequence: 5n });

let nats: LocalNatsServer;
before(async () => {
  nats = await LocalNatsServer.start();
});
after(async () => {
  await nats.stop();
});

for (const kind of ['memory', 'lcm', 'nats'] as const) {
  describe(`typed topics over ${kind}`, () => {
    let url: string;
    let pub: Bus;
    let sub: Bus;
    before(async () => {
      url = kind === 'memory' ? randomMemoryUrl() : kind === 'lcm' ? randomLcmUrl() : nats.url;
      pub = await Bus.open(url);
      sub = await Bus.open(url);
    });
    after(async () => {
      await Promise.all([pub.close(), sub.close()]);
    });

    test('several types share a topic; each subscriber gets only its own type', async () => {
      const twists: TwistMessage[] = [];
      const requests: KeyframeRequestMessage[] = [];
      const raw: RawMessage[] = [];
      const s1 = sub.topic('shared', twistMessageType).subscribe((m) => twists.push(m));
      const s2 = sub.topic('shared', keyframeRequestMessageType).subscribe((m) => requests.push(m));
      const s3 = sub.subscribeRaw('sha.*', (m) => raw.push(m));
      await sub.flush();
      const sent = twist(1.5);
      await pub.topic('shared', twistMessageType).publish(sent);
      await pub.topic('shared', keyframeRequestMessageType).publish(request('cam'));
      await pub.topic('shared', twistMessageType).publish(twist(2));
      await waitFor(() => twists.length === 2 && requests.length === 1 && raw.length === 3, 'all three messages');
      assert.deepEqual(twists, [sent, twist(2)]);
      assert.deepEqual(requests, [request('cam')]);
      if (kind === 'memory') assert.equal(twists[0], sent, 'memory delivers the published object itself');
      assert.deepEqual(
        raw.map((m) => [m.topic, m.typeName, m.fingerprint]),
        [
          ['shared', twistMessageType.name, twistMessageType.fingerprint],
          ['shared', keyframeRequestMessageType.name, keyframeRequestMessageType.fingerprint],
          ['shared', twistMessageType.name, twistMessageType.fingerprint],
        ],
      );
      assert.deepEqual(twistMessageType.decode(raw[0].payload()), sent);
      for (const s of [s1, s2, s3]) s.unsubscribe();
    });

    test('unsubscribe stops delivery to that subscriber only', async () => {
      const a: number[] = [];
      const b: number[] = [];
      const topic = sub.topic('unsub', twistMessageType);
      const sa = topic.subscribe((m) => a.push(m.linear[0]));
      const sb = topic.subscribe((m) => b.push(m.linear[0]));
      await sub.flush();
      await pub.topic('unsub', twistMessageType).publish(twist(1));
      await waitFor(() => a.length === 1 && b.length === 1, 'the first message');
      sa.unsubscribe();
      await pub.topic('unsub', twistMessageType).publish(twist(2));
      await waitFor(() => b.length === 2, 'the second message');
      assert.deepEqual(a, [1]);
      sb.unsubscribe();
    });

    test('packet messages and core packets interoperate on one topic', async () => {
      const packet: VideoPacket = { kind: 'video-packet', codec: 'h264', data: new Uint8Array([0, 0, 0, 1, 0x65, 7]), key: true, timestamp: 5n, sequence: 3, frameId: 9, width: 64, height: 48 };
      const messages: VideoPacketMessage[] = [];
      const s = sub.topic('interop', videoPacketMessageType).subscribe((m) => messages.push(m));
      await sub.flush();
      await pub.topic('interop', videoPacketType).publish(packet);
      await waitFor(() => messages.length === 1, 'the packet');
      assert.equal(messages[0].sequence, 3n);
      assert.deepEqual([...messages[0].data], [...packet.data]);
      s.unsubscribe();
    });

    test('a closed bus refuses to publish with a TransportError', async () => {
      const extra = await Bus.open(url);
      await extra.close();
      await extra.close();
      await assert.rejects(extra.topic('x', twistMessageType).publish(twist(1)), TransportError);
    });
  });
}
