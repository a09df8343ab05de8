import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { measureNatsFailover } from '../../src/bench/nats-failover.js';
import { Bus } from '../../src/bus/bus.js';
import { LocalNatsCluster, makeTestCertificates } from '../../src/bus/nats/local-nats-cluster.js';
import { NatsTransport } from '../../src/bus/nats/nats-transport.js';
import type { TransportBus } from '../../src/bus/transport-bus.js';
import type { VideoTopic } from '../../src/bus/video/video-topic.js';
import { FramebusError, InvalidArgumentError, TransportError } from '../../src/core/errors.js';
import type { VideoPacket } from '../../src/core/packet.js';
import { SyntheticSource } from '../../src/source/synthetic-source.js';
import { BusRecorder } from '../../src/store/bus-recorder.js';
import { RecordingReader } from '../../src/store/recording-reader.js';
import { twistMessageType } from '../../src/wire/messages.js';
import { makeNkeyUser, makeOperatorCreds } from '../support/nats-credentials.js';
import { runCli } from '../support/run-cli.js';

const quiet = () => {};

function transportOf(bus: Bus): NatsTransport {
  return (bus as TransportBus).transport as NatsTransport;
}

/** Connects, expecting a typed error; returns its message. */
async function failure(url: string): Promise<FramebusError> {
  try {
    const t = await NatsTransport.connect(url, { timeoutMs: 3_000, log: quiet });
    await t.close();
  } catch (error) {
    assert.ok(error instanceof FramebusError, String(error));
    return error;
  }
  assert.fail(`connecting to ${url} succeeded`);
}

/** Publishes `seconds` of a live synthetic stream on `topic`, calling `during` once per frame. */
async function publishLive(
  bus: Bus,
  topic: string,
  seconds: number,
  options: { gop?: number; during?: (elapsed: number) => Promise<void>; onTopic?: (video: VideoTopic) => void } = {},
): Promise<number> {
  const video = bus.video(topic, { encoder: { gop: options.gop ?? 150, fps: 15 }, keyframeIntervalMs: 200 });
  options.onTopic?.(video);
  const source = new SyntheticSource({ width: 160, height: 120, fps: 15, realtime: true });
  let n = 0;
  const start = performance.now();
  try {
    for await (const frame of source) {
      await video.publishFrame(frame);
      n++;
      const elapsed = (performance.now() - start) / 1000;
      await options.during?.(elapsed);
      if (elapsed >= seconds) break;
    }
  } finally {
    await source.close();
  }
  return n;
}

