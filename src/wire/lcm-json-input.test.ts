import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lcmValueToJson } from './lcm-json.js';
import { lcmValueFromJson } from './lcm-json-input.js';
import { lcmTypesFromSources } from './lcm-types.js';

const types = lcmTypesFromSources([
  {
    file: 'j.lcm',
    text: `package j;
      struct inner_t { int64_t stamp; byte raw[2][2]; }
      struct msg_t {
        int8_t i8; int32_t n; float f; double d[n]; int64_t big; boolean ok; string s;
        int16_t k; byte data[k]; inner_t inner[n]; }`,
  },
]);
const msg = types.get('j.msg_t');
const good = {
  i8: 1,
  f: 0.25,
  d: [1, 'Infinity'],
  big: '-9223372036854775808',
  ok: false,
  s: 'x',
  data: 'AQI=',
  inner: [
    { stamp: 5, raw: ['AAE=', [2, 3]] },
    { stamp: '6', raw: ['AAA=', 'AAA='] },
  ],
};

test('JSON in the documented form becomes a value that encodes, and round-trips through lcmValueToJson', () => {
  const value = lcmValueFromJson(msg.struct, good);
  assert.equal(value.big, -(1n << 63n));
  assert.deepEqual(value.data, new Uint8Array([1, 2]));
  assert.deepEqual(msg.decode(msg.encode(value)), value);
  const json = lcmValueToJson(msg.decode(msg.encode(value)));
  assert.deepEqual(lcmValueFromJson(msg.struct, json), value);
  assert.deepEqual((json as { d: unknown[] }).d, [1, 'Infinity']);
});

test('JSON that does not fit names the first field at fault', () => {
  const cases: [object, RegExp][] = [
    [{ ...good, i8: 128 }, /^msg_t\.i8: expected an integer from -128 to 127 \(int8_t\), got 128\.$/],
    [{ ...good, i8: 1.5 }, /^msg_t\.i8: expected an integer/],
    [{ ...good, big: 2 ** 60 }, /^msg_t\.big: expected an int64_t: a decimal string/],
    [{ ...good, big: '9223372036854775808' }, /^msg_t\.big: expected an int64_t/],
    [{ ...good, f: 1e39 }, /^msg_t\.f: expected a number within the float range/],
    [{ ...good, ok: 'yes' }, /^msg_t\.ok: expected true or false, got "yes"\./],
    [{ ...good, s: 7 }, /^msg_t\.s: expected a string, got 7\./],
    [{ ...good, d: [1] }, /^msg_t\.inner: has 2 elements, but another array sized by n has 1\./],
    [{ ...good, data: 'not base64!' }, /^msg_t\.data: expected bytes as a base64 string/],
    [{ ...good, data: [1, 256] }, /^msg_t\.data\[1\]: expected an integer from 0 to 255/],
    [{ ...good, inner: [{ stamp: 1, raw: ['AAE='] }, good.inner[1]] }, /^msg_t\.inner\[0\]\.raw: expected 2 elements, got 1\./],
    [{ ...good, extra: 1 }, /^msg_t\.extra: j\.msg_t has no member extra; its members are i8, f, d, big, ok, s, data, inner\./],
    [{ ...good, s: undefined }, /^msg_t\.s: missing \(string\)\./],
    [{ ...good, n: 3 }, /^msg_t\.n: is 3, but the arrays it sizes have 2 elements/],
    [[1, 2], /^msg_t: expected an object \(j\.msg_t\)/],
  ];
  for (const [json, message] of cases) {
    const input = JSON.parse(JSON.stringify(json)) as unknown;
    assert.throws(() => lcmValueFromJson(msg.struct, input), { name: 'InvalidArgumentError', message }, JSON.stringify(json));
  }
  // A length member given right is accepted.
  assert.doesNotThrow(() => lcmValueFromJson(msg.struct, { ...good, n: 2, k: 2 }));
});

test('a type name that does not exist lists the loaded types', () => {
  assert.throws(() => types.get('j.nope_t'), { name: 'NotFoundError', message: /No LCM type "j\.nope_t"; the loaded types are: j\.inner_t, j\.msg_t\./ });
  assert.equal(types.get('msg_t'), msg);
});
