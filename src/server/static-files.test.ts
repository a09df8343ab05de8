import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StaticFiles } from './static-files.js';

const root = await mkdtemp(join(tmpdir(), 'framebus-static-'));
after(() => rm(root, { recursive: true, force: true }));

test('static files: / is index.html, subfolders resolve, and nothing outside the root or behind a link is served', async () => {
  await mkdir(join(root, 'web/assets'), { recursive: true });
  await writeFile(join(root, 'web/index.html'), '<!doctype html>');
  await writeFile(join(root, 'web/assets/app.js'), 'export {};');
  await writeFile(join(root, 'secret.txt'), 'secret');
  await symlink(join(root, 'secret.txt'), join(root, 'web/link.txt'));
  const files = await StaticFiles.load(join(root, 'web'));
  assert.equal(files.get('/')?.body.toString(), '<!doctype html>');
  assert.equal(files.get('/')?.contentType, 'text/html; charset=utf-8');
  assert.equal(files.get('/assets/app.js')?.contentType, 'text/javascript; charset=utf-8');
  assert.equal(files.get('/assets%2Fapp.js')?.body.toString(), 'export {};');
  for (const path of ['/../secret.txt', '/..%2Fsecret.txt', '/link.txt', '/assets', '/%E0%A4%A', '/index.html%00']) {
    assert.equal(files.get(path), undefined, path);
  }
  assert.equal((await StaticFiles.load(join(root, 'missing'))).get('/'), undefined);
});
