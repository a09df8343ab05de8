/**
 * The schemas of test/lcm/codec_test_types.lcm and recursive_types.lcm, and fast-check
 * arbitraries for values of every LCM message type the tests exercise.
 */
import fc from 'fast-check';
import type { LcmStruct, LcmMember } from '../../src/wire/lcm-schema.js';
import { lcmMessageType, type LcmMessageType } from '../../src/wire/lcm-struct-codec.js';
import {
  TWIST_STRUCT,
  compressedImageMessageType,
  keyframeRequestMessageType,
  rawImageMessageType,
  twistMessageType,
  videoPacketMessageType,
} from '../../src/wire/messages.js';

export const POSE_STRUCT: LcmStruct = {
  package: 'fbtest',
  name: 'pose_t',
  members: [
    { name: 'position', type: 'double', dimensions: [{ fixed: 3 }] },
    { name: 'quality', type: 'float' },
  ],
};

export const PATH_STRUCT: LcmStruct = {
  package: 'fbtest',
  name: 'path_t',
  members: [
    { name: 'num_poses', type: 'int32_t' },
    { name: 'poses', type: POSE_STRUCT, dimensions: [{ sizeMember: 'num_poses' }] },
    { name: 'label', type: 'string' },
  ],
};

export const SAMPLE_STRUCT: LcmStruct = {
  package: 'fbtest',
  name: 'sample_t',
  members: [
    { name: 'i8', type: 'int8_t' },
    { name: 'i16', type: 'int16_t' },
    { name: 'i32', type: 'int32_t' },
    { name: 'i64', type: 'int64_t' },
    { name: 'f32', type: 'float' },
    { name: 'f64', type: 'double' },
    { name: 'text', type: 'string' },
    { name: 'flag', type: 'boolean' },
    { name: 'octet', type: 'byte' },
    { name: 'rows', type: 'int32_t' },
    { name: 'cols', type: 'int16_t' },
    { name: 'grid', type: 'int16_t', dimensions: [{ sizeMember: 'rows' }, { sizeMember: 'cols' }] },
    { name: 'blob', type: 'byte', dimensions: [{ sizeMember: 'cols' }] },
    { name: 'tiles', type: 'byte', dimensions: [{ sizeMember: 'rows' }, { fixed: 4 }] },
    { name: 'flags', type: 'boolean', dimensions: [{ sizeMember: 'rows' }] },
    { name: 'names', type: 'string', dimensions: [{ fixed: 2 }] },
    { name: 'stamps', type: 'int64_t', dimensions: [{ fixed: 2 }, { fixed: 3 }] },
    { name: 'origin', type: POSE_STRUCT },
    { name: 'paths', type: PATH_STRUCT, dimensions: [{ fixed: 2 }] },
    { name: 'command', type: TWIST_STRUCT },
  ],
};

/** fbrec.a_t, b_t, c_t: mutually recursive, built by filling member arrays afterwards. */
export function recursiveStructs(): { a: LcmStruct; b: LcmStruct; c: LcmStruct } {
  const aMembers: LcmMember[] = [];
  const bMembers: LcmMember[] = [];
  const cMembers: LcmMember[] = [];
  const a: LcmStruct = { package: 'fbrec', name: 'a_t', members: aMembers };
  const b: LcmStruct = { package: 'fbrec', name: 'b_t', members: bMembers };
  const c: LcmStruct = { package: 'fbrec', name: 'c_t', members: cMembers };
  aMembers.push({ name: 'b', type: b }, { name: 'c', type: c });
  bMembers.push({ name: 'n', type: 'int32_t' }, { name: 'a', type: a, dimensions: [{ sizeMember: 'n' }] });
  cMembers.push({ name: 'b', type: b });
  return { a, b, c };
}

export const poseType = lcmMessageType<unknown>(POSE_STRUCT);
export const pathType = lcmMessageType<unknown>(PATH_STRUCT);
export const sampleType = lcmMessageType<unknown>(SAMPLE_STRUCT);

/** Plain-prototype records, so decoded values compare equal with deepStrictEqual. */
const record = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> =>
  fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;

const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const text = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replaceAll('\0', ''));
const bytes = (maxLength: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });

const pose = record({
  position: fc.array(fc.double(), { minLength: 3, maxLength: 3 }),
  quality: fc.float(),
});
const twist = record({
  timestamp_ns: int64,
  linear: fc.array(fc.double(), { minLength: 3, maxLength: 3 }),
  angular: fc.array(fc.double(), { minLength: 3, maxLength: 3 }),
});
const path = record({ poses: fc.array(pose, { maxLength: 3 }), label: text });

const sample = fc
  .tuple(fc.nat(3), fc.nat(4))
  .chain(([rows, cols]) =>
    record({
      i8: fc.integer({ min: -128, max: 127 }),
      i16: fc.integer({ min: -32768, max: 32767 }),
      i32: int32,
      i64: int64,
      f32: fc.float(),
      f64: fc.double(),
      text,
      flag: fc.boolean(),
      octet: fc.integer({ min: 0, max: 255 }),
      grid: fc.array(fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: cols, maxLength: cols }), {
        minLength: rows,
        maxLength: rows,
      }),
      blob: fc.uint8Array({ minLength: cols, maxLength: cols }),
      tiles: fc.array(fc.uint8Array({ minLength: 4, maxLength: 4 }), { minLength: rows, maxLength: rows }),
      flags: fc.array(fc.boolean(), { minLength: rows, maxLength: rows }),
      names: fc.array(text, { minLength: 2, maxLength: 2 }),
      stamps: fc.array(fc.array(int64, { minLength: 3, maxLength: 3 }), { minLength: 2, maxLength: 2 }),
      origin: pose,
      paths: fc.array(path, { minLength: 2, maxLength: 2 }),
      command: twist,
    }),
  );

/** Every message type under test with an arbitrary of its values. */
export const TYPES_UNDER_TEST: { type: LcmMessageType<unknown>; value: fc.Arbitrary<unknown> }[] = [
  {
    type: videoPacketMessageType,
    value: record({
      codec: fc.constantFrom('h264', 'h265', 'av1', 'vp9', ''),
      key: fc.boolean(),
      sequence: int64,
      timestamp_ns: int64,
      frame_id: int64,
      width: int32,
      height: int32,
      data: bytes(300),
    }),
  },
  {
    type: compressedImageMessageType,
    value: record({
      timestamp_ns: int64,
      frame_id: int64,
      format: text,
      width: int32,
      height: int32,
      data: bytes(300),
    }),
  },
  {
    type: rawImageMessageType,
    value: record({
      timestamp_ns: int64,
      frame_id: int64,
      width: int32,
      height: int32,
      encoding: text,
      step: int32,
      data: bytes(300),
    }),
  },
  {
    type: keyframeRequestMessageType,
    value: record({
      timestamp_ns: int64,
      topic: text,
      requester: text,
      reason: text,
      last_sequence: int64,
    }),
  },
  { type: twistMessageType, value: twist },
  { type: poseType, value: pose },
  { type: pathType, value: path },
  { type: sampleType, value: sample },
] as { type: LcmMessageType<unknown>; value: fc.Arbitrary<unknown> }[];
