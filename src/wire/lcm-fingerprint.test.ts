import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { POSE_STRUCT, PATH_STRUCT, SAMPLE_STRUCT, recursiveStructs } from '../../test/lcm/codec-test-types.js';
import { HERE, runInterop } from '../../test/lcm/liblcm.js';
import { lcmBaseHash, lcmFingerprint } from './lcm-fingerprint.js';
import { lcmQualifiedName, type LcmStruct } from './lcm-schema.js';
import {
  COMPRESSED_IMAGE_STRUCT,
  FRAMEBUS_MESSAGE_TYPES,
  KEYFRAME_REQUEST_STRUCT,
  RAW_IMAGE_STRUCT,
  TWIST_STRUCT,
  VIDEO_PACKET_STRUCT,
} from './messages.js';

const run = promisify(execFile);
const hex = (v: bigint): string => v.toString(16).padStart(16, '0');

test('fingerprints equal those in the C code lcm-gen generates from the .lcm files', async () => {
  const out = await runInterop(['hashes']);
  const fromC = new Map(out.trim().split('\n').map((l) => l.split(' ') as [string, string]));
  const structs: LcmStruct[] = [
    VIDEO_PACKET_STRUCT,
    COMPRESSED_IMAGE_STRUCT,
    RAW_IMAGE_STRUCT,
    KEYFRAME_REQUEST_STRUCT,
    TWIST_STRUCT,
    POSE_STRUCT,
    PATH_STRUCT,
    SAMPLE_STRUCT,
  ];
  assert.equal(fromC.size, structs.length);
  for (const s of structs) {
    assert.equal(hex(lcmFingerprint(s)), fromC.get(lcmQualifiedName(s)), lcmQualifiedName(s));
  }
  for (const t of FRAMEBUS_MESSAGE_TYPES) assert.equal(hex(t.fingerprint), fromC.get(t.name), t.name);
});

test('fingerprints of mutually recursive types equal lcm-gen’s Python output', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'framebus-lcm-py-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await run('lcm-gen', ['-p', '--ppath', dir, path.join(HERE, 'recursive_types.lcm')]);
  const { stdout } = await run(
    'python3',
    ['-c', "from fbrec import a_t, b_t, c_t\nfor t in (a_t, b_t, c_t): print('%016x' % t._get_hash_recursive([]))"],
    { cwd: dir },
  );
  const { a, b, c } = recursiveStructs();
  assert.deepEqual(stdout.trim().split('\n'), [a, b, c].map((s) => hex(lcmFingerprint(s))));
  // Without the per-level rotation b_t and c_t would collide (the specification's example).
  assert.notEqual(lcmFingerprint(b), lcmFingerprint(c));
});

test('the base hash ignores the struct name but not member names, types or dimensions', () => {
  const base: LcmStruct = { package: 'p', name: 'x_t', members: [{ name: 'v', type: 'int32_t' }] };
  const h = lcmBaseHash(base);
  assert.equal(lcmBaseHash({ ...base, name: 'renamed_t' }), h);
  assert.notEqual(lcmBaseHash({ ...base, members: [{ name: 'w', type: 'int32_t' }] }), h);
  assert.notEqual(lcmBaseHash({ ...base, members: [{ name: 'v', type: 'int64_t' }] }), h);
  assert.notEqual(lcmBaseHash({ ...base, members: [{ name: 'v', type: 'int32_t', dimensions: [{ fixed: 2 }] }] }), h);
});
