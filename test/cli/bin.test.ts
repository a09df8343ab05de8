import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/framebus.js', import.meta.url));

test('the installed bin runs the built command (npm ci builds it)', async () => {
  const { stdout } = await run(process.execPath, [bin, '--help']);
  assert.match(stdout, /^Usage: framebus /m);
  assert.match(stdout, /\bimport\b/);
});

test('a bin without its build says in one line how to build it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'framebus-bin-'));
  try {
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    copyFileSync(bin, join(dir, 'bin', 'framebus.js'));
    const error = await run(process.execPath, [join(dir, 'bin', 'framebus.js'), '--help']).then(
      () => assert.fail('a bin with no dist/ must fail'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(error.code, 2);
    assert.equal(error.stderr, 'framebus: the command is not built yet; run `npm run build` in the framebus folder (npm install does it).\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
