import { stat } from 'node:fs/promises';
import { InvalidArgumentError, MalformedDataError, NotFoundError } from '../core/errors.js';

/**
 * Checks that `path` names a media file worth handing to FFmpeg, so the common mistakes get
 * plain messages rather than FFmpeg's. URLs (`scheme://…`) are left to FFmpeg.
 * @throws NotFoundError when it does not exist; InvalidArgumentError for a folder;
 *   MalformedDataError for an empty file.
 */
export async function checkInputFile(path: string, what = 'Video file'): Promise<void> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return;
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new NotFoundError(`${what} not found: ${path}`);
  if (info.isDirectory()) throw new InvalidArgumentError(`${path} is a folder, not a ${what.toLowerCase()}.`);
  if (info.isFile() && info.size === 0) throw new MalformedDataError(`${path} is empty (0 bytes); it holds no video.`);
}
