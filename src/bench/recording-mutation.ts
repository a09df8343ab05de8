import { crc32 } from 'node:zlib';
import { McapStreamReader, type TypedMcapRecord } from '@mcap/core';
import fc from 'fast-check';
import { MalformedDataError } from '../core/errors.js';
import { STREAM_INDEX_METADATA } from '../store/recording-format.js';

/** Where the parts of a well-formed MCAP recording are, in file bytes. */
export interface RecordingLayout {
  readonly size: number;
  /** Each chunk with the message index records after it: [start, end). */
  readonly chunkBlocks: readonly (readonly [number, number])[];
  /** The summary's chunk index records, in chunk order: [start, end). */
  readonly chunkIndexes: readonly (readonly [number, number])[];
  /** Where the summary starts (what its CRC covers, with the footer's first fields). */
  readonly summaryStart: number;
  /** Where the footer record starts. */
  readonly footer: number;
  /** The stream index metadata records: [start, end). */
  readonly streamIndexes: readonly (readonly [number, number])[];
}

/** A field of the summary's chunk index that a mutation may alter. */
export type ChunkIndexField = 'messageStartTime' | 'messageEndTime' | 'chunkStartOffset' | 'chunkLength';
/** A value of a stored stream index that a mutation may alter (one decimal digit of it). */
export type StreamIndexField = 'start' | 'end' | 'frames' | 'keyframe_times' | 'keyframe_sequences';

/**
 * One way to damage a recording. Positions are fractions of the file (0 ≤ x < 1) so one
 * mutation applies to files of any size; chunk numbers are taken modulo the chunk count.
 * `fixSummary` re-seals the summary's CRC after editing it, so readers trust the edit.
 */
