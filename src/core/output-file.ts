import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { link, lstat, mkdir, open, readdir, realpath, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileSystemError, FileSystemError, InvalidArgumentError, NotFoundError } from './errors.js';

/** How an output file is checked and put in place. */
export interface OutputFileOptions {
  /**
   * What the job reads. The output may not be any of these files (compared by device and
   * inode, so links and other spellings of the same path count), nor an existing file
   * directly inside an input folder (it may be one of the files read). Entries that are
   * undefined or name nothing on disk (URLs, source specs) are ignored.
   */
  inputs?: readonly (string | undefined)[];
  /** Replace an existing file. Default false: an existing file is an error. */
  overwrite?: boolean;
}

/** `run.mcap` → `run.partial-<8 hex>.mcap`: says what it is and keeps the extension tools go by. */
function partialName(target: string): string {
  const ext = extname(target);
  return join(dirname(target), `${basename(target, ext)}.partial-${randomBytes(4).toString('hex')}${ext}`);
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

/**
 * The files beside `path` that an unfinished write of it left behind (a killed recorder, a
 * killed encode): `<name>.partial-<8 hex>.<ext>`.
 */
export async function partialFilesOf(path: string): Promise<string[]> {
  const ext = extname(path);
  const stem = basename(path, ext);
  const names = await readdir(dirname(resolve(path))).catch(() => []);
  const pattern = /^\.partial-[0-9a-f]{8}$/;
  return names
    .filter((n) => n.startsWith(stem) && n.endsWith(ext) && pattern.test(n.slice(stem.length, n.length - ext.length)))
    .sort()
    .map((n) => join(dirname(path), n));
}

async function refuseInputs(path: string, output: Stats, folder: Stats, inputs: readonly (string | undefined)[]): Promise<void> {
  const same = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino;
  for (const input of inputs) {
    if (typeof input !== 'string' || input.length === 0) continue;
    const info = await stat(input).catch(() => undefined);
    if (!info) continue;
    if (same(info, output)) throw new InvalidArgumentError(`${path} is the input ${input}; writing it would destroy what is being read. Choose another output path.`);
    if (info.isDirectory() && same(info, folder)) {
      throw new InvalidArgumentError(`${path} is a file inside the input folder ${input} and may be one of the files read; choose another output path.`);
    }
  }
}

/**
 * Checks that `path` can be written as a new or replaced file without touching an input,
 * and returns the real path to write (links resolved, so a link keeps pointing at the file).
 * @throws InvalidArgumentError for a folder, a special file (device, pipe, socket), an
 *   input, or an existing file without `overwrite`; NotFoundError when its folder is missing;
 *   FileSystemError when it cannot be examined.
 */
export async function checkOutputPath(path: string, options: OutputFileOptions = {}): Promise<string> {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('Output path must be a non-empty string.');
  const absolute = resolve(path);
  let existing: Stats;
  try {
    existing = await stat(absolute);
  } catch (error) {
    if (errno(error) === 'ENOTDIR') throw new InvalidArgumentError(`Cannot write ${path}: a part of its path is a file, not a folder.`);
    if (errno(error) !== 'ENOENT') throw fileSystemError(error, `Cannot write ${path}`);
    if ((await lstat(absolute).catch(() => undefined))?.isSymbolicLink()) throw new InvalidArgumentError(`${path} is a link to a missing file; give a real path.`);
    const folder = dirname(absolute);
    const info = await stat(folder).catch((e) => {
      throw errno(e) === 'ENOENT' ? new NotFoundError(`Cannot create ${path}: its folder does not exist.`) : fileSystemError(e, `Cannot create ${path}`);
    });
    if (!info.isDirectory()) throw new InvalidArgumentError(`Cannot create ${path}: ${folder} is a file, not a folder.`);
    return join(await realpath(folder), basename(absolute));
  }
  if (existing.isDirectory()) throw new InvalidArgumentError(`${path} is a folder; give a file path.`);
  if (!existing.isFile()) throw new InvalidArgumentError(`${path} is not a regular file (a device, pipe or socket); give a file path.`);
  const target = await realpath(absolute);
  await refuseInputs(path, existing, await stat(dirname(target)), options.inputs ?? []);
  if (!options.overwrite) throw new InvalidArgumentError(`${path} already exists; choose another path or allow overwriting.`);
  return target;
}

/** The error for a file that cannot be created in an existing folder. */
function creationError(error: unknown, path: string, folder: string) {
  // Creating in a folder that exists fails with ENOENT on /proc and similar pseudo file systems.
  if (errno(error) === 'ENOENT') return new FileSystemError(`Cannot create ${path}: ${folder} does not take new files (a special file system).`, { cause: error });
  return fileSystemError(error, `Cannot create ${path} (in ${folder})`);
}

/**
 * A file written atomically: the data goes to `<name>.partial-<8 hex>.<ext>` beside the
 * destination, which appears (renamed into place, after an fsync) only on `commit()`. A job
 * that fails calls `discard()`; a process killed while writing leaves the partial file, whose
 * name says what it is (`partialFilesOf` finds it). The destination is checked up front: see
 * `checkOutputPath`.
 */
export class OutputFile {
  private constructor(
    /** The destination, as given. */
    readonly path: string,
    private readonly target: string,
    /** Where the data is written until `commit()`. */
    readonly tempPath: string,
    private readonly overwrite: boolean,
  ) {}

  /**
   * Checks the destination and creates the (empty) partial file.
   * @throws as `checkOutputPath`; FileSystemError when the folder takes no new file.
   */
  static async create(path: string, options: OutputFileOptions = {}): Promise<OutputFile> {
    const target = await checkOutputPath(path, options);
    const temp = partialName(target);
    try {
      await (await open(temp, 'wx')).close();
    } catch (error) {
      throw creationError(error, path, dirname(target));
    }
    return new OutputFile(path, target, temp, options.overwrite ?? false);
  }

  /**
   * Flushes the finished file to disk and renames it to the destination (never over a file
   * that appeared meanwhile unless overwriting). On failure the finished file stays at
   * `tempPath`, and the error says so.
   * @throws InvalidArgumentError when the destination appeared or became a folder or special
   *   file; FileSystemError when the rename fails.
   */
  async commit(): Promise<void> {
    const kept = `the finished file is kept as ${this.tempPath}`;
    try {
      const handle = await open(this.tempPath, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      const now = await lstat(this.target).catch(() => undefined);
      if (now && !now.isFile()) throw new InvalidArgumentError(`${this.path} became a folder or special file while it was written; ${kept}.`);
      if (this.overwrite) return await rename(this.tempPath, this.target);
      try {
        // link() fails when the name exists: a rename that never replaces.
        await link(this.tempPath, this.target);
      } catch (error) {
        if (errno(error) === 'EEXIST' || !['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK'].includes(errno(error) ?? '')) throw error;
        if (await lstat(this.target).catch(() => undefined)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
        return await rename(this.tempPath, this.target);
      }
      await unlink(this.tempPath);
    } catch (error) {
      if (errno(error) === 'EEXIST') throw new InvalidArgumentError(`${this.path} appeared while it was written; ${kept}.`, { cause: error });
      if (error instanceof InvalidArgumentError) throw error;
      throw fileSystemError(error, `Cannot put ${this.path} in place (${kept})`);
    }
  }

  /** Deletes the partial file: for a job that failed and whose partial output is of no use. */
  async discard(): Promise<void> {
    await rm(this.tempPath, { force: true });
  }
}

/**
 * Runs `write(tempPath)` to produce a whole file, then puts it in place as `path`; when
 * `write` throws, nothing is left.
 */
export async function writeOutputFile<T>(path: string, options: OutputFileOptions, write: (tempPath: string) => Promise<T>): Promise<T> {
  const output = await OutputFile.create(path, options);
  let result: T;
  try {
    result = await write(output.tempPath);
  } catch (error) {
    await output.discard();
    throw error;
  }
  await output.commit();
  return result;
}

/**
 * Checks that `dir` is a folder files can be written into, or can be created as one: it is
 * not a file, and its nearest existing ancestor is a folder.
 * @throws InvalidArgumentError when it or an ancestor is a file; FileSystemError when it
 *   cannot be examined.
 */
export async function checkOutputFolder(dir: string): Promise<{ existing: string; missing: string[] }> {
  if (typeof dir !== 'string' || dir.length === 0) throw new InvalidArgumentError('Output folder must be a non-empty string.');
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    const info = await stat(at).catch((error) => {
      if (errno(error) === 'ENOENT') return undefined;
      throw errno(error) === 'ENOTDIR' ? new InvalidArgumentError(`Cannot create folder ${dir}: a part of its path is a file.`) : fileSystemError(error, `Cannot use folder ${dir}`);
    });
    if (info?.isDirectory()) return { existing: at, missing };
    if (info) throw new InvalidArgumentError(missing.length ? `Cannot create folder ${dir}: ${at} is a file.` : `${dir} is a file, not a folder; give a folder for the output files.`);
    missing.unshift(at);
    at = dirname(at);
  }
}

/**
 * Creates `dir` and its missing parents one level at a time (a recursive mkdir spins forever
 * under /proc) and returns the folders created, outermost first, so a failed job can remove them.
 * @throws as `checkOutputFolder`; FileSystemError when a folder cannot be created.
 */
export async function createOutputFolder(dir: string): Promise<string[]> {
  const { existing, missing } = await checkOutputFolder(dir);
  const created: string[] = [];
  for (const folder of missing) {
    try {
      await mkdir(folder);
    } catch (error) {
      await removeFolders(created);
      throw creationError(error, folder, dirname(folder) || existing);
    }
    created.push(folder);
  }
  return created;
}

/** Removes folders `createOutputFolder` made (outermost first), where they are empty. */
export async function removeFolders(created: readonly string[]): Promise<void> {
  for (const folder of [...created].reverse()) await rmdir(folder).catch(() => undefined);
}
