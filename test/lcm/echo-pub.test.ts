/**
 * `framebus echo` and `framebus pub` against liblcm C programs (lcm-gen's C output for
 * test/lcm/types) over a real LCM bus, and their errors for input that does not fit.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Bus } from '../../src/bus/bus.js';
import { lcmValueFromJson } from '../../src/wire/lcm-json-input.js';
import { findLcmFiles, loadLcmTypes } from '../../src/wire/lcm-types.js';
import { buildLcmProgram, HERE, randomLcmPort, REPO, startInterop } from './liblcm.js';
import { cliNodeArgs } from '../support/run-cli.js';

const run = promisify(execFile);
const GROUP = '239.255.76.67';
const TYPES_DIR = path.join(HERE, 'types');
const CLI = cliNodeArgs();

async function program(): Promise<string> {
  return buildLcmProgram(await findLcmFiles([TYPES_DIR]), path.join(HERE, 'types_interop.c'));
}

/** Runs the framebus CLI to completion; resolves with its exit code and output. */
function framebus(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { cwd: REPO, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('framebus echo prints what a liblcm program publishes, by fingerprint, and unknown types with their size', async (t) => {
  const port = randomLcmPort();
  const echo = spawn(process.execPath, [...CLI, 'echo', 'FB_ECHO', '--bus', `lcm://${GROUP}:${port}?ttl=0`, '--types', TYPES_DIR, '--json', '--count', '5'], { cwd: REPO });
  t.after(() => echo.kill());
  const lines: string[] = [];
  createInterface({ input: echo.stdout }).on('line', (l) => lines.push(l));
  let stderr = '';
  const listening = new Promise<void>((resolve, reject) => {
    echo.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('listening on FB_ECHO')) resolve();
    });
    echo.on('exit', () => reject(new Error(`echo exited early: ${stderr}`)));
  });
  await listening;
  const exited = new Promise<number | null>((resolve) => echo.on('exit', resolve));

  const { stdout } = await run(await program(), ['publish', `udpm://${GROUP}:${port}?ttl=0`, 'FB_ECHO', '1', '7', '0']);
  // A type echo was not given: printed as unknown, with fingerprint and size.
  const other = (await loadLcmTypes([path.join(HERE, 'recursive_types.lcm')])).get('fbrec.b_t');
  const bus = await Bus.open(`lcm://${GROUP}:${port}?ttl=0`);
  await bus.topic('FB_ECHO', other).publish({ a: [] });
  await bus.close();
  assert.equal(await exited, 0, stderr);

  const printed = lines.map((l) => JSON.parse(l) as { topic: string; type: string | null; fingerprint: string; size: number; value?: Record<string, unknown> });
  assert.deepEqual(
    printed.map((p) => p.type),
    ['fbgeom.vec3_t', 'fbtypes.features_t', 'fbtypes.tree_t', 'fbtypes.with_literal_t', null],
  );
  const [, i64, i32, rows, cols, n64, text = ''] = stdout.split('\n').find((l) => l.startsWith('fields '))!.split(' ');
  const features = printed[1].value!;
  assert.equal(features.i64, i64, 'int64 as a decimal string');
  assert.equal(features.i32, Number(i32));
  assert.equal((features.matrix as unknown[]).length, Number(rows));
  assert.equal((features.grid as unknown[][])[0].length, Number(cols));
  assert.equal(Buffer.from(features.blob as string, 'base64').length, Number(n64), 'bytes as base64');
  assert.equal(features.text, Buffer.from(text, 'hex').toString('utf8'));
  const sent = stdout.split('\n').filter((l) => l.startsWith('sent ')).map((l) => l.split(' ')[2]);
  assert.deepEqual(printed.slice(0, 4).map((p) => p.size), sent.map((h) => h.length / 2));
  assert.equal(printed[4].fingerprint, other.fingerprint.toString(16).padStart(16, '0'));
  assert.equal(printed[4].size, 8 + 4);
  assert.equal(printed[4].value, undefined);
});

const MESSAGE = {
  i8: -128,
  i16: 32767,
  i32: -2147483648,
  i64: '-9007199254740993',
  f32: 1.5,
  f64: 'NaN',
  text: 'héllo wörld',
  flag: true,
  octet: 255,
  matrix: [
    [1, 2, 3],
    [4, 5, 6],
  ],
  small: [
    [1, 2, 3],
    [4, 5, 6],
  ],
  blob: 'AAEC/w==',
  tiles: ['AQIDBA==', [5, 6, 7, 8]],
  names: ['a', 'b'],
  bits: [true, false, false, true],
  stamps: [1, 2, 3, 4, 5, 6, 7, '9223372036854775807'],
  grid: [
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
    [
      [7, 8],
      [9, 10],
      [11, 12],
    ],
  ],
  origin: { xyz: [0, 0, 1] },
  points: [{ xyz: [1, 2, 3] }, { xyz: [4, 5, 6] }],
  corners: [
    [{ xyz: [0, 0, 0] }, { xyz: [1, 1, 1] }, { xyz: [2, 2, 2] }],
    [{ xyz: [3, 3, 3] }, { xyz: [4, 4, 4] }, { xyz: [5, 5, 5] }],
  ],
  tree: { label: 'root', children: [{ label: 'leaf', children: [] }] },
};

test('a liblcm subscriber receives what framebus pub sends, field for field; bad input is refused by name', async (t) => {
  const port = randomLcmPort();
  const url = `lcm://${GROUP}:${port}?ttl=0`;
  const sub = await startInterop(['subscribe', `udpm://${GROUP}:${port}?ttl=0`, 'FB_PUB', '2', '60000'], await program());
  t.after(() => sub.child.kill());
  await sub.waitForLine((l) => l === 'ready', 15_000);
  const base = ['pub', 'FB_PUB', '--bus', url, '--types', TYPES_DIR];
  const [ok, badField, badType] = await Promise.all([
    framebus([...base, '--type', 'fbtypes.features_t', '--json', JSON.stringify(MESSAGE), '--count', '2', '--rate', '20']),
    framebus([...base, '--type', 'features_t', '--json', JSON.stringify({ ...MESSAGE, points: [{ xyz: [1, 2] }, { xyz: [4, 5, 6] }] })]),
    framebus([...base, '--type', 'fbtypes.pose_t', '--json', '{}']),
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /published 2 fbtypes\.features_t on FB_PUB/);
  assert.equal(badField.code, 2);
  assert.match(badField.stderr, /features_t\.points\[0\]\.xyz: expected 3 elements, got 2/);
  assert.equal(badType.code, 2);
  assert.match(badType.stderr, /No LCM type "fbtypes\.pose_t".*fbtypes\.features_t/);

  await sub.waitForLine(() => sub.lines.filter((l) => l.startsWith('got ')).length >= 2, 15_000);
  const types = await loadLcmTypes([TYPES_DIR]);
  const type = types.get('fbtypes.features_t');
  const expected = Buffer.from(type.encode(lcmValueFromJson(type.struct, MESSAGE))).toString('hex');
  const got = sub.lines.filter((l) => l.startsWith('got '));
  assert.deepEqual(got, [`got fbtypes.features_t ${expected}`, `got fbtypes.features_t ${expected}`]);
  const fields = sub.lines.filter((l) => l.startsWith('fields '));
  assert.equal(fields[0], `fields -9007199254740993 -2147483648 2 3 4 ${Buffer.from(MESSAGE.text).toString('hex')}`);
});
