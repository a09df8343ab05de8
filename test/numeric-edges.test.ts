import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Bus } from '../src/bus/bus.js';
import { VideoEncoder } from '../src/codec/video-encoder.js';
import { InvalidArgumentError } from '../src/core/errors.js';
import { frameDurationNs, secondsToNs } from '../src/core/time.js';
import { exportClip } from '../src/media/export.js';
import { SyntheticSource } from '../src/source/synthetic-source.js';
import { recordBus } from '../src/store/bus-recorder.js';
import { extractFrames } from '../src/store/extract-frames.js';
import { playRecording } from '../src/store/play-recording.js';
import { recordSource } from '../src/store/record-source.js';
import { recordSynthetic, tempDir } from './store/fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
let recording: string;
before(async () => {
  ({ dir, cleanup } = await tempDir('framebus-numbers-'));
  recording = join(dir, 'a.mcap');
  await recordSynthetic(recording, { frames: 30, width: 160, height: 120 });
});
after(() => cleanup());

/** An InvalidArgumentError whose message states the accepted range. */
function outOfRange(range: RegExp) {
  return (e: Error) => e instanceof InvalidArgumentError && range.test(e.message);
}

test('time and rate conversions refuse numbers BigInt cannot hold, with the range', () => {
  assert.throws(() => secondsToNs(1e300), outOfRange(/from -18446744073 to 18446744073/));
  assert.throws(() => secondsToNs(-1e300), outOfRange(/from -18446744073 to 18446744073/));
  assert.throws(() => frameDurationNs(1e-300), outOfRange(/from 0\.001 to 1000/));
  assert.throws(() => new SyntheticSource({ fps: 1e-300 }), outOfRange(/from 0\.001 to 1000/));
  assert.equal(secondsToNs(1.5), 1_500_000_000n);
});

test('library entry points refuse out-of-range numbers with InvalidArgumentError, writing nothing', async () => {
  await assert.rejects(VideoEncoder.create({ width: 160, height: 120, fps: 1e-300 }), outOfRange(/from 0\.001 to 1000/));
  await assert.rejects(exportClip(recording, join(dir, 'x.mp4'), { start: 1e300 }), outOfRange(/18446744073/));
  await assert.rejects(exportClip(recording, join(dir, 'x.mp4'), { end: 1e300 }), outOfRange(/18446744073/));
  await assert.rejects(extractFrames(recording, 'camera', [1e300], join(dir, 'f')), outOfRange(/18446744073/));
  await assert.rejects(extractFrames(recording, 'camera', [1], join(dir, 'f'), { tolerance: 1e300 }), outOfRange(/18446744073/));
  await assert.rejects(recordSource(new SyntheticSource({ frames: 5 }), join(dir, 'r.mcap'), { duration: 1e300 }), outOfRange(/18446744073/));
  const bus = await Bus.open('memory:numbers');
  try {
    await assert.rejects(playRecording(recording, bus, { speed: 1e-300 }), outOfRange(/from 0\.001 to 1000/));
    await assert.rejects(recordBus(bus, join(dir, 'b.mcap'), { topics: ['camera'], duration: 1e300 }), outOfRange(/≤ 2147483\.647/));
  } finally {
    await bus.close();
  }
  for (const name of ['x.mp4', 'f', 'r.mcap', 'b.mcap']) assert.equal(existsSync(join(dir, name)), false, `${name} was written`);
});
