import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import foxglove from '@foxglove/ws-protocol';
import { WebSocket } from 'ws';
import { RecordingReader } from '../store/recording-reader.js';
import { runDemo } from './demo.js';

const { FoxgloveClient } = foxglove;

test('the demo publishes encoded video to viewers and records the same packets', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'framebus-demo-'));
  try {
    const record = join(dir, 'demo.mcap');
    const demo = await runDemo({ source: 'synthetic:320x240@30', port: 0, record, durationSeconds: 1.5 });
    const ws = new WebSocket(`${new URL(demo.url).origin.replace('http', 'ws')}/`, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
    const client = new FoxgloveClient({ ws: ws as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'] });
    let received = 0;
    client.on('advertise', (channels) => {
      for (const c of channels) if (c.topic === 'camera') client.subscribe(c.id);
    });
    client.on('message', () => received++);
    const summary = await demo.done;
    ws.close();
    assert.ok(summary.frames >= 30 && summary.frames <= 50, `about 1.5 s of 30 fps: ${summary.frames} frames`);
    assert.ok(summary.keyPackets >= 1);
    assert.ok(received >= 10, `a viewer received ${received} packets`);
    assert.equal(summary.recording?.streams[0].frames, summary.frames, 'every published packet is recorded');
    const reader = await RecordingReader.open(record);
    const [stream] = await reader.streams();
    assert.equal(stream.name, 'camera');
    assert.equal(stream.codec, 'h264');
    assert.equal(stream.frames, summary.frames);
    await reader.close();
    assert.deepEqual(await demo.close(), summary, 'close after the end returns the same summary');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
