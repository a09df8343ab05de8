import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { interopPacket, patternData, randomLcmPort, runInterop } from '../../../test/lcm/liblcm.js';
import { videoPacketMessageType } from '../../wire/messages.js';
import {
  LCM_FRAGMENT_MAX_PAYLOAD,
  LCM_MAX_DATAGRAM_SIZE,
  LCM_SHORT_MESSAGE_MAX_SIZE,
  encodeLcmChannel,
  lcmDatagrams,
  parseLcmDatagram,
} from './lcm-datagram.js';

const join = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('a short message is LC02, sequence, channel, NUL, payload', () => {
  const [datagram, ...rest] = lcmDatagrams(0x01020304, encodeLcmChannel('CAM'), Uint8Array.of(9, 8));
  assert.equal(rest.length, 0);
  assert.equal(hex(join(datagram)), '4c433032' + '01020304' + '43414d00' + '0908');
  assert.deepEqual(parseLcmDatagram(join(datagram)), { kind: 'short', sequence: 0x01020304, channel: 'CAM', payload: Uint8Array.of(9, 8) });
});

test('messages split exactly where liblcm splits them, and parse back', () => {
  const channel = encodeLcmChannel('CHAN');
  const largestShort = LCM_SHORT_MESSAGE_MAX_SIZE - 5;
  assert.equal(lcmDatagrams(1, channel, new Uint8Array(largestShort)).length, 1);
  for (const size of [largestShort + 1, LCM_FRAGMENT_MAX_PAYLOAD * 2 - 5, LCM_FRAGMENT_MAX_PAYLOAD * 2 - 4, 5_000_000]) {
    const payload = patternData(3, size);
    const datagrams = lcmDatagrams(7, channel, payload).map(join);
    assert.equal(datagrams.length, Math.ceil((size + 5) / LCM_FRAGMENT_MAX_PAYLOAD), `fragments of ${size}`);
    const rebuilt = new Uint8Array(size);
    datagrams.forEach((d, n) => {
      assert.ok(d.byteLength <= LCM_MAX_DATAGRAM_SIZE);
      const f = parseLcmDatagram(d);
      assert.equal(f.kind, 'fragment');
      if (f.kind !== 'fragment') return;
      assert.deepEqual([f.sequence, f.messageSize, f.fragmentNumber, f.fragmentCount], [7, size, n, datagrams.length]);
      assert.equal(f.channel, n === 0 ? 'CHAN' : undefined);
      assert.equal(f.offset, n === 0 ? 0 : LCM_FRAGMENT_MAX_PAYLOAD - 5 + (n - 1) * LCM_FRAGMENT_MAX_PAYLOAD);
      rebuilt.set(f.data, f.offset);
    });
    assert.ok(Buffer.from(rebuilt).equals(payload));
  }
});

test('liblcm’s own datagrams are byte for byte the ones framebus would send', async (t) => {
  const port = randomLcmPort();
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  t.after(() => socket.close());
  const captured: Buffer[] = [];
  socket.on('message', (m) => captured.push(m));
  await new Promise<void>((resolve) => socket.bind(port, resolve));
  socket.addMembership('239.255.76.67', '127.0.0.1');
  socket.setRecvBufferSize(8 << 20);
  const url = `udpm://239.255.76.67:${port}?ttl=0`;
  // liblcm numbers its messages from 0: two messages, the second fragmented.
  await runInterop(['publish', url, 'LIBLCM_WIRE', '2', '200000', '50']);
  const deadline = Date.now() + 5000;
  while (captured.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const expected = [0, 1].flatMap((i) =>
    lcmDatagrams(
      i,
      encodeLcmChannel('LIBLCM_WIRE'),
      videoPacketMessageType.encode(interopPacket(i, 200000)),
    ).map(join),
  );
  assert.equal(expected.length, 8);
  assert.equal(captured.length, 8);
  captured.forEach((d, i) => assert.equal(hex(d), hex(expected[i]), `datagram ${i}`));
});

test('malformed datagrams are MalformedDataErrors that say what is wrong', () => {
  const fragment = (fields: { size: number; offset: number; n: number; count: number }, tail: Uint8Array): Uint8Array => {
    const d = new Uint8Array(20 + tail.byteLength);
    const v = new DataView(d.buffer);
    v.setUint32(0, 0x4c433033);
    v.setUint32(4, 1);
    v.setUint32(8, fields.size);
    v.setUint32(12, fields.offset);
    v.setUint16(16, fields.n);
    v.setUint16(18, fields.count);
    d.set(tail, 20);
    return d;
  };
  const ch = Uint8Array.from(Buffer.from('C\0'));
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(7), /7 bytes is shorter than any header/],
    [Uint8Array.from(Buffer.from('HTTP/1.1 200 OK')), /Not an LCM datagram: magic 0x48545450/],
    [Uint8Array.from(Buffer.from('4c43303200000001414243', 'hex')), /channel name is not NUL-terminated/],
    [join([Uint8Array.from(Buffer.from('4c43303200000001', 'hex')), new Uint8Array(64).fill(65), new Uint8Array(1)]), /longer than 63 bytes/],
    [Uint8Array.from(Buffer.from('4c4330320000000100', 'hex')), /channel name is empty/],
    [Uint8Array.from(Buffer.from('4c433033000000010000', 'hex')), /shorter than its 20-byte header/],
    [fragment({ size: 10, offset: 0, n: 2, count: 2 }, ch), /fragment number 2 is not below the fragment count 2/],
    [fragment({ size: 2 ** 30, offset: 0, n: 0, count: 5 }, ch), /claims a 1073741824-byte message; the limit is 268435456/],
    [fragment({ size: 10, offset: 4, n: 0, count: 2 }, ch), /fragment 0 has offset 4, not 0/],
    [fragment({ size: 10, offset: 8, n: 1, count: 2 }, new Uint8Array(3)), /covers bytes 8\.\.11 of a 10-byte message/],
  ];
  for (const [bytes, message] of cases) assert.throws(() => parseLcmDatagram(bytes), { name: 'MalformedDataError', message });
});

test('channels that liblcm would refuse are refused on publish', () => {
  assert.throws(() => encodeLcmChannel(''), { name: 'InvalidArgumentError', message: /non-empty/ });
  assert.throws(() => encodeLcmChannel('A\0B'), { name: 'InvalidArgumentError', message: /NUL/ });
  assert.throws(() => encodeLcmChannel('x'.repeat(64)), { name: 'InvalidArgumentError', message: /is 64 bytes; liblcm allows at most 63/ });
  assert.equal(encodeLcmChannel('x'.repeat(63)).byteLength, 63);
});
