import assert from 'node:assert/strict';
import { link, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InvalidArgumentError } from './errors.js';
import { checkOutputPath, OutputFile, partialFilesOf, writeOutputFile } from './output-file.js';

let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'framebus-output-file-'))));
after(() => rm(dir, { recursive: true, force: true }));

test('the destination holds the old file until commit, then the new one; nothing else is left', async () => {
  const path = join(dir, 'clip.mp4');
  await writeFile(path, 'old');
  const out = await OutputFile.create(path, { overwrite: true });
  assert.match(out.tempPath, /clip\.partial-[0-9a-f]{8}\.mp4$/);
  await writeFile(out.tempPath, 'new');
  assert.equal(await readFile(path, 'utf8'), 'old');
  assert.deepEqual(await partialFilesOf(path), [out.tempPath]);
  await out.commit();
  assert.equal(await readFile(path, 'utf8'), 'new');
  assert.deepEqual(await readdir(dir), ['clip.mp4']);
});

test('a failed write leaves nothing, and the file it would have replaced is intact', async () => {
  const path = join(dir, 'kept.txt');
  await writeFile(path, 'before');
  await assert.rejects(
    writeOutputFile(path, { overwrite: true }, async (temp) => {
      await writeFile(temp, 'half');
      throw new Error('disk on fire');
    }),
    /disk on fire/,
  );
  assert.equal(await readFile(path, 'utf8'), 'before');
  assert.deepEqual(await partialFilesOf(path), []);
});

test('an output that is an input is refused however it is spelled: same path, symlink, hard link', async () => {
  const input = join(dir, 'input.mp4');
  await writeFile(input, 'precious');
  const soft = join(dir, 'soft.mp4');
  const hard = join(dir, 'hard.mp4');
  await symlink(input, soft);
  await link(input, hard);
  for (const output of [input, soft, hard, `${dir}/./input.mp4`]) {
    await assert.rejects(checkOutputPath(output, { inputs: [input], overwrite: true }), (e: Error) => e instanceof InvalidArgumentError && /is the input/.test(e.message));
  }
  await assert.rejects(checkOutputPath(input, { inputs: [soft], overwrite: true }), /is the input/);
  assert.equal(await readFile(input, 'utf8'), 'precious');
});

test('without overwrite, a file that appears while writing is not replaced and the finished file is kept', async () => {
  const path = join(dir, 'race.mcap');
  const out = await OutputFile.create(path);
  await writeFile(out.tempPath, 'finished');
  await writeFile(path, 'someone else');
  await assert.rejects(out.commit(), (e: Error) => e instanceof InvalidArgumentError && e.message.includes(`kept as ${out.tempPath}`));
  assert.equal(await readFile(path, 'utf8'), 'someone else');
  assert.equal(await readFile(out.tempPath, 'utf8'), 'finished');
});
