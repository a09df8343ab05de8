import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { interopPacket, patternData, randomLcmPort, runInterop, startInterop } from '../../../test/lcm/liblcm.js';
import { videoPacketMessageType, type VideoPacketMessage } from '../../wire/messages.js';
import { encodeLcmChannel, lcmDatagrams } from './lcm-datagram.js';
import { LcmTransport } from './lcm-transport.js';

const GROUP = '239.255.76.67';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}


/** Opens a transport on a fresh port; closes it when the test ends. */
async function openOnFreshPort(t: { after: (fn: () => Promise<void>) => void }, options = {}): Promise<LcmTransport> {
  const transport = await LcmTransport.open(`lcm://${GROUP}:${randomLcmPort()}?ttl=0`, options);
  t.after(() => transport.close());
  return transport;
}

/** A plain socket that sends raw datagrams to the group on loopback only. */
async function rawSender(t: { after: (fn: () => void) => void }): Promise<(bytes: Uint8Array, port: number) => Promise<void>> {
  const socket = dgram.createSocket('udp4');
  t.after(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, resolve));
  socket.setMulticastTTL(0);
  socket.setMulticastInterface('127.0.0.1');
  return (bytes, port) => new Promise((resolve, reject) => socket.send(bytes, port, GROUP, (e) => (e ? reject(e) : resolve())));
}

const portOf = (t: LcmTransport): number => Number(new URL(t.url).port);

// 4 MB messages (62 datagrams) fit a receive buffer capped by net.core.rmem_max = 4 MiB even
// while the receiving process is briefly descheduled; 5 MB (77 datagrams) does not.
test('framebus receives liblcm’s short and 4 MB messages bit-exactly', async (t) => {
  const transport = await openOnFreshPort(t);
  const got = new Map<string, VideoPacketMessage[]>();
  transport.subscribe('INTEROP_.*', (payload, info) => {
    const list = got.get(info.channel) ?? [];
    list.push(videoPacketMessageType.decode(payload));
    got.set(info.channel, list);
  });
  await transport.flush();
  assert.ok(
    transport.receiveBufferBytes! >= 8 << 20,
    `Receiving 4 MB from another process needs net.core.rmem_max ≥ 4 MiB (sysctl -w net.core.rmem_max=4194304); the receive buffer here is ${transport.receiveBufferBytes} bytes.`,
  );
  const url = `udpm://${GROUP}:${portOf(transport)}?ttl=0`;
  await runInterop(['publish', url, 'INTEROP_SHORT', '3', '1000', '10']);
  await runInterop(['publish', url, 'INTEROP_BIG', '3', '4000000', '200']);
  await until('3 short and 3 big messages', () => got.get('INTEROP_SHORT')?.length === 3 && got.get('INTEROP_BIG')?.length === 3);
  for (const [channel, size] of [
    ['INTEROP_SHORT', 1000],
    ['INTEROP_BIG', 4_000_000],
  ] as const) {
    got.get(channel)!.forEach((m, i) => assert.deepEqual(m, interopPacket(i, size), `${channel} #${i}`));
  }
  assert.deepEqual({ ...transport.stats, received: 0 }, { sent: 0, received: 0, malformed: 0, incomplete: 0 });
});

test('liblcm receives framebus’s short and 4 MB messages bit-exactly', async (t) => {
  const transport = await openOnFreshPort(t);
  const url = `udpm://${GROUP}:${portOf(transport)}?ttl=0&recv_buf_size=8388608`;
  const sub = await startInterop(['subscribe', url, 'FB_.*', '6', '30000']);
  t.after(() => sub.child.kill());
  await sub.waitForLine((l) => l === 'ready', 15_000);
  const expected: string[] = [];
  for (const [channel, size, first] of [
    ['FB_SHORT', 1000, 0],
    ['FB_BIG', 4_000_000, 3],
  ] as const) {
    for (let i = first; i < first + 3; i++) {
      const p = interopPacket(i, size);
      await transport.publish(channel, videoPacketMessageType.encode(p));
      const line = `msg ${channel} ${i} h264 ${i % 2 === 0 ? 1 : 0} ${p.timestamp_ns} ${p.frame_id} 1920 1080 ${size} ok`;
      expected.push(line);
      await sub.waitForLine((l) => l === line, 10_000);
    }
  }
  assert.deepEqual(sub.lines.filter((l) => l.startsWith('msg ') || l.startsWith('undecodable')), expected);
  assert.equal(transport.stats.sent, 6);
});

