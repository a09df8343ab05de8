import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCES = [path.resolve(HERE, '../../lcm/twist_t.lcm'), path.join(HERE, 'twist_subscriber.c')];

/** Builds test/webrtc/twist_subscriber.c with lcm-gen's C code for lcm/twist_t.lcm and liblcm (cached by source hash). */
export async function twistSubscriberBinary(): Promise<string> {
  const hash = createHash('sha256');
  for (const source of SOURCES) hash.update(await readFile(source));
  const dir = path.join(os.tmpdir(), `framebus-twist-subscriber-${hash.digest('hex').slice(0, 16)}`);
  const binary = path.join(dir, 'twist_subscriber');
  if (existsSync(binary)) return binary;
  const work = await mkdtemp(`${dir}.tmp-`);
  try {
    await run('lcm-gen', ['-c', '--c-cpath', work, '--c-hpath', work, SOURCES[0]]);
    const generated = (await readdir(work)).filter((f) => f.endsWith('.c')).map((f) => path.join(work, f));
    await run('gcc', ['-O2', '-std=gnu11', '-I', work, '-o', path.join(work, 'twist_subscriber'), SOURCES[1], ...generated, '-llcm']);
    await rename(work, dir).catch(() => rm(work, { recursive: true, force: true }));
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
  return binary;
}
