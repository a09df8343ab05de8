/**
 * Child process of the recover memory test (run with --expose-gc): salvages argv[2] and prints,
 * as JSON, the array buffer bytes held by what the salvage returned (after a full collection,
 * less the same before it), then recovers it into argv[3] and adds the summary's message count.
 */
import { salvageMcap } from '../../src/store/mcap-salvage.js';
import { recover } from '../../src/store/recover.js';

const expose = (globalThis as { gc?: () => void }).gc;
if (!expose) throw new Error('run with --expose-gc');
/** A full collection, twice with a turn between: array buffers are freed by a sweeper that runs after it. */
const gc = async () => {
  expose();
  await new Promise((resolve) => setImmediate(resolve));
  expose();
};
await gc();
const before = process.memoryUsage();
const salvage = await salvageMcap(process.argv[2]);
await gc();
const held = process.memoryUsage();
const found = salvage.messages.length;
await salvage.close();
const summary = await recover(process.argv[2], { output: process.argv[3] });
process.stdout.write(`${JSON.stringify({ heldArrayBuffers: held.arrayBuffers - before.arrayBuffers, found, messages: summary.messages })}\n`);
