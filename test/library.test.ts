import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as framebus from '../src/index.js';

test('the package entry exposes the README example and it runs: encode once, mux without re-encoding', async () => {
  const { SyntheticSource, VideoEncoder, writeMp4, probeVideo } = framebus;
  const source = new SyntheticSource({ width: 320, height: 240, frames: 45 });
  const encoder = await VideoEncoder.create({ width: 320, height: 240, log: () => {} });
  const packets = [];
  for await (const frame of source) packets.push(...(await encoder.encode(frame)));
  packets.push(...(await encoder.flush()));
  encoder.close();
  const out = join(tmpdir(), `framebus-readme-${process.pid}.mp4`);
  try {
    const summary = await writeMp4(out, packets);
    assert.equal(summary.packets, 45);
    const probe = await probeVideo(out);
    assert.equal(probe.video.frames, 45);
    assert.equal(probe.video.keyframes, 2);
  } finally {
    unlinkSync(out);
  }
  for (const name of ['Bus', 'Recording', 'RecordingReader', 'VideoDecoder', 'exportClip', 'startLiveServer', 'runDemo', 'videoPacketMessageType']) {
    assert.ok(name in framebus, `${name} is exported`);
  }
});
