import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { waitFor } from '../../../test/support/bus-fixtures.js';
import { FrameKind } from './dc-frame.js';
import type { DataChannelPair, DataChannelPort } from './datachannel-port.js';
import { MAX_BATCH_BYTES } from './dc-sender.js';
import { loopbackPeers, type NdcPeer } from './ndc-peer.js';
import { WebRtcLink } from './webrtc-link.js';

/** The real port, with the first byte (frame kind) of every DataChannel message it receives recorded in `kinds`. */
function watched(port: DataChannelPort, kinds: number[]): DataChannelPort {
  return Object.assign(Object.create(port) as DataChannelPort, {
    onMessage: (handler: (m: Uint8Array) => void) =>
      port.onMessage((m) => {
        kinds.push(m[0]);
        handler(m);
      }),
  });
}

function numbered(i: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, i);
  out[size - 1] = i & 255;
  return out;
}

let peers: { offerer: NdcPeer; answerer: NdcPeer; a: DataChannelPair; b: DataChannelPair };
let out: WebRtcLink;
let inbound: WebRtcLink;
const reliableKinds: number[] = [];
const unreliableKinds: number[] = [];
const got: { channel: string; n: number; size: number }[] = [];

before(async () => {
  peers = await loopbackPeers();
  out = new WebRtcLink(peers.a, { message: () => undefined });
  const b = { reliable: watched(peers.b.reliable, reliableKinds), unreliable: watched(peers.b.unreliable, unreliableKinds) };
  inbound = new WebRtcLink(b, { message: (p, info) => got.push({ channel: info.channel, n: new DataView(p.buffer, p.byteOffset).getUint32(0), size: p.byteLength }) });
});
after(() => {
  out.close();
  inbound.close();
  peers.offerer.close();
  peers.answerer.close();
});

async function settle(count: number): Promise<void> {
  await waitFor(() => got.length >= count, `${count} messages`);
  await nextTurn();
}

test('a lone message goes at once in its own DataChannel message; 2,000 × 256 B published in one turn arrive in order in a few batches', async () => {
  await out.publish('state', numbered(0, 256));
  await settle(1);
  assert.deepEqual(reliableKinds, [FrameKind.message as number], 'the lone message was not batched');
  got.length = reliableKinds.length = 0;

  await Promise.all(Array.from({ length: 2000 }, (_, i) => out.publish('state', numbered(i, 256))));
  await settle(2000);
  assert.deepEqual(got.map((g) => g.n), Array.from({ length: 2000 }, (_, i) => i), 'every message, in order');
  assert.equal(reliableKinds[0], FrameKind.message, 'the first of the turn went alone');
  assert.ok(reliableKinds.slice(1).every((k) => k === FrameKind.batch), `kinds ${reliableKinds.join(',')}`);
  // 1,999 frames of 2 + 3 + 5 + 256 bytes in batches of at most 64 KiB.
  const fewest = Math.ceil((1999 * 266) / MAX_BATCH_BYTES);
  assert.ok(reliableKinds.length - 1 >= fewest && reliableKinds.length - 1 <= fewest + 1, `${reliableKinds.length} DataChannel messages for 2,000`);
  assert.equal(out.stats.sent, 2001);
  got.length = reliableKinds.length = 0;
});

test('small and fragmented messages published in one turn keep their order on the reliable channel', async () => {
  const sizes = [100, 3 * 2 ** 20, 200, 300, 40_000, 20_000, 17, 700_000, 5];
  await Promise.all(sizes.map((size, i) => out.publish('mixed', numbered(i, size))));
  await settle(sizes.length);
  assert.deepEqual(got.map((g) => [g.n, g.size]), sizes.map((size, i) => [i, size]));
  assert.ok(reliableKinds.includes(FrameKind.batch) && reliableKinds.includes(FrameKind.fragment), `kinds ${reliableKinds.join(',')}`);
  got.length = reliableKinds.length = 0;
});

test('bursts on the unreliable channel are batched too: whatever arrives is whole, once, and was sent', async () => {
  // Five bursts in five turns: maxRetransmits 0 may lose a batch, not all of them.
  for (let burst = 0; burst < 5; burst++) {
    await Promise.all(Array.from({ length: 100 }, (_, i) => out.publish('cmd_unreliable', numbered(burst * 100 + i, 64))));
    await nextTurn();
  }
  await waitFor(() => unreliableKinds.includes(FrameKind.batch), 'a batch on the unreliable channel');
  await nextTurn();
  const ns = got.map((g) => g.n);
  assert.ok(got.every((g) => g.channel === 'cmd_unreliable' && g.size === 64));
  assert.equal(new Set(ns).size, ns.length, 'no duplicates');
  assert.ok(ns.every((n) => n < 500));
  assert.ok(ns.length >= 99, `${ns.length} of 500 arrived`);
});
