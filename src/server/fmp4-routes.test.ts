import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { Bus } from '../bus/bus.js';
import { startSyntheticCamera, type SyntheticCamera } from '../bench/synthetic-camera.js';
import { startLiveServer } from './live-server.js';
import type { ViewerServerHandle } from './viewer-server.js';

const run = promisify(execFile);
let bus: Bus;
let camera: SyntheticCamera;
let server: ViewerServerHandle;
let origin: string;

before(async () => {
  bus = await Bus.open('memory:fmp4-routes-test');
  camera = startSyntheticCamera(bus, 'camera/front', { gop: 15, width: 160, height: 120 });
  server = await startLiveServer({ bus, port: 0 });
  origin = new URL(server.url).origin;
  while (camera.published < 20) await new Promise((r) => setTimeout(r, 50));
});

after(async () => {
  await server?.close();
  await camera?.stop();
  await bus?.close();
});

test('ffmpeg reads a bus topic as one long live MP4 response, remuxed from the bus packets', async () => {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-read_intervals', '%+#20', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height:frame=key_frame', '-of', 'json', `${origin}/live/${encodeURIComponent('camera/front')}.mp4`], { timeout: 20_000 });
  const probed = JSON.parse(stdout) as { streams: { codec_name: string; width: number; height: number }[]; frames: { key_frame: number }[] };
  assert.deepEqual(probed.streams[0], { codec_name: 'h264', width: 160, height: 120 });
  assert.equal(probed.frames.length, 20);
  assert.equal(probed.frames[0].key_frame, 1, 'the stream starts at the cached GOP');
  const { stderr } = await run('ffmpeg', ['-v', 'info', '-nostdin', '-i', `${origin}/live/camera%2Ffront.mp4`, '-frames:v', '10', '-f', 'null', '-'], { timeout: 20_000 });
  assert.match(stderr, /frame=\s*10/);
});

test('the WebSocket /fmp4/<topic> sends the MIME type, the init segment, then fragments; unknown topics are refused', async () => {
  const ws = new WebSocket(`${origin.replace('http', 'ws')}/fmp4/camera%2Ffront`);
  const messages: (string | Buffer)[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data, binary) => {
      messages.push(binary ? (data as Buffer) : data.toString());
      if (messages.length === 6) resolve();
    });
    ws.on('error', reject);
  });
  ws.close();
  const init = JSON.parse(messages[0] as string) as { type: string; mimeType: string };
  assert.equal(init.type, 'init');
  assert.match(init.mimeType, /^video\/mp4; codecs="avc1\.[0-9a-f]{6}"$/);
  assert.equal((messages[1] as Buffer).subarray(4, 8).toString(), 'ftyp');
  for (const m of messages.slice(2)) assert.equal((m as Buffer).subarray(4, 8).toString(), 'moof');
  const refused = new WebSocket(`${origin.replace('http', 'ws')}/fmp4/nope`);
  const status = await new Promise<number>((resolve) => refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
  assert.equal(status, 404);
  const missing = await fetch(`${origin}/live/nope.mp4`);
  assert.equal(missing.status, 404);
});

test('clients that disconnect mid-stream (a WebSocket torn down, an HTTP response aborted) leave the stream serving others', async () => {
  for (let i = 0; i < 3; i++) {
    const ws = new WebSocket(`${origin.replace('http', 'ws')}/fmp4/camera%2Ffront`);
    await new Promise<void>((resolve) => ws.once('message', () => resolve()));
    ws.terminate();
    const aborted = new AbortController();
    const response = await fetch(`${origin}/live/camera%2Ffront.mp4`, { signal: aborted.signal });
    const reader = response.body!.getReader();
    await reader.read();
    aborted.abort();
    await reader.read().catch(() => undefined);
  }
  const { stdout } = await run('ffprobe', ['-v', 'error', '-read_intervals', '%+#5', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame', '-of', 'csv=p=0', `${origin}/live/camera%2Ffront.mp4`], { timeout: 20_000 });
  assert.equal(stdout.trim().split('\n').length, 5);
});
