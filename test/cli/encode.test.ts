import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatContext, Packet } from 'node-av/lib';
import { findH264ParameterSets, h264CodecString, parseH264Sps } from '../../src/codec/h264-sps.js';
import { sampleVideoPath } from '../../src/source/sample-video.js';
import { launchHeadlessChromium } from '../../src/bench/headless-chromium.js';
import { runCli } from '../support/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'framebus-encode-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function ffprobe(path: string): Record<string, string> {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'default=nw=1', path], { encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split('=') as [string, string]));
}

/** MP4 samples (4-byte length-prefixed NAL units) back to Annex B. */
async function annexBSamples(path: string): Promise<{ data: Buffer; key: boolean }[]> {
  const ctx = new FormatContext();
  assert.ok((await ctx.openInput(path)) >= 0);
  await ctx.findStreamInfo();
  const packet = new Packet();
  packet.alloc();
  const samples: { data: Buffer; key: boolean }[] = [];
  while ((await ctx.readFrame(packet)) >= 0) {
    const src = packet.data!;
    const parts: Buffer[] = [];
    for (let o = 0; o + 4 <= src.length; ) {
      const n = src.readUInt32BE(o);
      parts.push(Buffer.from([0, 0, 0, 1]), src.subarray(o + 4, o + 4 + n));
      o += 4 + n;
    }
    samples.push({ data: Buffer.concat(parts), key: packet.isKeyframe });
    packet.unref();
  }
  packet.free();
  await ctx.closeInput();
  return samples;
}

test('framebus encode of vtest: ffprobe agrees on codec, size and frame count; probe counts keyframes', async () => {
  const out = join(dir, 'vtest.mp4');
  const r = await runCli(['encode', sampleVideoPath(), '--size', '320x240', '--frames', '75', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.frames, 75);
  assert.deepEqual(ffprobe(out), { codec_name: 'h264', width: '320', height: '240', nb_read_frames: '75' });
  const p = await runCli(['probe', out, '--json']);
  assert.equal(p.code, 0, p.stderr);
  const probe = JSON.parse(p.stdout);
  assert.equal(probe.video.frames, 75);
  assert.equal(probe.video.keyframes, 3);
  assert.equal(probe.video.bFrames, false);
  assert.equal(probe.audio, null);
});

/** Runs in the page (plain JS: the test runner's transpiler must not touch it). */
const PAGE_SCRIPT = `
(async () => {
  const samples = await (await fetch('/samples')).json();
  const support = await VideoDecoder.isConfigSupported({ codec: 'CODEC' });
  let frames = 0;
  let last;
  const decoder = new VideoDecoder({
    output: (f) => { frames++; if (last) last.close(); last = f; },
    error: (e) => console.error(e.message),
  });
  decoder.configure({ codec: 'CODEC', optimizeForLatency: true });
  samples.forEach((s, i) => {
    const data = Uint8Array.from(atob(s.data), (c) => c.charCodeAt(0));
    decoder.decode(new EncodedVideoChunk({ type: s.key ? 'key' : 'delta', timestamp: i * 33333, data }));
  });
  await decoder.flush();
  const g = document.getElementById('c').getContext('2d');
  g.drawImage(last, 0, 0);
  const pixels = g.getImageData(0, 0, 320, 240).data;
  // The synthetic scene's frame-number strip: 16 cells along the bottom.
  const cellWidth = Math.floor(320 / 18);
  const cellHeight = Math.max(8, Math.floor(240 / 24));
  const top = 240 - cellHeight - 2;
  let code = 0;
  for (let bit = 0; bit < 16; bit++) {
    const o = ((top + (cellHeight >> 1)) * 320 + cellWidth + bit * cellWidth + (cellWidth >> 1)) * 4;
    code = code * 2 + ((pixels[o] + pixels[o + 1] + pixels[o + 2]) / 3 > 128 ? 1 : 0);
  }
  window.result = { supported: support.supported, frames, code };
})();
`;

test('framebus encode output decodes in headless Chromium through WebCodecs with our SPS codec string', async () => {
  const out = join(dir, 'synthetic.mp4');
  const r = await runCli(['encode', 'synthetic:320x240@30', '--frames', '45', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const samples = await annexBSamples(out);
  assert.equal(samples.length, 45);
  const codec = h264CodecString(parseH264Sps(findH264ParameterSets(samples[0].data).sps[0]));
  const server = createServer((req, res) => {
    if (req.url === '/samples') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(samples.map((s) => ({ key: s.key, data: s.data.toString('base64') }))));
      return;
    }
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><canvas id="c" width="320" height="240"></canvas><script>${PAGE_SCRIPT.replaceAll('CODEC', codec)}</script>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const browser = await launchHeadlessChromium();
  try {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => 'result' in window, undefined, { timeout: 60_000 }).catch((e) => assert.fail(`${e.message}; page errors: ${errors.join('; ')}`));
    const result = (await page.evaluate('window.result')) as { supported: boolean; frames: number; code: number };
    assert.equal(result.supported, true, `Chromium does not support ${codec}`);
    assert.equal(result.frames, 45);
    assert.equal(result.code, 44, 'the last decoded picture shows frame 44');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});

test('framebus encode of a missing file fails with a clear message and exit code 2', async () => {
  const r = await runCli(['encode', '/no/such.avi', '--out', join(dir, 'x.mp4')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Video file not found: \/no\/such.avi/);
});