/** Events of an LCM log file (lcm/eventlog.c): sync word, event number, µs time, channel, data. */
function parseLcmLog(bytes: Buffer): { eventNumber: bigint; timestampUs: bigint; channel: string; data: Buffer }[] {
  const events = [];
  let at = 0;
  while (at + 28 <= bytes.length) {
    assert.equal(bytes.readUInt32BE(at), 0xeda1da01, `sync word at byte ${at}`);
    const channelLength = bytes.readInt32BE(at + 20);
    const dataLength = bytes.readInt32BE(at + 24);
    if (at + 28 + channelLength + dataLength > bytes.length) break; // still being written
    events.push({
      eventNumber: bytes.readBigInt64BE(at + 4),
      timestampUs: bytes.readBigInt64BE(at + 12),
      channel: bytes.toString('latin1', at + 28, at + 28 + channelLength),
      data: bytes.subarray(at + 28 + channelLength, at + 28 + channelLength + dataLength),
    });
    at += 28 + channelLength + dataLength;
  }
  return events;
}

test('lcm-logger records framebus traffic: channels, payloads and times', async (t) => {
  const transport = await openOnFreshPort(t);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'framebus-lcm-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'traffic.lcmlog');
  const url = `udpm://${GROUP}:${portOf(transport)}?ttl=0&recv_buf_size=8388608`;
  const logger = spawn('lcm-logger', ['-q', '-f', `--lcm-url=${url}`, '--flush-interval=20', file], { stdio: 'ignore' });
  const exited = new Promise((resolve) => logger.on('close', resolve));
  t.after(() => logger.kill('SIGKILL'));
  const readEvents = async (): Promise<ReturnType<typeof parseLcmLog>> => parseLcmLog(await readFile(file).catch(() => Buffer.alloc(0)));

  // The logger gives no sign that it listens: probe until a probe shows up in its file.
  const probeUntil = Date.now() + 15_000;
  while (!(await readEvents()).some((e) => e.channel === 'FB_PROBE')) {
    assert.ok(Date.now() < probeUntil, 'lcm-logger never recorded a probe');
    await transport.publish('FB_PROBE', Uint8Array.of(1));
    await sleep(50);
  }
  const start = BigInt(Date.now()) * 1000n;
  const short = videoPacketMessageType.encode(interopPacket(0, 500));
  const big = videoPacketMessageType.encode(interopPacket(1, 3_000_000));
  await transport.publish('FB_LOG_SHORT', short);
  await transport.publish('FB_LOG_BIG', big);
  const deadline = Date.now() + 10_000;
  let events = await readEvents();
  while (!['FB_LOG_SHORT', 'FB_LOG_BIG'].every((c) => events.some((e) => e.channel === c))) {
    assert.ok(Date.now() < deadline, `log has ${events.map((e) => `${e.channel}:${e.data.length}`).join(', ')}`);
    // The logger flushes its file only when it writes the next event.
    await transport.publish('FB_PROBE', Uint8Array.of(1));
    await sleep(50);
    events = await readEvents();
  }
  const end = BigInt(Date.now()) * 1000n;
  logger.kill('SIGINT');
  await exited;
  events = await readEvents();
  events.forEach((e, i) => assert.equal(e.eventNumber, BigInt(i), 'event numbers count from 0'));
  const logged = events.filter((e) => e.channel.startsWith('FB_LOG_'));
  assert.deepEqual(logged.map((e) => e.channel), ['FB_LOG_SHORT', 'FB_LOG_BIG']);
  assert.ok(logged[0].data.equals(short));
  assert.ok(logged[1].data.equals(big));
  for (const e of logged) assert.ok(e.timestampUs >= start - 1000n && e.timestampUs <= end + 1000n, `time ${e.timestampUs}`);
});

test('subscription patterns match whole channel names; unsubscribe stops delivery; a throwing handler harms no other', async (t) => {
  const lines: string[] = [];
  const transport = await openOnFreshPort(t, { log: (m: string) => lines.push(m) });
  const seen: Record<string, string[]> = { exact: [], prefix: [], all: [] };
  transport.subscribe('CAM.*', () => {
    throw new Error('handler bug');
  });
  transport.subscribe('CAM', (_, i) => seen.exact.push(i.channel));
  const off = transport.subscribe('CAM.*', (_, i) => seen.prefix.push(i.channel));
  transport.subscribe('.*', (_, i) => seen.all.push(i.channel));
  await transport.flush();
  for (const channel of ['CAM', 'CAM2', 'XCAM']) await transport.publish(channel, Uint8Array.of(1));
  await until('3 messages', () => seen.all.length === 3);
  off();
  await transport.publish('CAM3', Uint8Array.of(1));
  await until('4 messages', () => seen.all.length === 4);
  assert.deepEqual(seen, { exact: ['CAM'], prefix: ['CAM', 'CAM2'], all: ['CAM', 'CAM2', 'XCAM', 'CAM3'] });
  assert.deepEqual(lines, ['An LCM handler for CAM threw: handler bug']);
  assert.throws(() => transport.subscribe('(', () => undefined), { name: 'InvalidArgumentError' });
  await transport.close();
  assert.throws(() => transport.subscribe('CAM', () => undefined), { name: 'TransportError', message: /is closed/ });
});

