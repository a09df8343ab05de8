/**
 * Entry of the packaging worker thread of a `SegmentStreamer`: one `SegmentPackager` fed by
 * the commands the producer's thread posts, handled strictly one after another.
 */
import { parentPort } from 'node:worker_threads';
import { SegmentPackager } from './segment-packager.js';
import type { WorkerCommand, WorkerReply } from './segment-types.js';

const port = parentPort;
if (!port) throw new Error('segment-worker runs only as a worker thread.');

const reply = (message: WorkerReply, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer ?? []);
let packager: Promise<SegmentPackager> | undefined;
let chain: Promise<unknown> = Promise.resolve();
let failed = false;

port.on('message', (command: WorkerCommand) => {
  chain = chain.then(async () => {
    if (failed) return;
    if (command.type === 'open') {
      packager = SegmentPackager.open(command.options, reply);
      await packager;
      reply({ type: 'ready' });
      return;
    }
    const p = await packager!;
    if (command.type === 'close') {
      p.close();
      reply({ type: 'closed' });
      port.close();
      return;
    }
    if (!(await p.handle(command))) failed = true;
  }).catch((error: unknown) => {
    // An encoder that does not open: handle() reports its own failures.
    const e = error as { message?: string; code?: string };
    reply({ type: 'error', segment: -1, message: e?.message ?? String(error), code: e?.code ?? 'packaging' });
    failed = true;
    void packager?.then((p) => p.close()).catch(() => {});
  });
});