describe('a three-node NATS cluster with user/password auth and TLS', () => {
  let cluster: LocalNatsCluster;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'framebus-fleet-'));
    cluster = await LocalNatsCluster.start({ auth: { kind: 'password' }, tls: true });
  });
  after(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('failover: the subscriber and recorder on a SIGKILLed node move to another member; nothing shown or recorded is damaged', async (t) => {
    // The server hangs 300 ms before it dies, so packets routed to it are lost and the subscriber meets a gap.
    const r = await measureNatsFailover(cluster, { beforeSeconds: 1.5, downSeconds: 1, afterSeconds: 1.5, hangMs: 300 });
    t.diagnostic(`gap ${r.failover_gap_ms} ms, ${r.frames_lost} of ${r.published} frames lost, ${r.keyframe_requests} keyframe requests, ${r.forced_keyframes} forced key frames, ${r.recorded} recorded`);
    const [a, , c] = cluster.ports.map((p) => `127.0.0.1:${p}`);
    assert.equal(r.server_before, c);
    assert.ok(r.server_after !== c && cluster.ports.some((p) => `127.0.0.1:${p}` === r.server_after), `failed over to ${r.server_after} (A is ${a})`);
    assert.ok(r.reconnects >= 2, 'subscriber and recorder both reconnected');
    assert.equal(r.corrupt_frames, 0, 'every frame shown is the picture it claims to be');
    // It saw the gap and, as GOP 150 (10 s) is longer than the run, resumed from a key frame forced on
    // request (its own, or the recorder's when that came first).
    assert.ok(r.frames_lost >= 1 && r.resumed >= 1 && r.forced_keyframes >= 1, `lost ${r.frames_lost}, resumed ${r.resumed}, ${r.forced_keyframes} forced key frames`);
    // Late join, then at most one request per gap and one retry: the first request after reconnecting was answered.
    assert.ok(r.keyframe_requests <= 3, `${r.keyframe_requests} keyframe requests`);
    assert.ok(r.shown > r.published / 2 && r.frames_lost < r.published / 2, `${r.shown} of ${r.published} frames shown`);
    assert.ok(r.recorded >= r.shown - 5, `recorded ${r.recorded} packets across the failover`);
    assert.equal(r.gate_failures, 0, 'no recorded packet fails the keyframe gate');
    assert.equal(r.undecodable_recorded, 0, 'the recording decodes at every frame time');
  });

  test('a slow subscriber drops whole GOP tails and rejoins at key packets; the publisher is never disconnected', async () => {
    const pub = await Bus.open(cluster.url([0]), { log: quiet });
    const sub = await Bus.open(cluster.url([2]), { log: quiet });
    try {
      const got: VideoPacket[] = [];
      const subscription = sub.video('cam/slow').subscribePackets(
        async (p) => {
          got.push(p);
          await sleep(120);
        },
        { queue: { maxPackets: 6 } },
      );
      await sub.flush();
      const sent = await publishLive(pub, 'cam/slow', 3, { gop: 10 });
      await sleep(300);
      await subscription.unsubscribe();
      const s = subscription.stats;
      assert.ok(s.dropped > 0 && s.resumed >= 1, `dropped ${s.dropped}, resumed ${s.resumed}`);
      assert.ok(got.length < sent, 'the slow handler saw fewer packets than were sent');
      for (let i = 1; i < got.length; i++) {
        assert.ok(got[i].key || got[i].sequence === got[i - 1].sequence + 1, `packet ${got[i].sequence} after ${got[i - 1].sequence} is decodable`);
      }
      assert.equal(transportOf(pub).stats.disconnects, 0, 'the publisher kept its connection');
      assert.equal(pub.stats.reconnects, 0);
    } finally {
      await Promise.all([pub.close(), sub.close()]);
    }
  });

  test('bad input: wrong password, unknown CA, refused connection: one line naming the servers and the cause, secret masked', async () => {
    const wrong = cluster.url([0]).replace(cluster.password, 'not-the-password-42');
    const e1 = await failure(wrong);
    assert.ok(e1 instanceof TransportError && /rejected the credentials/.test(e1.message), e1.message);
    assert.ok(!e1.message.includes('not-the-password-42') && e1.message.includes(`framebus:***@127.0.0.1:${cluster.ports[0]}`), e1.message);

    const other = await makeTestCertificates(dir, 'other');
    const e2 = await failure(`tls://127.0.0.1:${cluster.ports[1]}?ca=${other.caFile}`);
    assert.match(e2.message, /unknown authority|self-signed/);
    const e3 = await failure(`tls://127.0.0.1:${cluster.ports[1]}`);
    assert.match(e3.message, /unknown authority|self-signed/);
    assert.ok(e3.message.includes(`127.0.0.1:${cluster.ports[1]}`));

    const refused = await freeClosedPort();
    const e4 = await failure(`nats://u:hunter2hunter2@127.0.0.1:${refused}`);
    assert.match(e4.message, /connection refused/);
    assert.ok(!e4.message.includes('hunter2hunter2'));
    for (const e of [e1, e2, e3, e4]) assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
  });

  test('the CLI never prints a secret: topics --json and publish show the URL masked', async () => {
    const url = cluster.url([1]);
    const pub = await runCli(['publish', '--source', 'synthetic:160x120@15', '--bus', url, '--topic', 'cam/cli', '--duration', '1'], { timeoutMs: 60_000 });
    assert.equal(pub.code, 0, pub.stderr);
    const topics = await runCli(['topics', '--bus', url, '--duration', '0.5', '--json'], { timeoutMs: 60_000 });
    assert.equal(topics.code, 0, topics.stderr);
    const bad = await runCli(['topics', '--bus', url.replace(cluster.password, 'Wr0ngSecretValue'), '--duration', '0.5'], { timeoutMs: 60_000 });
    assert.equal(bad.code, 2);
    for (const out of [pub.stdout, pub.stderr, topics.stdout, topics.stderr, bad.stdout, bad.stderr]) {
      assert.ok(!out.includes(cluster.password) && !out.includes('Wr0ngSecretValue'), out);
    }
    assert.match(pub.stderr, /tls:\/\/framebus:\*\*\*@127\.0\.0\.1/);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /rejected the credentials/);
  });
});

