import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import foxglove, { type Channel, type MessageData } from '@foxglove/ws-protocol';
import protobufjs from 'protobufjs';
import 'protobufjs/ext/descriptor.js';
import { WebSocket } from 'ws';
import { Bus } from '../bus/bus.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import { isKeyAccessUnit } from '../codec/keyframe-detect.js';
import { createImageCodec } from '../codec/image-codec.js';
import { nowNs } from '../core/time.js';
import type { CompressedImage } from '../core/compressed-image.js';
import { readFrameCode, SyntheticSource } from '../source/synthetic-source.js';
import { fromCompressedImage } from '../wire/core-conversion.js';
import { compressedImageMessageType, twistMessageType } from '../wire/messages.js';
import { startSyntheticCamera, type SyntheticCamera } from '../bench/synthetic-camera.js';
import { startLiveServer } from './live-server.js';
import type { ViewerServerHandle } from './viewer-server.js';

const { FoxgloveClient } = foxglove;

let bus: Bus;
let camera: SyntheticCamera;
let open: ViewerServerHandle;
let guarded: ViewerServerHandle;

before(async () => {
  bus = await Bus.open('memory:live-server-test');
  camera = startSyntheticCamera(bus, 'camera/front', { gop: 15 });
  open = await startLiveServer({ bus, port: 0 });
  guarded = await startLiveServer({ bus, port: 0, requireToken: true });
});

after(async () => {
  await open?.close();
  await guarded?.close();
  await camera?.stop();
  await bus?.close();
});

function origin(handle: ViewerServerHandle): string {
  return new URL(handle.url).origin;
}

function wsUrl(handle: ViewerServerHandle, query = ''): string {
  return `${origin(handle).replace('http', 'ws')}/${query}`;
}

