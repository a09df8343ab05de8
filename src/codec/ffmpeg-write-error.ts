import { constants } from 'node:os';
import { CodecError, fileSystemError, type FramebusError } from '../core/errors.js';

/** The file system's errors among FFmpeg's codes, which are errno values negated (ENOSPC, 28, is -28). */
const FILE_SYSTEM_ERRORS = new Map(
  ['ENOSPC', 'EDQUOT', 'EFBIG', 'EIO', 'EACCES', 'EPERM', 'EROFS', 'ENOENT'].map((name) => [-constants.errno[name as keyof typeof constants.errno], name]),
);

/**
 * A failed FFmpeg write (`ret` < 0 from a muxer) as a typed error: a file-system one by its
 * reason (`Cannot finish x.mp4: the disk is full.`), anything else a CodecError with FFmpeg's code.
 */
export function ffmpegWriteError(ret: number, doing: string): FramebusError {
  const code = FILE_SYSTEM_ERRORS.get(ret);
  return code ? fileSystemError(Object.assign(new Error(code), { code }), doing) : new CodecError(`${doing} (FFmpeg error ${ret}).`);
}
