/**
 * Types loaded from .lcm files against Debian's lcm-gen C output and liblcm: fingerprints,
 * and randomized messages of every feature going C → framebus → C over a real LCM bus.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Bus } from '../../src/bus/bus.js';
import { exactPattern } from '../../src/bus/channel-pattern.js';
import { findLcmFiles, loadLcmTypes, type LcmValue } from '../../src/wire/lcm-types.js';
import { buildLcmProgram, HERE, randomLcmPort, startInterop } from './liblcm.js';

const run = promisify(execFile);
const GROUP = '239.255.76.67';
const TYPES_DIR = path.join(HERE, 'types');
const ROUNDS = 6;

async function program(): Promise<string> {
  return buildLcmProgram(await findLcmFiles([TYPES_DIR]), path.join(HERE, 'types_interop.c'));
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('fingerprints of types loaded from .lcm files are lcm-gen’s, const array lengths included', async () => {
  const types = await loadLcmTypes([TYPES_DIR, path.join(HERE, 'const-dims')]);
  const { stdout } = await run(await program(), ['hashes']);
  const c = stdout.trim().split('\n').map((l) => l.split(' '));
  assert.equal(c.length, 4);
  for (const [name, fingerprint] of c) assert.equal(types.get(name).fingerprint.toString(16).padStart(16, '0'), fingerprint, name);
  // The LCM rule for `double a[N]` with `const int32_t N = 3`: exactly `double a[3]`.
  assert.equal(types.get('fbconst.with_const_t').fingerprint, types.get('fbtypes.with_literal_t').fingerprint);
  const features = types.get('fbtypes.features_t').struct;
  assert.deepEqual(
    features.constants?.map((k) => [k.name, k.type, k.value]),
    [
      ['COUNT', 'int32_t', 3],
      ['MASK', 'int32_t', 31],
      ['LOWEST', 'int8_t', -127],
      ['BIG', 'int64_t', -9000000000n],
      ['SCALE', 'double', 2.5e-3],
      ['HALF', 'float', 0.5],
    ],
  );
});

test('randomized messages of every feature go liblcm → framebus → liblcm unchanged over LCM', async (t) => {
  const types = await loadLcmTypes([TYPES_DIR, path.join(HERE, 'const-dims')]);
  const binary = await program();
  const port = randomLcmPort();
  const bus = await Bus.open(`lcm://${GROUP}:${port}?ttl=0`);
  t.after(() => bus.close());
  const cUrl = `udpm://${GROUP}:${port}?ttl=0`;
  const total = ROUNDS * 4;
  const back = await startInterop(['subscribe', cUrl, 'FB_BACK', String(total), '30000'], binary);
  t.after(() => back.child.kill());
  await back.waitForLine((l) => l === 'ready', 15_000);

  const received: { type: string; bytes: string; value: LcmValue }[] = [];
  const failures: string[] = [];
  const sends: Promise<void>[] = [];
  bus.subscribeRaw(exactPattern('FB_TYPES'), (message) => {
    const bytes = message.payload();
    const type = message.fingerprint === undefined ? undefined : types.byFingerprint(message.fingerprint);
    if (!type) return void failures.push(`unknown fingerprint on FB_TYPES (${bytes.byteLength} bytes)`);
    const value = type.decode(bytes);
    const again = type.encode(value);
    if (hex(again) !== hex(bytes)) failures.push(`${type.name}: re-encoding differs`);
    received.push({ type: type.name, bytes: hex(bytes), value });
    sends.push(bus.topic('FB_BACK', type).publish(value));
  });
  await bus.flush();

  const seed = randomInt(1, 2 ** 47);
  const { stdout } = await run(binary, ['publish', cUrl, 'FB_TYPES', String(ROUNDS), String(seed), '20']);
  const lines = stdout.trim().split('\n');
  const sent = lines.filter((l) => l.startsWith('sent ')).map((l) => l.split(' '));
  assert.equal(sent.length, total);
  const deadline = Date.now() + 10_000;
  while (received.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(failures, [], `seed ${seed}`);
  assert.deepEqual(received.map((r) => [r.type, r.bytes]), sent.map(([, type, bytes]) => [type, bytes]), `seed ${seed}: what framebus received`);

  // framebus decoded the fields liblcm filled in.
  const fields = lines.filter((l) => l.startsWith('fields ')).map((l) => l.split(' '));
  const features = received.filter((r) => r.type === 'fbtypes.features_t').map((r) => r.value);
  assert.equal(features.length, ROUNDS);
  features.forEach((v, i) => {
    const [, i64, i32, rows, cols, n64, text = ''] = fields[i];
    assert.equal(v.i64, BigInt(i64));
    assert.equal(v.i32, Number(i32));
    assert.equal((v.matrix as number[][]).length, Number(rows));
    assert.ok((v.matrix as number[][]).every((row) => row.length === Number(cols)));
    assert.equal((v.grid as number[][][])[1].length, Number(cols));
    assert.equal((v.blob as Uint8Array).byteLength, Number(n64));
    assert.equal(v.text, Buffer.from(text, 'hex').toString('utf8'));
    assert.equal((v.stamps as bigint[]).length, 8, 'stamps[010] is octal 8, as in C');
  });

  // The const-length type is the literal one on the wire.
  const literal = received.find((r) => r.type === 'fbtypes.with_literal_t')!;
  assert.equal(hex(types.get('fbconst.with_const_t').encode(literal.value)), literal.bytes);

  await Promise.all(sends);
  await back.waitForLine(() => back.lines.filter((l) => l.startsWith('got ') || l.startsWith('undecodable')).length >= total, 15_000);
  const got = back.lines.filter((l) => l.startsWith('got ') || l.startsWith('undecodable')).map((l) => l.split(' '));
  assert.deepEqual(got.map(([, type, bytes]) => [type, bytes]), sent.map(([, type, bytes]) => [type, bytes]), `seed ${seed}: what liblcm decoded back`);
});
