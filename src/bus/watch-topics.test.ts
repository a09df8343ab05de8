import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { frameDurationNs } from '../core/time.js';
import { SyntheticSource } from '../source/synthetic-source.js';
import { twistMessageType } from '../wire/messages.js';
import { randomMemoryUrl, waitFor } from '../../test/support/bus-fixtures.js';
import { Bus } from './bus.js';
import { LocalNatsServer } from './nats/local-nats-server.js';
import { watchTopics } from './watch-topics.js';

let nats: LocalNatsServer;
before(async () => {
  nats = await LocalNatsServer.start();
});
after(async () => {
  await nats.stop();
});

for (const kind of ['memory', 'nats'] as const) {
  test(`${kind}: lists every topic and type seen, with counts, rates and type names`, async () => {
    const url = kind === 'memory' ? randomMemoryUrl() : nats.url;
    const [pub, watcherBus] = await Promise.all([Bus.open(url), Bus.open(url)]);
    const watcher = watchTopics(watcherBus, { windowSeconds: 5 });
    await watcherBus.flush();
    const twist = pub.topic('teleop/cmd', twistMessageType);
    for (let i = 0; i < 20; i++) await twist.publish({ timestamp_ns: BigInt(i), linear: [i, 0, 0], angular: [0, 0, 0] });
    const video = pub.video('camera/front');
    const source = new SyntheticSource({ width: 160, height: 120 });
    let videoBytes = 0;
    for (let i = 0; i < 10; i++) for (const p of await video.publishFrame(source.render(i, BigInt(i) * frameDurationNs(30)))) videoBytes += p.data.byteLength;
    await waitFor(() => watcher.snapshot().find((r) => r.topic === 'camera/front')?.messages === 10, 'the video packets');
    const rows = watcher.snapshot();
    const cmd = rows.find((r) => r.topic === 'teleop/cmd')!;
    assert.equal(cmd.typeName, 'framebus.twist_t');
    assert.equal(cmd.fingerprint, twistMessageType.fingerprint);
    assert.equal(cmd.messages, 20);
    assert.equal(cmd.bytes, 20 * twistMessageType.encode({ timestamp_ns: 0n, linear: [0, 0, 0], angular: [0, 0, 0] }).byteLength);
    assert.ok(cmd.messagesPerSecond > 0 && cmd.bytesPerSecond > 0);
    const cam = rows.find((r) => r.topic === 'camera/front')!;
    assert.equal(cam.typeName, 'framebus.video_packet_t');
    assert.ok(cam.bytes > videoBytes, 'bytes count the whole encoded message');
    // Lag: arrival minus the message's own timestamp, here stamped 250 ms in the past.
    await twist.publish({ timestamp_ns: BigInt(Date.now() - 250) * 1_000_000n, linear: [0, 0, 0], angular: [0, 0, 0] });
    await waitFor(() => watcher.snapshot().find((r) => r.topic === 'teleop/cmd')?.messages === 21, 'the lagging command');
    const lag = watcher.snapshot().find((r) => r.topic === 'teleop/cmd')!.lagMs;
    assert.ok(lag !== undefined && lag >= 249 && lag < 10_000, `lag ${lag} ms`);
    assert.deepEqual(
      rows.map((r) => r.topic),
      [...rows.map((r) => r.topic)].sort(),
    );
    watcher.close();
    watcher.close();
    await Promise.all([pub.close(), watcherBus.close()]);
  });
}
