import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError, MalformedDataError } from '../core/errors.js';
import { SAMPLE_STRUCT, TYPES_UNDER_TEST, recursiveStructs, sampleType } from '../../test/lcm/codec-test-types.js';
import { runInterop } from '../../test/lcm/liblcm.js';
import { lcmMessageType } from './lcm-struct-codec.js';
import { peekFingerprint } from './message-type.js';
import {
  twistMessageType,
  videoPacketMessageType,
  type TwistMessage,
  type VideoPacketMessage,
} from './messages.js';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const packet: VideoPacketMessage = {
  codec: 'h264',
  key: true,
  sequence: 7n,
  timestamp_ns: 1_700_000_000_123_456_789n,
  frame_id: -2n,
  width: 1920,
  height: 1080,
  data: Uint8Array.of(0, 0, 0, 1, 0x67, 0xff),
};

test('video_packet_t encodes byte for byte as the LCM specification lays it out', () => {
  const bytes = videoPacketMessageType.encode(packet);
  const expected = Buffer.concat([
    Buffer.from(videoPacketMessageType.fingerprint.toString(16).padStart(16, '0'), 'hex'),
    Buffer.from('00000005', 'hex'), // string length counts the NUL
    Buffer.from('h264\0', 'latin1'),
    Buffer.from('01', 'hex'), // boolean as one byte
    Buffer.from('0000000000000007', 'hex'),
    Buffer.from('17979cfe3d85cd15', 'hex'), // 1_700_000_000_123_456_789 big-endian
    Buffer.from('fffffffffffffffe', 'hex'), // -2 in two's complement
    Buffer.from('0000078000000438', 'hex'), // 1920, 1080
    Buffer.from('00000006', 'hex'), // data_size
    Buffer.from('0000000167ff', 'hex'),
  ]);
  assert.equal(toHex(bytes), expected.toString('hex'));
  assert.equal(peekFingerprint(bytes), videoPacketMessageType.fingerprint);
  assert.deepEqual(videoPacketMessageType.decode(bytes), packet);
});

test('random messages of every type survive liblcm: lcm-gen’s C decodes ours and re-encodes the same bytes', async () => {
  const cases: { name: string; value: unknown; bytes: Uint8Array }[] = [];
  for (const { type, value } of TYPES_UNDER_TEST) {
    for (const v of fc.sample(value, { numRuns: 150, seed: 42 })) cases.push({ name: type.name, value: v, bytes: type.encode(v) });
  }
  const out = (await runInterop(['roundtrip'], cases.map((c) => `${c.name} ${toHex(c.bytes)}\n`).join(''))).split('\n');
  cases.forEach((c, i) => {
    assert.equal(out[i], toHex(c.bytes), `${c.name} #${i}`);
    const type = TYPES_UNDER_TEST.find((t) => t.type.name === c.name)!.type;
    assert.deepEqual(type.decode(new Uint8Array(Buffer.from(out[i], 'hex'))), c.value);
  });
});

test('1,000 random messages of every type round-trip through encode and decode', () => {
  for (const { type, value } of TYPES_UNDER_TEST) {
    fc.assert(
      fc.property(value, (v) => {
        assert.deepEqual(type.decode(type.encode(v)), v);
      }),
      { numRuns: 1000 },
    );
  }
});