/** A Foxglove protocol client (the same library the Foxglove app uses) over `ws`. */
function connect(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL], { headers });
  const client = new FoxgloveClient({ ws: ws as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'] });
  const channels = new Map<string, Channel>();
  const messages: { topic: string; message: MessageData }[] = [];
  const bySub = new Map<number, string>();
  client.on('advertise', (list) => list.forEach((c) => channels.set(c.topic, c)));
  client.on('message', (message) => messages.push({ topic: bySub.get(message.subscriptionId) ?? '?', message }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return {
    ws,
    client,
    channels,
    messages,
    closed,
    async subscribe(topic: string): Promise<void> {
      for (let i = 0; i < 100 && !channels.has(topic); i++) await new Promise((r) => setTimeout(r, 50));
      const channel = channels.get(topic);
      assert.ok(channel, `channel ${topic} advertised`);
      bySub.set(client.subscribe(channel.id), topic);
    },
    async waitForMessages(n: number): Promise<void> {
      for (let i = 0; i < 200 && messages.length < n; i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(messages.length >= n, `expected ${n} messages, got ${messages.length}`);
    },
  };
}

function httpGet(url: string, headers: Record<string, string> = {}, path?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: path ?? `${u.pathname}${u.search}`, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function wsRefusal(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL], { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      ws.close();
      reject(new Error('the WebSocket was accepted'));
    });
    ws.on('error', () => undefined);
  });
}

test('the Foxglove client library receives foxglove.CompressedVideo messages whose data decode to the published frames', async () => {
  const viewer = connect(wsUrl(open));
  await viewer.subscribe('camera/front');
  const channel = viewer.channels.get('camera/front')!;
  assert.equal(channel.schemaName, 'foxglove.CompressedVideo');
  assert.equal(channel.encoding, 'protobuf');
  assert.equal(channel.schemaEncoding, 'protobuf');
  // Decode as the Foxglove app does: from the FileDescriptorSet the channel advertises.
  const type = protobufjs.Root.fromDescriptor(Buffer.from(channel.schema, 'base64'), { keepCase: true }).lookupType('foxglove.CompressedVideo');
  await viewer.waitForMessages(20);
  const decoder = await VideoDecoder.create({ codec: 'h264' });
  const codes: number[] = [];
  let sequence = 0;
  for (const { message } of viewer.messages) {
    const m = type.toObject(type.decode(new Uint8Array(message.data.buffer, message.data.byteOffset, message.data.byteLength)), { longs: String }) as {
      timestamp: { seconds: string; nanos: number };
      format: string;
      data: Uint8Array;
      frame_id: string;
    };
    assert.equal(m.format, 'h264');
    assert.equal(m.frame_id, 'camera/front');
    const data = m.data;
    const timestamp = BigInt(m.timestamp.seconds) * 1_000_000_000n + BigInt(m.timestamp.nanos);
    assert.ok(timestamp > 0n);
    const key = isKeyAccessUnit('h264', data);
    if (sequence === 0) assert.equal(key, true, 'the first message a new subscriber gets is a key packet');
    const frames = await decoder.decode({ kind: 'video-packet', codec: 'h264', data, key, timestamp, sequence: sequence++, frameId: 0, width: 320, height: 240 });
    for (const f of frames) codes.push(readFrameCode(f.planes[0].data, f.width, f.height, 3, f.planes[0].stride));
  }
  decoder.close();
  assert.ok(codes.length >= 19, `decoded ${codes.length} frames`);
  for (let i = 1; i < codes.length; i++) assert.equal(codes[i], codes[i - 1] + 1, `consecutive frames: ${codes.join(',')}`);
  viewer.ws.close();
});

test('a malformed or oversized client message closes that client only; the others keep receiving', async () => {
  const good = connect(wsUrl(open));
  const garbled = connect(wsUrl(open));
  const oversized = connect(wsUrl(open));
  await good.subscribe('camera/front');
  await garbled.subscribe('camera/front');
  await oversized.subscribe('camera/front');
  await good.waitForMessages(3);
  garbled.ws.send('{"op":"subscribe","subscriptions":[null]');
  oversized.ws.send(JSON.stringify({ op: 'subscribe', subscriptions: [], padding: 'x'.repeat(200_000) }));
  const [a, b] = await Promise.all([garbled.closed, oversized.closed]);
  assert.equal(a.code, 1008);
  assert.match(a.reason, /Bad client message/);
  assert.equal(b.code, 1009);
  const before = good.messages.length;
  await good.waitForMessages(before + 10);
  assert.equal(good.ws.readyState, WebSocket.OPEN);
  good.ws.close();
});

test('with a token required, HTTP without it answers 401 and the WebSocket is refused; with it both work', async () => {
  assert.ok(guarded.token);
  assert.ok(guarded.url.endsWith(`?token=${guarded.token}`));
  assert.equal((await httpGet(origin(guarded))).status, 401);
  assert.equal((await httpGet(`${origin(guarded)}/viewer.js`)).status, 401);
  assert.equal((await httpGet(`${origin(guarded)}/?token=wrong-token-value`)).status, 401);
  assert.equal(await wsRefusal(wsUrl(guarded)), 401);
  assert.equal(await wsRefusal(wsUrl(guarded, '?token=nope-nope-nope')), 401);

  const page = await httpGet(guarded.url);
  assert.equal(page.status, 200);
  assert.match(String(page.headers['set-cookie']), /framebus_token=.*HttpOnly/);
  assert.equal((await httpGet(`${origin(guarded)}/api/info`, { Authorization: `Bearer ${guarded.token}` })).status, 200);
  assert.equal((await httpGet(`${origin(guarded)}/viewer.js`, { Cookie: `framebus_token=${guarded.token}` })).status, 200);
  const viewer = connect(wsUrl(guarded, `?token=${guarded.token}`));
  await viewer.subscribe('camera/front');
  await viewer.waitForMessages(2);
  viewer.ws.close();
});

test('GET /api/clock answers the server clock in ns since the Unix epoch (the page bounds its clock offset with it)', async () => {
  const asked = nowNs();
  const answer = await httpGet(`${origin(open)}/api/clock`);
  const answered = nowNs();
  assert.equal(answer.status, 200);
  const { now_ns: now } = JSON.parse(answer.body) as { now_ns: string };
  assert.match(now, /^\d+$/);
  assert.ok(BigInt(now) >= asked && BigInt(now) <= answered, `${now} read between ${asked} and ${answered}`);
});

test('without a token the server still refuses other host names, other web origins and paths outside the page folder', async () => {
  assert.equal(open.token, undefined);
  assert.equal((await httpGet(origin(open), { Host: 'attacker.example:80' })).status, 403);
  assert.equal(await wsRefusal(wsUrl(open), { Origin: 'https://attacker.example' }), 403);
  assert.equal((await httpGet(origin(open), {}, '/%2e%2e/%2e%2e/package.json')).status, 404);
  assert.equal((await httpGet(origin(open), {}, '/../../package.json')).status, 404);
  const foxgloveApp = connect(wsUrl(open), { Origin: 'https://app.foxglove.dev' });
  await foxgloveApp.subscribe('camera/front');
  foxgloveApp.ws.close();
});

test('image and command topics are served too: JPEG as foxglove.CompressedImage, commands as JSON with their schema', async () => {
  const viewer = connect(wsUrl(open));
  const jpeg = (await createImageCodec('jpeg').encode(new SyntheticSource({ width: 160, height: 120 }).render(7, 1_000_000_000n))) as CompressedImage;
  const images = bus.topic('camera/jpeg', compressedImageMessageType);
  const commands = bus.topic('cmd_vel', twistMessageType);
  await images.publish(fromCompressedImage(jpeg));
  await commands.publish({ timestamp_ns: 1_700_000_000_123_456_789n, linear: [0.5, 0, 0], angular: [0, 0, 0.25] });
  await viewer.subscribe('camera/jpeg');
  await viewer.subscribe('cmd_vel');
  const imageChannel = viewer.channels.get('camera/jpeg')!;
  const commandChannel = viewer.channels.get('cmd_vel')!;
  assert.equal(imageChannel.schemaName, 'foxglove.CompressedImage');
  assert.equal(commandChannel.schemaName, 'framebus.twist_t');
  assert.equal(commandChannel.schemaEncoding, 'jsonschema');
  // The newest image reaches a late subscriber at once; commands arrive live once the subscription is in.
  for (let i = 0; i < 100 && !viewer.messages.some((m) => m.topic === 'cmd_vel'); i++) {
    await commands.publish({ timestamp_ns: 1_700_000_000_123_456_790n, linear: [1, 0, 0], angular: [0, 0, 0] });
    await new Promise((r) => setTimeout(r, 20));
  }
  const image = viewer.messages.find((m) => m.topic === 'camera/jpeg');
  const command = viewer.messages.find((m) => m.topic === 'cmd_vel');
  assert.ok(image && command, 'one image and one command arrived');
  const type = protobufjs.Root.fromDescriptor(Buffer.from(imageChannel.schema, 'base64'), { keepCase: true }).lookupType('foxglove.CompressedImage');
  const decoded = type.toObject(type.decode(new Uint8Array(image.message.data.buffer, image.message.data.byteOffset, image.message.data.byteLength))) as { format: string; data: Uint8Array };
  assert.equal(decoded.format, 'jpeg');
  assert.deepEqual(Buffer.from(decoded.data), Buffer.from(jpeg.data));
  const json = JSON.parse(Buffer.from(command.message.data.buffer, command.message.data.byteOffset, command.message.data.byteLength).toString()) as unknown;
  assert.deepEqual(json, { timestamp_ns: '1700000000123456790', linear: [1, 0, 0], angular: [0, 0, 0] });
  viewer.ws.close();
});
