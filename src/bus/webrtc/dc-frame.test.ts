import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { channelBytes, decodeFrame, encodeBatch, encodeControl, encodeFragment, encodeMessage, FrameKind } from './dc-frame.js';

/** Any single frame framebus sends (kinds 0–5). */
const innerFrame = fc.oneof(
  fc.tuple(fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 300 })).map(([c, p]) => encodeMessage(channelBytes(c), p)),
  fc
    .tuple(fc.string({ maxLength: 20 }), fc.nat(), fc.nat(9), fc.nat(10), fc.nat(2 ** 24), fc.nat(2 ** 25), fc.uint8Array({ maxLength: 200 }))
    .map(([c, messageId, index, count, offset, total, chunk]) => encodeFragment(channelBytes(c), { messageId, index, count, offset, total }, chunk)),
  fc.tuple(fc.constantFrom('subscribe', 'unsubscribe', 'ping', 'pong') as fc.Arbitrary<'subscribe' | 'unsubscribe' | 'ping' | 'pong'>, fc.nat(), fc.string({ maxLength: 30 })).map(([k, id, p]) => encodeControl(k, id, p)),
);

const batchOf = (frames: Uint8Array[]) => encodeBatch(frames, frames.reduce((n, f) => n + f.byteLength, 0));

test('a batch decodes to exactly its frames, in order, each as it decodes alone (property)', () => {
  fc.assert(
    fc.property(fc.array(innerFrame, { minLength: 1, maxLength: 40 }), (frames) => {
      const decoded = decodeFrame(batchOf(frames));
      assert.ok(decoded?.kind === 'batch');
      assert.deepEqual(decoded.frames, frames.map((f) => decodeFrame(f)));
    }),
    { numRuns: 300 },
  );
});

test('a batch with lengths past its end, a wrong count, trailing bytes, an empty or nested frame, or a garbage frame is rejected whole; decoding never throws (property)', () => {
  const corrupt = fc.oneof(
    // Cut anywhere inside: a length runs past the end, or fewer frames than counted.
    fc.tuple(fc.array(innerFrame, { minLength: 1, maxLength: 8 }), fc.nat()).map(([fs, cut]) => {
      const b = batchOf(fs);
      return b.subarray(0, 1 + (cut % (b.byteLength - 1)));
    }),
    // The count says one more or one less than there are (a count of 0 included).
    fc.tuple(fc.array(innerFrame, { minLength: 1, maxLength: 8 }), fc.boolean()).map(([fs, more]) => {
      const b = batchOf(fs);
      const count = fs.length + (more ? 1 : -1);
      b[1] = count >> 8;
      b[2] = count & 0xff;
      return b;
    }),
    // Bytes after the last frame.
    fc.tuple(fc.array(innerFrame, { minLength: 1, maxLength: 8 }), fc.uint8Array({ minLength: 1, maxLength: 3 })).map(([fs, tail]) => Uint8Array.from([...batchOf(fs), ...tail])),
    // A batch inside a batch.
    fc.tuple(fc.array(innerFrame, { maxLength: 4 }), fc.array(innerFrame, { minLength: 1, maxLength: 4 })).map(([before, inner]) => batchOf([...before, batchOf(inner)])),
    // An empty frame, or a frame of an unknown kind.
    fc.tuple(fc.array(innerFrame, { maxLength: 4 }), fc.integer({ min: 7, max: 255 }), fc.boolean()).map(([fs, kind, empty]) => batchOf([...fs, empty ? new Uint8Array(0) : Uint8Array.of(kind, 0, 0, 0, 0)])),
  );
  assert.equal(decodeFrame(Uint8Array.of(FrameKind.batch, 0, 0)), undefined, 'an empty batch');
  fc.assert(
    fc.property(corrupt, (data) => {
      assert.equal(decodeFrame(data), undefined);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (data) => {
      data[0] = FrameKind.batch;
      const frame = decodeFrame(data);
      if (frame) assert.equal(frame.kind, 'batch');
    }),
    { numRuns: 500 },
  );
});
