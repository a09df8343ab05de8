import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import foxglove, { type Channel } from '@foxglove/ws-protocol';
import { WebSocket } from 'ws';
import { InvalidArgumentError, NotFoundError } from '../core/errors.js';
import { writeSyntheticRecording } from '../../test/browser/synthetic-recording.js';
import { RecordingsFolder } from './recordings-folder.js';
import { startReplayServer } from './replay-server.js';
import type { ViewerServerHandle } from './viewer-server.js';

const { FoxgloveClient } = foxglove;

let root: string;
let folder: string;
let server: ViewerServerHandle;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'framebus-folder-'));
  folder = join(root, 'recordings');
  await mkdir(join(folder, 'day1'), { recursive: true });
  await writeSyntheticRecording(join(folder, 'day1', 'run.mcap'), { frames: 10 });
  await writeFile(join(root, 'secret.mcap'), 'not for viewers');
  await symlink(join(root, 'secret.mcap'), join(folder, 'link-out.mcap'));
  server = await startReplayServer({ recordingsDir: folder, port: 0 });
});

after(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

test('a recordings folder resolves names inside it and refuses everything outside', async () => {
  const recordings = await RecordingsFolder.open(folder);
  assert.deepEqual(await recordings.list(), ['day1/run.mcap'], 'links are not listed');
  assert.equal(await recordings.resolve('day1/run.mcap'), join(recordings.root, 'day1', 'run.mcap'));
  for (const name of ['../secret.mcap', 'day1/../../secret.mcap', join(root, 'secret.mcap'), 'link-out.mcap', 'day1/run.txt', '']) {
    await assert.rejects(recordings.resolve(name), InvalidArgumentError, name);
  }
  await assert.rejects(recordings.resolve('missing.mcap'), NotFoundError);
  await assert.rejects(RecordingsFolder.open(join(root, 'nope')), NotFoundError);
});

function upgradeStatus(query: string): Promise<number> {
  const url = `${new URL(server.url).origin.replace('http', 'ws')}/${query}`;
  return new Promise((resolve) => {
    const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => undefined);
  });
}

test('the replay server opens recordings only from its folder: 403 outside, 404 unknown', async () => {
  assert.equal(await upgradeStatus(`?recording=${encodeURIComponent('../secret.mcap')}`), 403);
  assert.equal(await upgradeStatus(`?recording=${encodeURIComponent(join(root, 'secret.mcap'))}`), 403);
  assert.equal(await upgradeStatus('?recording=link-out.mcap'), 403);
  assert.equal(await upgradeStatus('?recording=missing.mcap'), 404);
  assert.equal(await upgradeStatus('?recording=day1%2Frun.mcap'), 101);
});

test('a connection to the folder without a recording is told to choose one, and gets no channels', async () => {
  const ws = new WebSocket(`${new URL(server.url).origin.replace('http', 'ws')}/`, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
  const client = new FoxgloveClient({ ws: ws as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'] });
  const channels: Channel[] = [];
  client.on('advertise', (list) => channels.push(...list));
  const info = new Promise<Record<string, string>>((resolve) => client.on('serverInfo', (i) => resolve(i.metadata ?? {})));
  const status = new Promise<string>((resolve) => client.on('status', (s) => resolve(s.message)));
  assert.deepEqual(await info, { mode: 'replay', choose: 'true' });
  assert.match(await status, /Choose a recording: add \?recording=<name>/);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(channels, []);
  ws.close();
});

test('a replay viewer is advertised the recording as protobuf CompressedVideo, with the replay services', async () => {
  const ws = new WebSocket(`${new URL(server.url).origin.replace('http', 'ws')}/?recording=day1%2Frun.mcap`, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
  const client = new FoxgloveClient({ ws: ws as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'] });
  const channels: Channel[] = [];
  const services: string[] = [];
  const info = new Promise<Record<string, string>>((resolve) => client.on('serverInfo', (i) => resolve(i.metadata ?? {})));
  client.on('advertise', (list) => channels.push(...list));
  client.on('advertiseServices', (list) => services.push(...list.map((s) => s.name)));
  assert.deepEqual(await info, { mode: 'replay', recording: 'day1/run.mcap' });
  for (let i = 0; i < 100 && channels.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(services.sort(), ['framebus/index', 'framebus/pause', 'framebus/play', 'framebus/seek']);
  const camera = channels.find((c) => c.topic === 'camera');
  assert.equal(camera?.schemaName, 'foxglove.CompressedVideo');
  assert.equal(camera?.encoding, 'protobuf');
  ws.close();
});