/** A port nothing listens on. */
async function freeClosedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('an outage of the only server', () => {
  test('the publisher drops deltas instead of buffering, and restarts the stream at a key frame made at once', async () => {
    const cluster = await LocalNatsCluster.start({ nodes: 1 });
    const pub = await Bus.open(cluster.url(), { log: quiet, nats: { outageBufferBytes: 64 * 1024 } });
    const sub = await Bus.open(cluster.url(), { log: quiet });
    try {
      const got: VideoPacket[] = [];
      const subscription = sub.video('cam/outage').subscribePackets((p) => void got.push(p));
      await sub.flush();
      let phase = 'up';
      let sentDuringOutage = 0;
      const raw = pub.topic('cmd/raw', twistMessageType);
      let topic: VideoTopic | undefined;
      await publishLive(pub, 'cam/outage', 3.5, {
        onTopic: (v) => (topic = v),
        during: async (t) => {
          if (phase === 'up' && t > 1) {
            phase = 'down';
            await cluster.kill(0);
          } else if (phase === 'down' && t > 2) {
            // Other messages during the outage: bounded by outageBufferBytes, the rest dropped and counted.
            const linear = [0, 0, 0];
            for (let i = 0; i < 2000; i++, sentDuringOutage++) await raw.publish({ timestamp_ns: 0n, linear, angular: linear });
            phase = 'restarting';
            await cluster.restart(0);
            phase = 'after';
          }
        },
      });
      await sleep(300);
      await subscription.unsubscribe();
      const video = topic!.publisherStats;
      assert.ok(pub.stats.droppedFrames >= 10 && pub.stats.droppedFrames === video.dropped, `dropped ${pub.stats.droppedFrames} frames during the outage`);
      assert.ok(pub.stats.reconnects >= 1 && sub.stats.reconnects >= 1);
      const dropped = transportOf(pub).stats.dropped ?? 0;
      assert.ok(dropped > 0 && dropped < sentDuringOutage, `${dropped} of ${sentDuringOutage} messages dropped beyond the outage buffer`);
      // After the outage the subscriber's first packet is a key packet, forced at once (GOP 150 would be 10 s away).
      const resumedAt = got.findIndex((p, i) => i > 0 && p.sequence !== got[i - 1].sequence + 1);
      assert.ok(resumedAt > 0, 'the subscriber saw the gap');
      assert.ok(got[resumedAt].key, 'the stream resumed at a key packet');
      assert.ok(video.forcedKeyframes >= 1);
      assert.equal(subscription.stats.resumed, 1);
      for (let i = resumedAt + 1; i < got.length; i++) assert.equal(got[i].sequence, got[i - 1].sequence + 1);
    } finally {
      await Promise.all([pub.close(), sub.close()]);
      await cluster.stop();
    }
  });
});

