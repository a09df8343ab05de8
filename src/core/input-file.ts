import { stat } from 'node:fs/promises';
import { fileSystemError, InvalidArgumentError, MalformedDataError, NotFoundError } from './errors.js';

/**
 * Checks that `path` names a regular file that can be opened for reading, before anything
 * opens it: a folder would fail later with EISDIR, a pipe or device could block the reader
 * forever, and an empty file gets a plainer word than FFmpeg's. `what` names the kind of
 * file in messages, e.g. `Recording` or `Video file`. URLs (`scheme://…`) are left to whoever opens them.
 * @throws NotFoundError when it does not exist; InvalidArgumentError for a folder or a
 *   special file; MalformedDataError for an empty file; FileSystemError when it cannot be
 *   examined (permission).
 */
export async function checkInputFile(path: string, what = 'File'): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError(`${what} path must be a non-empty string.`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return;
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`${what} not found: ${path}`, { cause: error });
    throw fileSystemError(error, `Cannot read ${path}`);
  }
  if (info.isDirectory()) throw new InvalidArgumentError(`${path} is a folder, not a ${what.toLowerCase()}.`);
  if (!info.isFile()) throw new InvalidArgumentError(`${path} is not a regular file (a device, pipe or socket); give a ${what.toLowerCase()}.`);
  if (info.size === 0) throw new MalformedDataError(`${path} is empty (0 bytes); it is not a ${what.toLowerCase()}.`);
}
