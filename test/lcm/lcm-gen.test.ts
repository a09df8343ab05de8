/**
 * `framebus lcm-gen`: the TypeScript it writes type-checks under strict and gives the same
 * MessageTypes as loading the .lcm files; framebus's own generated types are up to date.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { loadLcmTypes, type LcmValue } from '../../src/wire/lcm-types.js';
import type { LcmMessageType } from '../../src/wire/lcm-struct-codec.js';
import { generateLcmTypeScript, writeLcmTypeScript } from '../../src/wire/lcm-typescript.js';
import { HERE, REPO } from './liblcm.js';

const run = promisify(execFile);
const SOURCES = [path.join(REPO, 'lcm'), path.join(HERE, 'types'), path.join(HERE, 'const-dims'), path.join(HERE, 'recursive_types.lcm')];

/** Code a user would write against the generated modules; it must compile under strict. */
const USAGE = `
import { features_t, COUNT, BIG } from './fbtypes/features_t.js';
import { tree_t } from './fbtypes/tree_t.js';
import { a_t } from './fbrec/a_t.js';
import { with_const_t } from './fbconst/with_const_t.js';

const leaf: tree_t = { label: 'leaf', children: [] };
export const value: features_t = {
  i8: -1, i16: 2, i32: COUNT, i64: BIG, f32: 0.5, f64: Math.PI, text: 'héllo', flag: true, octet: 255,
  matrix: [[1, 2], [3, 4]], small: [[1, 2, 3], [4, 5, 6]], blob: new Uint8Array([1, 2, 3]),
  tiles: [new Uint8Array(4), new Uint8Array(4)], names: ['a'], bits: [true, false, true, false],
  stamps: [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n], grid: [[[1, 2], [3, 4]], [[5, 6], [7, 8]]],
  origin: { xyz: [0, 0, 1] }, points: [{ xyz: [1, 2, 3] }, { xyz: [4, 5, 6] }],
  corners: [[{ xyz: [0, 0, 0] }, { xyz: [1, 1, 1] }], [{ xyz: [2, 2, 2] }, { xyz: [3, 3, 3] }]],
  tree: { label: 'root', children: [leaf] },
};
export const bytes: Uint8Array = features_t.encode(value);
export const back: features_t = features_t.decode(bytes);
export const fingerprints: bigint[] = [a_t.fingerprint, with_const_t.fingerprint];
`;

test('generated TypeScript type-checks under strict and encodes as the loaded types do', async (t) => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'framebus-lcm-gen-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const runtime = path.relative(out, path.join(REPO, 'src/wire/lcm-struct-codec.js'));
  // What `framebus lcm-gen` does, with the runtime pointed at this checkout instead of the package.
  const loaded = await loadLcmTypes(SOURCES);
  assert.equal((await writeLcmTypeScript(loaded.structs, out, { runtime })).length, 13);
  await writeFile(path.join(out, 'usage.ts'), USAGE);
  await writeFile(
    path.join(out, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', skipLibCheck: true, types: ['node'], typeRoots: [path.join(REPO, 'node_modules/@types')] },
      include: ['**/*.ts'],
    }),
  );
  await run(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', out]).catch((error: { stdout: string }) => {
    assert.fail(`tsc --strict failed on the generated code:\n${error.stdout}`);
  });

  const usage = (await import(pathToFileURL(path.join(out, 'usage.ts')).href)) as { bytes: Uint8Array; back: LcmValue; value: LcmValue };
  assert.deepEqual(usage.bytes, loaded.get('fbtypes.features_t').encode(usage.value));
  assert.deepEqual(loaded.get('fbtypes.features_t').decode(usage.bytes), usage.back);
  for (const type of loaded.types) {
    const module = (await import(pathToFileURL(path.join(out, type.struct.package, `${type.struct.name}.ts`)).href)) as Record<string, LcmMessageType<unknown>>;
    const generated = module[type.struct.name];
    assert.equal(generated.name, type.name);
    assert.equal(generated.fingerprint, type.fingerprint, `${type.name} fingerprint`);
  }
  const features = (await import(pathToFileURL(path.join(out, 'fbtypes/features_t.ts')).href)) as Record<string, unknown>;
  assert.deepEqual([features.COUNT, features.MASK, features.LOWEST, features.BIG, features.SCALE, features.HALF], [3, 31, -127, -9000000000n, 0.0025, 0.5]);
});

test('framebus’s own message types are generated from lcm/*.lcm and up to date', async () => {
  const own = await loadLcmTypes([path.join(REPO, 'lcm')]);
  const generated = generateLcmTypeScript(own.structs, { runtime: '../lcm-struct-codec.js' });
  assert.equal(generated.length, 5);
  for (const m of generated) {
    const committed = await readFile(path.join(REPO, 'src/wire/generated', m.path), 'utf8');
    assert.equal(committed, m.text, `src/wire/generated/${m.path} is stale: run npm run build:lcm`);
  }
});
