import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchHeadlessChromium } from '../../src/bench/headless-chromium.js';
import { Bus } from '../../src/bus/bus.js';
import { WebRtcAnswerer } from '../../src/bus/webrtc/webrtc-answerer.js';
import { twistMessageType, videoPacketMessageType, type TwistMessage } from '../../src/wire/messages.js';
import { randomMemoryUrl, waitFor } from '../support/bus-fixtures.js';
import { startSignalingServer } from '../support/webrtc-signaling.js';

/** Larger than Chromium's 256 KiB max-message-size, so framebus sends it as fragments. */
const BIG = 600_000;

/**
 * A page that dials framebus like `webrtc://` does and speaks its frames (src/bus/webrtc/dc-frame.ts)
 * by hand: subscribe to `to_browser/.*`, ping, then send the bytes it was given on `from_browser`
 * (reliable) and on `cmd_unreliable` (the unreliable channel); it unpacks batches (counted in
 * `window.batches`), reassembles what arrives and exposes it as `window.got`.
 */
const PAGE = `<!doctype html><meta charset="utf-8"><script>
window.got = [];
window.start = async (twist) => {
  const enc = new TextEncoder();
  const frame = (kind, channel, payload) => {
    const name = enc.encode(channel);
    const out = new Uint8Array(3 + name.length + payload.length);
    out[0] = kind; out[1] = name.length >> 8; out[2] = name.length & 255;
    out.set(name, 3); out.set(payload, 3 + name.length);
    return out;
  };
  const control = (kind, id, text) => {
    const t = enc.encode(text || '');
    const out = new Uint8Array(5 + t.length);
    out[0] = kind; new DataView(out.buffer).setUint32(1, id); out.set(t, 5);
    return out;
  };
  const pc = new RTCPeerConnection();
  const reliable = pc.createDataChannel('reliable');
  const unreliable = pc.createDataChannel('unreliable', { ordered: false, maxRetransmits: 0 });
  for (const dc of [reliable, unreliable]) dc.binaryType = 'arraybuffer';
  const pending = new Map();
  let pong;
  const ponged = new Promise((r) => (pong = r));
  window.batches = 0;
  reliable.onmessage = (e) => {
    const d = new Uint8Array(e.data);
    if (d[0] !== 6) return onFrame(d);
    // A batch: u16 count, then count times u16 length and a frame.
    window.batches++;
    const v = new DataView(d.buffer);
    for (let at = 3; at < d.length; at += 2 + v.getUint16(at)) onFrame(d.subarray(at + 2, at + 2 + v.getUint16(at)));
  };
  const onFrame = (d) => {
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    if (d[0] === 5) return pong();
    if (d[0] > 1) return;
    const len = v.getUint16(1);
    const channel = new TextDecoder().decode(d.subarray(3, 3 + len));
    if (d[0] === 0) return void window.got.push({ channel, bytes: Array.from(d.subarray(3 + len)) });
    const at = 3 + len;
    const [id, index, count, offset, total] = [0, 4, 8, 12, 16].map((o) => v.getUint32(at + o));
    let m = pending.get(id);
    if (!m) pending.set(id, (m = { data: new Uint8Array(total), seen: new Set() }));
    m.data.set(d.subarray(at + 20), offset);
    m.seen.add(index);
    if (m.seen.size === count) {
      pending.delete(id);
      let sum = 0;
      for (const b of m.data) sum = (sum + b) % 1000003;
      window.got.push({ channel, size: total, sum, fragments: count });
    }
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); else pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
  const res = await fetch('/webrtc/bus', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  await Promise.all([reliable, unreliable].map((dc) => new Promise((r) => (dc.readyState === 'open' ? r() : (dc.onopen = r)))));
  reliable.send(control(2, 1, 'to_browser/.*'));
  reliable.send(control(4, 9));
  await ponged;
  const bytes = new Uint8Array(twist);
  reliable.send(frame(0, 'from_browser', bytes));
  unreliable.send(frame(0, 'cmd_unreliable', bytes));
  return 'sent';
};
</script>`;

test('headless Chromium exchanges DataChannel messages with framebus: typed messages both ways, the unreliable channel, a 600 kB message in fragments', async (t) => {
  const local = await Bus.open(randomMemoryUrl());
  const answerer = new WebRtcAnswerer(local, { log: () => {} });
  const { port, close } = await startSignalingServer(answerer, undefined, PAGE);
  const browser = await launchHeadlessChromium();
  t.after(async () => {
    await browser.close();
    answerer.close();
    await close();
    await local.close();
  });
  const fromBrowser: TwistMessage[] = [];
  const commands: TwistMessage[] = [];
  local.topic('from_browser', twistMessageType).subscribe((m) => fromBrowser.push(m));
  local.topic('cmd_unreliable', twistMessageType).subscribe((m) => commands.push(m));
  const page = await browser.context.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  const sent: TwistMessage = { timestamp_ns: 42n, linear: [0.5, 0, 0], angular: [0, 0, -0.25] };
  assert.equal(await page.evaluate((b) => (window as unknown as { start: (b: number[]) => Promise<string> }).start(b), Array.from(twistMessageType.encode(sent))), 'sent');
  await waitFor(() => fromBrowser.length === 1 && commands.length === 1, 'the browser\'s messages');
  assert.deepEqual(fromBrowser, [sent]);
  assert.deepEqual(commands, [sent], 'the command came over the unreliable channel');

  const back: TwistMessage = { timestamp_ns: 43n, linear: [1, 2, 3], angular: [4, 5, 6] };
  const backs = [back, { ...back, timestamp_ns: 44n }, { ...back, timestamp_ns: 45n }];
  // Published in one event-loop turn: the first goes alone, the other two share a batch frame (dc-frame kind 6).
  await Promise.all(backs.map((m) => local.topic('to_browser/twist', twistMessageType).publish(m)));
  const data = Uint8Array.from({ length: BIG }, (_, i) => (i * 13) & 255);
  await local.topic('to_browser/big', videoPacketMessageType).publish({ codec: 'h264', key: true, sequence: 1n, timestamp_ns: 1n, frame_id: 1n, width: 8, height: 8, data });
  const encoded = videoPacketMessageType.encode({ codec: 'h264', key: true, sequence: 1n, timestamp_ns: 1n, frame_id: 1n, width: 8, height: 8, data });
  let sum = 0;
  for (const b of encoded) sum = (sum + b) % 1000003;
  await page.waitForFunction(() => (window as unknown as { got: unknown[] }).got.length >= 4, undefined, { timeout: 20_000 });
  const got = (await page.evaluate(() => (window as unknown as { got: unknown[] }).got)) as { channel: string; bytes?: number[]; size?: number; sum?: number; fragments?: number }[];
  assert.deepEqual(got.slice(0, 3).map((g) => g.channel), backs.map(() => 'to_browser/twist'));
  assert.deepEqual(got.slice(0, 3).map((g) => twistMessageType.decode(Uint8Array.from(g.bytes!))), backs, 'the three twists, in order');
  assert.ok((await page.evaluate(() => (window as unknown as { batches: number }).batches)) >= 1, 'the browser unpacked a batch frame');
  assert.equal(got[3].channel, 'to_browser/big');
  assert.equal(got[3].size, encoded.byteLength);
  assert.equal(got[3].sum, sum, 'the reassembled message has the bytes framebus sent');
  assert.ok(got[3].fragments! >= 3, `${got[3].fragments} fragments`);
});
