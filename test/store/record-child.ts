/**
 * A recorder to kill: records the realtime synthetic scene into argv[2] with a flush interval
 * of argv[3] seconds, printing `ready <partial file>` (where the file is while written), then
 * `<frameId> <ms since epoch>` once each frame is handed to the recording, until it is killed.
 */
import { Recording } from '../../src/store/recording.js';
import { SyntheticSource } from '../../src/source/synthetic-source.js';

const [path, interval] = process.argv.slice(2);
const recording = await Recording.create(path, { flushInterval: Number(interval) });
const stream = recording.addStream('camera', { encoder: { gop: 15 } });
process.stdout.write(`ready ${recording.writingPath}\n`);
for await (const frame of new SyntheticSource({ width: 160, height: 120, fps: 30, realtime: true })) {
  await stream.writeFrame(frame);
  process.stdout.write(`${frame.frameId} ${Date.now()}\n`);
}
