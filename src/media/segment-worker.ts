/**
 * Entry of the packaging worker thread of a `SegmentStreamer`: one `SegmentPackager` fed,
 * strictly one after another, by the commands the producer's thread posts and the frames and
 * PCM it writes to the shared ring, merged back into the order they were handed over.
 */
import { parentPort } from 'node:worker_threads';
import { FrameRing } from './frame-ring.js';
import { RECORD_AUDIO } from './segment-channel.js';
import { SegmentPackager } from './segment-packager.js';
import { lowerThreadPriority } from './thread-priority.js';
import type { WorkerCommand, WorkerEnvelope, WorkerReply } from './segment-types.js';

const port = parentPort;
if (!port) throw new Error('segment-worker runs only as a worker thread.');

// The producer (a generator) comes first when the CPU is short, and at once when it wakes; the
// packager catches up. A backlog holds the producer back (`maxQueued`), so it is never starved.
lowerThreadPriority(10, { idle: true });
const reply = (message: WorkerReply, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer ?? []);
const inbox: WorkerEnvelope[] = [];
let received = 0;
let arrived: () => void = () => {};
let packager: Promise<SegmentPackager> | undefined;
let ring: FrameRing | undefined;
/** Ring records taken so far. */
let taken = 0;
/** Between a segment's begin and end: only then may ring records arrive without a message first. */
let inSegment = false;
/** The segment the ring's records belong to. */
let segment = -1;
let failed = false;
let closed = false;

port.on('message', (envelope: WorkerEnvelope) => {
  received++;
  inbox.push(envelope);
  arrived();
});

/** Handles one command; a failure stops all further handling (the producer is told once). */
async function run(command: WorkerCommand): Promise<void> {
  if (failed) return;
  try {
    if (command.type === 'open') {
      packager = SegmentPackager.open(command.options, reply);
      await packager;
      reply({ type: 'ready' });
      return;
    }
    const p = await packager!;
    if (!(await p.handle(command))) failed = true;
  } catch (error) {
    // An encoder that does not open: handle() reports its own failures.
    const e = error as { message?: string; code?: string };
    reply({ type: 'error', segment: -1, message: e?.message ?? String(error), code: e?.code ?? 'packaging' });
    failed = true;
    void packager?.then((p) => p.close()).catch(() => {});
  }
}

/** Ring record `taken` as a command: the packager copies a frame's pixels before `handle` returns; PCM is kept, so it is copied out. */
function recordCommand(r: FrameRing): WorkerCommand {
  const { offset, bytes, tag } = r.read(taken);
  if (tag === RECORD_AUDIO) return { type: 'audio', segment, samples: new Float32Array(r.bytes.slice(offset, offset + bytes).buffer) };
  const { width, height, format } = r.shape;
  return { type: 'frame', segment, width, height, format, data: r.bytes.subarray(offset, offset + bytes) };
}

async function loop(): Promise<void> {
  while (!closed) {
    const head = inbox[0];
    if (head && head.after <= taken) {
      inbox.shift();
      const { command } = head;
      if (command.type === 'ring') {
        ring = new FrameRing(command.ring);
        ring.prefault();
      }
      else if (command.type === 'close') {
        if (failed) continue;
        closed = true;
        (await packager!).close();
        reply({ type: 'closed' });
        port!.close();
      } else {
        if (command.type === 'begin') {
          inSegment = true;
          segment = command.segment;
        }
        if (command.type === 'end' || command.type === 'discard') inSegment = false;
        await run(command);
      }
      continue;
    }
    // A record is next when every message posted before it has arrived (and come first).
    if (ring && taken < ring.written && ring.read(taken).frameId <= received) {
      await run(recordCommand(ring));
      ring.release(++taken);
      continue;
    }
    const message = new Promise<void>((resolve) => (arrived = resolve));
    await (ring && inSegment ? Promise.race([message, ring.pause(ring.written)]) : message);
  }
}

void loop();
