import { readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../core/errors.js';

/** Extension of the recordings a replay server offers. */
export const RECORDING_EXTENSION = '.mcap';

/** At most this many recordings are listed, so a huge folder cannot stall a request. */
const MAX_LISTED = 1000;
/** Folder depth searched below the recordings folder. */
const MAX_DEPTH = 3;

/**
 * The recordings a replay server may open: `.mcap` files inside one folder (and its
 * subfolders), and nothing outside it, whatever names a browser sends.
 */
export class RecordingsFolder {
  private constructor(
    /** The folder's real path (symbolic links resolved). */
    readonly root: string,
  ) {}

  /**
   * Opens `dir` as a recordings folder.
   * @throws NotFoundError when `dir` does not exist or is not a folder.
   */
  static async open(dir: string): Promise<RecordingsFolder> {
    let root: string;
    try {
      root = await realpath(dir);
    } catch (cause) {
      throw new NotFoundError(`Recordings folder ${dir} does not exist.`, { cause });
    }
    if (!(await stat(root)).isDirectory()) throw new NotFoundError(`${dir} is not a folder.`);
    return new RecordingsFolder(root);
  }

  /**
   * The absolute path of the recording called `name` (a path relative to the folder, `/`
   * separated, as {@link list} returns).
   * @throws InvalidArgumentError when `name` points outside the folder (absolute, `..`, or
   *   a symbolic link leading out) or is not an `.mcap` file name.
   * @throws NotFoundError when no such recording exists.
   */
  async resolve(name: string): Promise<string> {
    if (typeof name !== 'string' || name.length === 0 || name.length > 1024 || name.includes('\0')) {
      throw new InvalidArgumentError('A recording name must be a non-empty relative path of at most 1024 characters.');
    }
    if (isAbsolute(name) || name.split(/[\\/]/).includes('..')) {
      throw new InvalidArgumentError(`Recording ${JSON.stringify(name)} is outside the recordings folder.`);
    }
    if (!name.toLowerCase().endsWith(RECORDING_EXTENSION)) {
      throw new InvalidArgumentError(`Recording ${JSON.stringify(name)} is not an ${RECORDING_EXTENSION} file.`);
    }
    let real: string;
    try {
      real = await realpath(resolve(this.root, name));
    } catch (cause) {
      throw new NotFoundError(`No recording ${JSON.stringify(name)} in the recordings folder.`, { cause });
    }
    if (!real.startsWith(this.root + sep)) {
      throw new InvalidArgumentError(`Recording ${JSON.stringify(name)} is outside the recordings folder.`);
    }
    if (!(await stat(real)).isFile()) throw new NotFoundError(`Recording ${JSON.stringify(name)} is not a file.`);
    return real;
  }

  /** Names of the recordings in the folder, `/` separated relative paths, sorted. */
  async list(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (found.length >= MAX_LISTED) return;
        const path = join(dir, entry.name);
        if (entry.isDirectory() && depth < MAX_DEPTH) await walk(path, depth + 1);
        else if (entry.isFile() && entry.name.toLowerCase().endsWith(RECORDING_EXTENSION)) {
          found.push(relative(this.root, path).split(sep).join('/'));
        }
      }
    };
    await walk(this.root, 1);
    return found.sort();
  }
}
