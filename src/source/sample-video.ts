import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MissingDependencyError } from '../core/errors.js';

/** Where Debian's opencv-doc package installs OpenCV's sample video. */
const DEBIAN_PATH = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

function candidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const list = [
    process.env.FRAMEBUS_VTEST,
    resolve(here, '../../../shared/data/vtest.avi'),
    resolve(process.cwd(), '../shared/data/vtest.avi'),
    DEBIAN_PATH,
    join(cacheDir(), 'vtest.avi'),
  ];
  return list.filter((p): p is string => Boolean(p));
}

function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'framebus');
}

/**
 * The path of OpenCV's sample video `vtest.avi` (768x576, 10 fps, 795 frames), the real
 * footage framebus benchmarks on. Looks in `$FRAMEBUS_VTEST`, the project's `shared/data`,
 * Debian's opencv-doc location and the user cache; when absent, downloads the opencv-doc
 * package with `apt-get download` and extracts the one file into the cache.
 * @throws MissingDependencyError when it cannot be found or fetched.
 */
export function sampleVideoPath(): string {
  for (const p of candidates()) if (existsSync(p)) return p;
  const target = join(cacheDir(), 'vtest.avi');
  const work = mkdtempSync(join(tmpdir(), 'framebus-vtest-'));
  try {
    execFileSync('apt-get', ['download', 'opencv-doc'], { cwd: work, stdio: 'ignore' });
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download produced no .deb');
    execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile "${deb}" | tar -x .${DEBIAN_PATH}`], { cwd: work, stdio: 'ignore' });
    mkdirSync(cacheDir(), { recursive: true });
    renameSync(join(work, `.${DEBIAN_PATH}`), target);
    return target;
  } catch (error) {
    throw new MissingDependencyError(
      `OpenCV's sample video vtest.avi was not found and could not be fetched (${(error as Error).message}). ` +
        `Install Debian's opencv-doc package or set FRAMEBUS_VTEST to a copy.`,
      { cause: error },
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
