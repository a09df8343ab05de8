import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import type { VideoPacket } from '../../core/packet.js';
import { nowNs } from '../../core/time.js';
import { twistMessageType, videoPacketMessageType, type TwistMessage } from '../../wire/messages.js';
import { waitFor } from '../../../test/support/bus-fixtures.js';
import { Bus } from '../bus.js';
import { formatFragmentHeader, splitIntoFragments } from './fragment-reassembler.js';
import { LocalNatsServer } from './local-nats-server.js';
import { FRAGMENT_HEADER, NatsTransport } from './nats-transport.js';
import { TransportBus } from '../transport-bus.js';
import { videoPacketType } from '../video/video-packet-type.js';

const MAX_PAYLOAD = 64 * 1024;

let server: LocalNatsServer;
let raw: NatsConnection;
before(async () => {
  server = await LocalNatsServer.start({ maxPayload: MAX_PAYLOAD });
  raw = await connect({ servers: `127.0.0.1:${server.port}` });
});
after(async () => {
  await raw.close();
  await server.stop();
});

function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 131 + seed * 7) & 255;
  return out;
}

describe('NATS transport', () => {
  test('messages larger than the server max_payload are split and arrive whole and byte-identical', async (t) => {
    const pub = await NatsTransport.connect(server.url);
    const sub = await NatsTransport.connect(server.url);
    t.after(() => Promise.all([pub.close(), sub.close()]));
    assert.equal(pub.maxPayload, MAX_PAYLOAD);
    const got: Uint8Array[] = [];
    let wire = 0;
    sub.subscribe('big/one', (p) => got.push(p));
    raw.subscribe('framebus.big/one', { callback: () => void wire++ });
    await Promise.all([sub.flush(), raw.flush()]);
    const sizes = [0, 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 1_000_000, 4 * 2 ** 20];
    for (const [i, size] of sizes.entries()) await pub.publish('big/one', bytes(size, i));
    await waitFor(() => got.length === sizes.length, 'every message');
    // The counting subscription is another connection; its flush round trip comes back only
    // after the server has delivered it every fragment sent before.
    await raw.flush();
    got.forEach((p, i) => assert.ok(Buffer.from(p).equals(Buffer.from(bytes(sizes[i], i))), `message of ${sizes[i]} bytes`));
    assert.ok(wire > 70, `the 4 MiB message travelled in fragments (${wire} NATS messages)`);
    assert.deepEqual(sub.stats, { sent: 0, received: sizes.length, malformed: 0, incomplete: 0, dropped: 0, reconnects: 0, disconnects: 0, slowConsumers: 0 });
    assert.equal(sub.pendingReassemblyBytes, 0);
  });

  test('a message whose fragments never all arrive is abandoned after the timeout and counted', async (t) => {
    const sub = await NatsTransport.connect(server.url, { reassembly: { timeoutMs: 100 }, log: () => {} });
    t.after(() => sub.close());
    sub.subscribe('partial', () => assert.fail('nothing complete was sent'));
    await sub.flush();
    const [first] = splitIntoFragments(bytes(200_000, 1), 60_000, 'rawpub', 1);
    const h = headers();
    h.set(FRAGMENT_HEADER, formatFragmentHeader(first.header));
    raw.publish('framebus.partial', first.chunk, { headers: h });
    await raw.flush();
    await waitFor(() => sub.stats.incomplete === 1, 'the timeout');
    assert.equal(sub.pendingReassemblyBytes, 0);
  });

  test('channel names with characters NATS reserves travel escaped and come back exact', async (context) => {
    const t = await NatsTransport.connect(`${server.url}?prefix=lab.robot1`);
    context.after(() => t.close());
    const seen: string[] = [];
    t.subscribe('.*', (_, info) => seen.push(info.channel));
    const subjects: string[] = [];
    raw.subscribe('lab.robot1.>', { callback: (_, m) => void subjects.push(m.subject) });
    await Promise.all([t.flush(), raw.flush()]);
    for (const channel of ['cam.front', 'a b', 'x*>y', 'ok/1']) await t.publish(channel, bytes(3, 0));
    await waitFor(() => seen.length === 4 && subjects.length === 4, 'four messages');
    assert.deepEqual(seen, ['cam.front', 'a b', 'x*>y', 'ok/1']);
    assert.deepEqual(subjects, ['lab.robot1.cam%2Efront', 'lab.robot1.a%20b', 'lab.robot1.x%2A%3Ey', 'lab.robot1.ok/1']);
  });
});