test('two framebus senders on one group: each has its own sequence and their 5 MB messages do not mix', async (t) => {
  const a = await openOnFreshPort(t);
  const b = await LcmTransport.open(a.url);
  t.after(() => b.close());
  const capture = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  t.after(() => capture.close());
  const heads: { port: number; magic: number; sequence: number }[] = [];
  capture.on('message', (m, r) => heads.push({ port: r.port, magic: m.readUInt32BE(0), sequence: m.readUInt32BE(4) }));
  await new Promise<void>((resolve) => capture.bind(portOf(a), resolve));
  capture.addMembership(GROUP, '127.0.0.1');
  capture.setRecvBufferSize(16 << 20);

  const received: { channel: string; payload: Uint8Array }[] = [];
  a.subscribe('BIG_.*', (payload, info) => received.push({ channel: info.channel, payload }));
  await a.flush();
  const big = [patternData(1, 5_000_000), patternData(2, 5_000_000)];
  await Promise.all([a.publish('BIG_A', big[0]), b.publish('BIG_B', big[1]), a.publish('BIG_A', Uint8Array.of(7))]);
  await until('three messages', () => received.length === 3);
  const byChannel = (c: string): Uint8Array[] => received.filter((r) => r.channel === c).map((r) => r.payload);
  assert.ok(Buffer.from(byChannel('BIG_B')[0]).equals(big[1]));
  assert.deepEqual(byChannel('BIG_A').map((p) => p.byteLength), [5_000_000, 1], 'publishes leave in call order');
  assert.ok(Buffer.from(byChannel('BIG_A')[0]).equals(big[0]));
  await until('all datagrams captured', () => heads.length === 2 * 77 + 1);
  const ports = [...new Set(heads.map((h) => h.port))];
  assert.equal(ports.length, 2, 'two senders');
  const sequencesOf = (port: number): number[] => [...new Set(heads.filter((h) => h.port === port).map((h) => h.sequence))];
  assert.deepEqual(ports.map(sequencesOf).sort((x, y) => y.length - x.length), [[0, 1], [0]]);
  assert.equal(a.stats.malformed + a.stats.incomplete, 0);
});

test('garbage, lies and lost fragments are dropped, counted and logged at a limited rate', async (t) => {
  const lines: string[] = [];
  const transport = await openOnFreshPort(t, {
    log: (m: string) => lines.push(m),
    logIntervalMs: 60_000,
    reassembly: { staleAfterMs: 300 },
  });
  const received: string[] = [];
  transport.subscribe('.*', (payload, info) => received.push(`${info.channel}:${payload.byteLength}`));
  await transport.flush();
  const send = await rawSender(t);
  const port = portOf(transport);
  const fragments = lcmDatagrams(5, encodeLcmChannel('LOST'), new Uint8Array(200_000)).map((p) => new Uint8Array(Buffer.concat(p)));
  const lie = new Uint8Array(fragments[0]);
  new DataView(lie.buffer).setUint32(8, 0x7fffffff);
  const garbage = [
    Uint8Array.of(1, 2, 3),
    new Uint8Array(Buffer.from('GET / HTTP/1.1\r\n')),
    new Uint8Array(Buffer.from('4c43303200000001414243', 'hex')),
    lie,
  ];
  for (let i = 0; i < 25; i++) for (const g of garbage) await send(g, port);
  // Two of four fragments: the message can never complete.
  await send(fragments[0], port);
  await send(fragments[2], port);
  await send(new Uint8Array(Buffer.concat(lcmDatagrams(0, encodeLcmChannel('GOOD'), Uint8Array.of(1, 2))[0])), port);
  await until('the good message', () => received.length === 1);
  assert.deepEqual(received, ['GOOD:2']);
  await until('100 malformed', () => transport.stats.malformed === 100);
  await until('the lost message given up', () => transport.stats.incomplete === 1, 3000);
  assert.equal(transport.bufferedBytes, 0);
  const drops = lines.filter((l) => !l.includes('receive buffer'));
  assert.equal(drops.length, 2, drops.join('\n'));
  assert.match(drops[0], /shorter than any header/);
  assert.match(drops[1], /Dropped LCM message 5 from 127\.0\.0\.1:\d+ \(2 of 4 fragments\): no fragment for \d+ ms/);
});

test('publish refuses bad channels and payloads, and fails once closed', async (t) => {
  const transport = await openOnFreshPort(t);
  await assert.rejects(transport.publish('x'.repeat(64), new Uint8Array(1)), { name: 'InvalidArgumentError', message: /at most 63/ });
  await assert.rejects(transport.publish('OK', 'text' as unknown as Uint8Array), { name: 'InvalidArgumentError' });
  await transport.close();
  await assert.rejects(transport.publish('OK', new Uint8Array(1)), { name: 'TransportError', message: /is closed/ });
  await assert.rejects(LcmTransport.open('lcm://10.0.0.1:7667'), { name: 'InvalidArgumentError' });
});