export type Mutation =
  | { readonly kind: 'bit-flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'zero-range'; readonly at: number; readonly length: number }
  | { readonly kind: 'swap-chunks'; readonly a: number; readonly b: number; readonly fixSummary: boolean }
  | { readonly kind: 'reverse-chunks'; readonly fixSummary: boolean }
  | { readonly kind: 'chunk-index-field'; readonly chunk: number; readonly field: ChunkIndexField; readonly delta: bigint; readonly fixSummary: boolean }
  | { readonly kind: 'stream-index-field'; readonly field: StreamIndexField; readonly digit: number; readonly value: number };

const CHUNK_INDEX_FIELDS: Record<ChunkIndexField, number> = { messageStartTime: 9, messageEndTime: 17, chunkStartOffset: 25, chunkLength: 33 };
/** In a chunk index record: the byte length of its message index offset map, then (channel u16, offset u64) entries. */
const MESSAGE_INDEX_MAP = 41;
const MESSAGE_INDEX_ENTRY = 10;
/** In the footer record: where its summary CRC is. */
const FOOTER_CRC = 9 + 8 + 8;
const FOOTER_CRC_PREFIX = 9 + 8 + 8;

/**
 * Finds the parts of a well-formed recording by reading it with `@mcap/core`'s stream reader
 * and noting where each top-level record ends.
 * @throws MalformedDataError when the bytes are not a complete MCAP file.
 */
export function recordingLayout(bytes: Uint8Array): RecordingLayout {
  const reader = new McapStreamReader({ includeChunks: true, validateCrcs: true });
  reader.append(bytes);
  const records: { record: TypedMcapRecord; start: number; end: number }[] = [];
  let end = 8;
  for (let r: TypedMcapRecord | undefined; (r = reader.nextRecord()); ) {
    const recordEnd = bytes.length - reader.bytesRemaining();
    if (r.type === 'Footer') records.push({ record: r, start: end, end: bytes.length - 8 });
    else if (recordEnd !== end) records.push({ record: r, start: end, end: recordEnd });
    end = recordEnd;
  }
  if (!reader.done()) throw new MalformedDataError('The recording to mutate is not a complete MCAP file.');
  const chunkBlocks: [number, number][] = [];
  const chunkIndexes: [number, number][] = [];
  const streamIndexes: [number, number][] = [];
  let summaryStart = 0;
  let footer = 0;
  for (const { record, start, end: stop } of records) {
    if (record.type === 'Chunk') chunkBlocks.push([start, stop]);
    else if (record.type === 'MessageIndex' && chunkBlocks.length > 0 && chunkBlocks[chunkBlocks.length - 1][1] === start) chunkBlocks[chunkBlocks.length - 1][1] = stop;
    else if (record.type === 'ChunkIndex') chunkIndexes.push([start, stop]);
    else if (record.type === 'Metadata' && record.name === STREAM_INDEX_METADATA) streamIndexes.push([start, stop]);
    else if (record.type === 'DataEnd') summaryStart = stop;
    else if (record.type === 'Footer') footer = start;
  }
  return { size: bytes.length, chunkBlocks, chunkIndexes, summaryStart, footer, streamIndexes };
}

/** Recomputes the footer's summary CRC so readers accept an edited summary. */
function sealSummary(out: Buffer, layout: RecordingLayout): void {
  const crc = crc32(Buffer.concat([out.subarray(layout.summaryStart, layout.footer), out.subarray(layout.footer, layout.footer + FOOTER_CRC_PREFIX)]));
  out.writeUInt32LE(crc, layout.footer + FOOTER_CRC);
}

/** Rearranges the chunk blocks into `order`, optionally pointing the chunk index at their new places. */
function reorderChunks(bytes: Buffer, layout: RecordingLayout, order: number[], fixSummary: boolean): Buffer {
  const blocks = layout.chunkBlocks;
  if (blocks.length < 2) return Buffer.from(bytes);
  const first = blocks[0][0];
  const last = blocks[blocks.length - 1][1];
  // Bytes between blocks (none in framebus files) stay after the block before them.
  const pieces = blocks.map(([s], i) => bytes.subarray(s, i + 1 < blocks.length ? blocks[i + 1][0] : last));
  const moved = Buffer.concat(order.map((i) => pieces[i]));
  const out = Buffer.concat([bytes.subarray(0, first), moved, bytes.subarray(last)]);
  if (fixSummary && layout.chunkIndexes.length === blocks.length) {
    let at = first;
    const newStart = new Map<number, number>();
    for (const i of order) {
      newStart.set(i, at);
      at += pieces[i].length;
    }
    layout.chunkIndexes.forEach(([s, end], i) => {
      const delta = BigInt(newStart.get(i)! - blocks[i][0]);
      out.writeBigUInt64LE(BigInt.asUintN(64, out.readBigUInt64LE(s + CHUNK_INDEX_FIELDS.chunkStartOffset) + delta), s + CHUNK_INDEX_FIELDS.chunkStartOffset);
      const mapBytes = out.readUInt32LE(s + MESSAGE_INDEX_MAP);
      const mapEnd = Math.min(end, s + MESSAGE_INDEX_MAP + 4 + mapBytes);
      for (let e = s + MESSAGE_INDEX_MAP + 4 + 2; e + 8 <= mapEnd; e += MESSAGE_INDEX_ENTRY) {
        out.writeBigUInt64LE(BigInt.asUintN(64, out.readBigUInt64LE(e) + delta), e);
      }
    });
    sealSummary(out, layout);
  }
  return out;
}

/** Changes one decimal digit of a stored stream index value (lengths stay, so every offset stays right). */
function alterStreamIndex(out: Buffer, layout: RecordingLayout, field: StreamIndexField, digit: number, value: number): void {
  const [start, end] = layout.streamIndexes[0] ?? [0, 0];
  const key = Buffer.from(field);
  const k = out.subarray(start, end).indexOf(key);
  if (k < 0) return;
  const valueStart = start + k + key.length + 4;
  const length = out.readUInt32LE(start + k + key.length);
  const digits: number[] = [];
  for (let i = valueStart; i < valueStart + length; i++) if (out[i] >= 0x30 && out[i] <= 0x39) digits.push(i);
  if (digits.length === 0) return;
  const at = digits[digit % digits.length];
  const next = 0x30 + (value % 10);
  out[at] = next === out[at] ? 0x30 + ((value + 1) % 10) : next;
}

/** Applies `mutation` to a copy of `bytes` (a well-formed recording whose layout is `layout`). */
export function mutateRecording(bytes: Uint8Array, layout: RecordingLayout, mutation: Mutation): Buffer {
  const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const position = (fraction: number) => Math.min(source.length - 1, Math.floor(fraction * source.length));
  switch (mutation.kind) {
    case 'bit-flip': {
      const out = Buffer.from(source);
      out[position(mutation.at)] ^= 1 << mutation.bit;
      return out;
    }
    case 'truncate':
      return Buffer.from(source.subarray(0, position(mutation.at)));
    case 'zero-range': {
      const out = Buffer.from(source);
      const at = position(mutation.at);
      out.fill(0, at, Math.min(out.length, at + mutation.length));
      return out;
    }
    case 'swap-chunks': {
      const n = layout.chunkBlocks.length;
      const order = [...Array(n).keys()];
      const a = mutation.a % n;
      const b = mutation.b % n;
      [order[a], order[b]] = [order[b], order[a]];
      return reorderChunks(source, layout, order, mutation.fixSummary);
    }
    case 'reverse-chunks':
      return reorderChunks(source, layout, [...Array(layout.chunkBlocks.length).keys()].reverse(), mutation.fixSummary);
    case 'chunk-index-field': {
      const out = Buffer.from(source);
      const record = layout.chunkIndexes[mutation.chunk % Math.max(1, layout.chunkIndexes.length)];
      if (!record) return out;
      const at = record[0] + CHUNK_INDEX_FIELDS[mutation.field];
      out.writeBigUInt64LE(BigInt.asUintN(64, out.readBigUInt64LE(at) + mutation.delta), at);
      if (mutation.fixSummary) sealSummary(out, layout);
      return out;
    }
    case 'stream-index-field': {
      const out = Buffer.from(source);
      alterStreamIndex(out, layout, mutation.field, mutation.digit, mutation.value);
      return out;
    }
  }
}

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** Every kind of mutation, with positions and values drawn by fast-check. */
export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('bit-flip' as const), at: fraction, bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fraction }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('zero-range' as const), at: fraction, length: fc.integer({ min: 1, max: 4096 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('swap-chunks' as const), a: fc.nat(63), b: fc.nat(63), fixSummary: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reverse-chunks' as const), fixSummary: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('chunk-index-field' as const),
      chunk: fc.nat(63),
      field: fc.constantFrom<ChunkIndexField>('messageStartTime', 'messageEndTime', 'chunkStartOffset', 'chunkLength'),
      delta: fc.oneof(fc.bigInt({ min: -5_000_000_000n, max: 5_000_000_000n }), fc.bigInt({ min: -100n, max: 100n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
      fixSummary: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('stream-index-field' as const),
      field: fc.constantFrom<StreamIndexField>('start', 'end', 'frames', 'keyframe_times', 'keyframe_sequences'),
      digit: fc.nat(30),
      value: fc.nat(9),
    }),
  },
);

/**
 * One to three mutations, applied in turn with a truncation last (the others keep the file's
 * size, so the original layout still names bytes inside it).
 */
export const mutationsArbitrary: fc.Arbitrary<Mutation[]> = fc
  .array(mutationArbitrary, { minLength: 1, maxLength: 3 })
  .map((list) => [...list.filter((m) => m.kind !== 'truncate'), ...list.filter((m) => m.kind === 'truncate').slice(0, 1)]);

/** Applies `mutations` in turn to a copy of `bytes`. */
export function mutateRecordingAll(bytes: Uint8Array, layout: RecordingLayout, mutations: readonly Mutation[]): Buffer {
  let out: Buffer = Buffer.from(bytes);
  for (const m of mutations) out = mutateRecording(out, layout, m);
  return out;
}

/** A mutation as plain JSON (bigints as strings), for reports. */
export function describeMutation(m: Mutation): Record<string, unknown> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]));
}