/** Flips, truncates, extends or overwrites 4 bytes with a large number. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('int32' as const), at: fc.nat(), value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const out = new Uint8Array(bytes);
  switch (m.kind) {
    case 'flip':
      out[m.at % out.length] ^= m.bits;
      return out;
    case 'truncate':
      return out.subarray(0, m.at % out.length);
    case 'append':
      return Uint8Array.from([...out, ...m.extra]);
    case 'int32':
      if (out.length >= 4) new DataView(out.buffer).setInt32(m.at % (out.length - 3), m.value);
      return out;
  }
}

test('mutated encodings of every type either decode or throw MalformedDataError, never anything else', () => {
  for (const { type, value } of TYPES_UNDER_TEST) {
    fc.assert(
      fc.property(value, fc.array(mutation, { minLength: 1, maxLength: 3 }), (v, ms) => {
        const bytes = ms.reduce((b, m) => mutate(b, m), type.encode(v));
        try {
          type.decode(bytes);
        } catch (error) {
          assert.ok(error instanceof MalformedDataError, `${type.name}: ${String(error)}`);
        }
      }),
      { numRuns: 1000 },
    );
  }
});

test('a length field larger than the bytes left is refused before allocating', () => {
  const bytes = videoPacketMessageType.encode(packet);
  const view = new DataView(bytes.buffer);
  view.setInt32(bytes.length - 6 - 4, 0x7fffffff);
  assert.throws(() => videoPacketMessageType.decode(bytes), {
    name: 'MalformedDataError',
    message: /framebus\.video_packet_t\.data.*needs at least 2147483647 bytes but only 6 remain/,
  });
  view.setInt32(bytes.length - 6 - 4, -1);
  assert.throws(() => videoPacketMessageType.decode(bytes), { name: 'MalformedDataError', message: /data_size = -1 is out of range/ });
});

test('a huge outer dimension of empty rows is refused too (no billion-element array)', () => {
  const [value] = fc.sample(TYPES_UNDER_TEST.find((t) => t.type === sampleType)!.value, { numRuns: 1, seed: 1 });
  const v = { ...(value as Record<string, unknown>), grid: [], tiles: [], flags: [], blob: new Uint8Array(0) };
  const bytes = sampleType.encode(v);
  // rows is the int32 after i8, i16, i32, i64, f32, f64, text, flag, octet.
  const textLength = new DataView(bytes.buffer).getInt32(8 + 1 + 2 + 4 + 8 + 4 + 8);
  const rowsAt = 8 + 1 + 2 + 4 + 8 + 4 + 8 + 4 + textLength + 1 + 1;
  new DataView(bytes.buffer).setInt32(rowsAt, 2_000_000_000);
  assert.throws(() => sampleType.decode(bytes), { name: 'MalformedDataError', message: /fbtest\.sample_t\.grid\[rows=2000000000\]\[cols=0\]/ });
});

test('wrong fingerprint, short input and trailing bytes are MalformedDataErrors that say so', () => {
  const twist: TwistMessage = { timestamp_ns: 1n, linear: [1, 2, 3], angular: [0, 0, 0.5] };
  const bytes = twistMessageType.encode(twist);
  const expected = twistMessageType.fingerprint.toString(16).padStart(16, '0');
  const other = videoPacketMessageType.fingerprint.toString(16).padStart(16, '0');
  assert.throws(() => twistMessageType.decode(videoPacketMessageType.encode(packet)), {
    name: 'MalformedDataError',
    message: `Not a framebus.twist_t: fingerprint expected 0x${expected}, got 0x${other}.`,
  });
  assert.throws(() => twistMessageType.decode(bytes.subarray(0, 5)), { name: 'MalformedDataError', message: /fingerprint needs 8 bytes/ });
  assert.throws(() => twistMessageType.decode(bytes.subarray(0, bytes.length - 1)), {
    name: 'MalformedDataError',
    message: 'framebus.twist_t: framebus.twist_t.angular[3] needs at least 24 bytes but only 23 remain.',
  });
  assert.throws(() => twistMessageType.decode(Uint8Array.from([...bytes, 0])), {
    name: 'MalformedDataError',
    message: /1 unexpected bytes after the end/,
  });
});

test('strings must be NUL-terminated and count their terminator', () => {
  const bytes = videoPacketMessageType.encode(packet);
  bytes[8 + 4 + 4] = 0x41; // the NUL after "h264"
  assert.throws(() => videoPacketMessageType.decode(bytes), { name: 'MalformedDataError', message: /codec is not NUL-terminated/ });
  new DataView(bytes.buffer).setInt32(8, 0);
  assert.throws(() => videoPacketMessageType.decode(bytes), { name: 'MalformedDataError', message: /codec length 0 is less than 1/ });
});

test('encoding refuses values the wire cannot carry, naming the field', () => {
  const cases: [unknown, RegExp][] = [
    [{ ...packet, width: 2 ** 31 }, /video_packet_t\.width must be an integer in \[-2147483648, 2147483647\]/],
    [{ ...packet, sequence: 1 }, /video_packet_t\.sequence must be a bigint/],
    [{ ...packet, sequence: 1n << 63n }, /video_packet_t\.sequence must be a bigint in the int64 range/],
    [{ ...packet, codec: 'h2\0' }, /video_packet_t\.codec must not contain a NUL/],
    [{ ...packet, key: 1 }, /video_packet_t\.key must be a boolean/],
    [{ ...packet, data: 'abc' }, /video_packet_t\.data must be an array/],
    [null, /video_packet_t must be an object/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => videoPacketMessageType.encode(value as VideoPacketMessage), { name: 'InvalidArgumentError', message });
  }
  assert.throws(() => twistMessageType.encode({ timestamp_ns: 0n, linear: [1, 2], angular: [0, 0, 0] }), {
    name: 'InvalidArgumentError',
    message: /twist_t\.linear must have 3 elements/,
  });
  const sample = fc.sample(TYPES_UNDER_TEST.find((t) => t.type === sampleType)!.value, { numRuns: 1, seed: 3 })[0] as Record<string, unknown>;
  assert.throws(() => sampleType.encode({ ...sample, blob: new Uint8Array(9) }), {
    name: 'InvalidArgumentError',
    message: /(blob|grid) has \d+ elements in dimension \d, but cols is already \d+ from another array/,
  });
});

test('schemas lcm-gen would reject are refused', () => {
  assert.throws(() => lcmMessageType({ package: 'p', name: 'x_t', members: [{ name: 'a', type: 'byte', dimensions: [{ sizeMember: 'n' }] }] }), InvalidArgumentError);
  assert.throws(() => lcmMessageType({ package: 'p', name: 'x_t', members: [{ name: 'a', type: 'int32_t' }, { name: 'a', type: 'int8_t' }] }), InvalidArgumentError);
  assert.throws(() => lcmMessageType({ package: 'p', name: 'x t', members: [] }), InvalidArgumentError);
  assert.ok(lcmMessageType(SAMPLE_STRUCT));
});

test('a recursive schema decodes hostile deep nesting as MalformedDataError, not a stack overflow', () => {
  const { b } = recursiveStructs();
  const type = lcmMessageType<unknown>(b);
  // b_t { n = 1; a_t { b_t { n = 1; a_t { ... } } c_t { b_t ... } } }: each level is 4 bytes.
  const bytes = new Uint8Array(8 + 4 * 100_000);
  new DataView(bytes.buffer).setBigUint64(0, type.fingerprint);
  for (let i = 8; i < bytes.length; i += 4) new DataView(bytes.buffer).setInt32(i, 1);
  assert.throws(() => type.decode(bytes), { name: 'MalformedDataError', message: /nests deeper than 64 levels/ });
});