describe('bad input over NATS', () => {
  const twist: TwistMessage = { timestamp_ns: 1n, linear: [1, 2, 3], angular: [0, 0, 1] };

  test('messages of another type and garbage are dropped, counted, and logged at a limited rate', async (t) => {
    const lines: string[] = [];
    const bus = (await Bus.open(server.url, { log: (l) => lines.push(l) })) as TransportBus;
    t.after(() => bus.close());
    const packets: VideoPacket[] = [];
    bus.topic('cam', videoPacketType).subscribe((p) => packets.push(p));
    const done: TwistMessage[] = [];
    bus.topic('done', twistMessageType).subscribe((m) => done.push(m));
    await bus.flush();
    for (let i = 0; i < 200; i++) {
      raw.publish('framebus.cam', twistMessageType.encode(twist));
      raw.publish('framebus.cam', bytes(i % 7, i));
      raw.publish('framebus.cam', bytes(40 + i, i));
      const h = headers();
      h.set(FRAGMENT_HEADER, `junk ${i}`);
      raw.publish('framebus.cam', bytes(10, i), { headers: h });
    }
    raw.publish('framebus.done', twistMessageType.encode(twist));
    await waitFor(() => done.length === 1, 'the end marker');
    assert.equal(packets.length, 0);
    assert.equal(bus.stats.otherType, 400, 'the twists and the 40+ byte garbage (its first 8 bytes are no known fingerprint)');
    assert.equal(bus.stats.malformed, 200, 'messages too short to hold a fingerprint');
    assert.equal(bus.transport.stats.malformed, 200);
    assert.ok(lines.length >= 3 && lines.length <= 6, `${lines.length} log lines for 800 bad messages:\n${lines.join('\n')}`);
    assert.ok(lines.some((l) => /twist_t/.test(l)), 'the log names the unexpected type');
  });

  test('property: 10,000+ mutated video messages and fragments never throw, memory stays bounded, and good packets still arrive', async (t) => {
    const maxPendingBytes = 2 * 2 ** 20;
    const lines: string[] = [];
    const bus = (await Bus.open(server.url, { log: (l) => lines.push(l), nats: { reassembly: { maxPendingBytes, timeoutMs: 200 } } })) as TransportBus;
    t.after(() => bus.close());
    const transport = bus.transport as NatsTransport;
    const got: VideoPacket[] = [];
    bus.video('fuzz').subscribePackets((p) => void got.push(p), { queue: { maxPackets: 64 } });
    const marks: number[] = [];
    bus.topic('fuzz-mark', twistMessageType).subscribe((m) => marks.push(Number(m.timestamp_ns)));
    await bus.flush();

    const valid = fc.record({
      codec: fc.constantFrom('h264', 'h265', 'av1', 'vp9', ''),
      key: fc.boolean(),
      sequence: fc.bigInt({ min: -5n, max: 2n ** 62n }),
      timestamp_ns: fc.bigInt({ min: 0n, max: 2n ** 62n }),
      frame_id: fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
      width: fc.integer({ min: -10, max: 10_000 }),
      height: fc.integer({ min: -10, max: 10_000 }),
      size: fc.oneof(fc.nat(300), fc.integer({ min: MAX_PAYLOAD - 200, max: 3 * MAX_PAYLOAD })),
    });
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('extend' as const), by: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
      fc.record({ kind: fc.constant('garbage' as const), data: fc.uint8Array({ maxLength: 2000 }) }),
      fc.record({ kind: fc.constant('none' as const) }),
    );
    const fragmentMutation = fc.record({
      drop: fc.boolean(),
      field: fc.constantFrom('index', 'count', 'offset', 'total', 'none'),
      value: fc.nat(10 * MAX_PAYLOAD),
    });
    let published = 0;
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(valid, mutation, fragmentMutation), { minLength: 40, maxLength: 60 }), async (messages) => {
        round++;
        for (const [m, mutate, fragment] of messages) {
          let data: Uint8Array;
          try {
            data = videoPacketMessageType.encode({ ...m, data: bytes(m.size, round) });
          } catch {
            data = bytes(m.size + 40, round);
          }
          if (mutate.kind === 'flip') for (const at of mutate.at) data[at % data.length] ^= 0xff;
          else if (mutate.kind === 'truncate') data = data.subarray(0, mutate.at % (data.length + 1));
          else if (mutate.kind === 'extend') data = Buffer.concat([data, mutate.by]);
          else if (mutate.kind === 'garbage') data = mutate.data;
          if (data.byteLength <= MAX_PAYLOAD - 512) {
            raw.publish('framebus.fuzz', data);
            published++;
            continue;
          }
          const fragments = splitIntoFragments(data, MAX_PAYLOAD - 512, 'fuzzer', published);
          for (const [i, f] of fragments.entries()) {
            if (fragment.drop && i === 0) continue;
            const header = fragment.field !== 'none' && i === fragments.length - 1 ? { ...f.header, [fragment.field]: fragment.value } : f.header;
            const h = headers();
            h.set(FRAGMENT_HEADER, formatFragmentHeader(header));
            raw.publish('framebus.fuzz', f.chunk, { headers: h });
            published++;
          }
        }
        raw.publish('framebus.fuzz-mark', twistMessageType.encode({ ...twist, timestamp_ns: BigInt(round) }));
        await waitFor(() => marks.at(-1) === round, `mark ${round}`, 5000);
        assert.ok(transport.pendingReassemblyBytes <= maxPendingBytes);
      }),
      { numRuns: 200 },
    );
    assert.ok(published >= 10_000, `only ${published} mutated messages`);
    for (const p of got) assert.equal(p.kind, 'video-packet');
    assert.ok(bus.stats.malformed > 0 && transport.stats.malformed > 0);
    assert.ok(lines.length < 40, `${lines.length} log lines`);

    // What a subscriber's packet guard takes for a stream's start: a key access unit (parameter sets, IDR), stamped now.
    const data = bytes(150_000, 9);
    data.set([0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65]);
    const sent: VideoPacket = { kind: 'video-packet', codec: 'h264', data, key: true, timestamp: nowNs(), sequence: 2 ** 40, frameId: 1, width: 64, height: 64 };
    const after = got.length;
    const pub = await Bus.open(server.url);
    t.after(() => pub.close());
    await pub.topic('fuzz', videoPacketType).publish(sent);
    await waitFor(() => got.length > after, 'a good packet after the flood');
    assert.ok(Buffer.from(got.at(-1)!.data).equals(Buffer.from(sent.data)));
  });
});