describe('NKey and creds (JWT) auth, and a robot on a leaf node', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'framebus-fleet-auth-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function roundTrip(url1: string, url2: string): Promise<number> {
    const a = await Bus.open(url1, { log: quiet });
    const b = await Bus.open(url2, { log: quiet });
    try {
      let n = 0;
      let probes = 0;
      b.topic('cmd', twistMessageType).subscribe(() => n++);
      b.topic('probe', twistMessageType).subscribe(() => probes++);
      await b.flush();
      const zero = [0, 0, 0];
      // The subscriptions reach the other nodes over the cluster's routes a moment after b's
      // server has them: probe until one arrives, then count.
      for (let i = 0; i < 100 && probes === 0; i++) {
        await a.topic('probe', twistMessageType).publish({ timestamp_ns: 1n, linear: zero, angular: zero });
        await a.flush();
        await sleep(50);
      }
      for (let i = 0; i < 5; i++) await a.topic('cmd', twistMessageType).publish({ timestamp_ns: 1n, linear: zero, angular: zero });
      await a.flush();
      for (let i = 0; i < 40 && n < 5; i++) await sleep(25);
      return n;
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }

  test('creds files from an operator, account and user made with @nats-io/jwt; expired and garbage creds are refused', async () => {
    const creds = await makeOperatorCreds(dir);
    const cluster = await LocalNatsCluster.start({ auth: creds.auth });
    try {
      const [p0, , p2] = cluster.ports;
      assert.equal(await roundTrip(`nats://127.0.0.1:${p0}?creds=${creds.credsFile}`, `nats://127.0.0.1:${p2}?creds=${creds.credsFile}`), 5);
      const expired = await failure(`nats://127.0.0.1:${p0}?creds=${creds.expiredCredsFile}`);
      assert.ok(expired instanceof InvalidArgumentError && /expired/.test(expired.message), expired.message);
      const garbage = join(dir, 'garbage.creds');
      await writeFile(garbage, '-----BEGIN NATS USER JWT-----\nnot a jwt\n------END NATS USER JWT------\n');
      assert.match((await failure(`nats://127.0.0.1:${p0}?creds=${garbage}`)).message, /does not hold a user JWT and NKey seed/);
      assert.match((await failure(`nats://127.0.0.1:${p0}?creds=${join(dir, 'missing.creds')}`)).message, /Cannot read the NATS creds file .*ENOENT/);
      assert.match((await failure(`nats://127.0.0.1:${p0}`)).message, /rejected the credentials/);
    } finally {
      await cluster.stop();
    }
  });

  test('an NKey user from @nats-io/nkeys in the authorization block', async () => {
    const user = await makeNkeyUser(dir);
    const cluster = await LocalNatsCluster.start({ auth: user.auth });
    try {
      const [p0, p1] = cluster.ports;
      assert.equal(await roundTrip(`nats://127.0.0.1:${p0}?nkey=${user.seedFile}`, `nats://127.0.0.1:${p1}?nkey=${user.seedFile}`), 5);
      const bad = join(dir, 'bad.nk');
      await writeFile(bad, 'SUnotaseed\n');
      assert.match((await failure(`nats://127.0.0.1:${p0}?nkey=${bad}`)).message, /does not hold an NKey user seed/);
    } finally {
      await cluster.stop();
    }
  });

  test('a robot publishing into a leaf node is recorded in the data centre, under its own prefix', async () => {
    const cluster = await LocalNatsCluster.start({ auth: { kind: 'password' }, leaf: true });
    const robot = await Bus.open(`${cluster.leafUrl}?prefix=fleet.robot7`, { log: quiet });
    const other = await Bus.open(`${cluster.leafUrl}?prefix=fleet.robot8`, { log: quiet });
    const dc = await Bus.open(cluster.url([1], 'prefix=fleet.robot7'), { log: quiet });
    const path = join(dir, 'leaf.mcap');
    try {
      const recorder = await BusRecorder.start(dc, path, { topics: ['cam/front'], log: quiet });
      await dc.flush();
      const [sent] = await Promise.all([publishLive(robot, 'cam/front', 1.5, { gop: 15 }), publishLive(other, 'cam/front', 1.5, { gop: 15 })]);
      await sleep(300);
      const summary = await recorder.stop();
      assert.deepEqual(summary.streams.map((s) => s.name), ['cam/front'], 'robot 8 on the same topic name did not clash with robot 7');
      const stored = summary.streams[0].frames;
      assert.ok(stored >= sent - 2 && stored <= sent, `${stored} of ${sent} frames recorded`);
      const reader = await RecordingReader.open(path);
      let frames = 0;
      for await (const _ of reader.frames('cam/front', { format: 'gray8' })) frames++;
      await reader.close();
      assert.equal(frames, stored);
      assert.ok(!(await readFile(path)).includes(cluster.password), 'the recording holds no secret');
    } finally {
      await Promise.all([robot.close(), other.close(), dc.close()]);
      await cluster.stop();
    }
  });
});
