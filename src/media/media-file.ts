import { Demuxer } from 'node-av/api';
import { quietFfmpegLogs } from '../codec/ffmpeg-log.js';
import { MalformedDataError } from '../core/errors.js';
import { checkInputFile } from '../core/input-file.js';

/**
 * Opens a media file for reading with FFmpeg's demuxer; the caller closes it.
 * @param what how the file is named in errors, e.g. `File` or `Video`.
 * @throws NotFoundError (and the other `checkInputFile` errors) for a path that is not a
 *   readable file; MalformedDataError when FFmpeg cannot read it as media.
 */
export async function openMediaFile(path: string, what = 'File'): Promise<Demuxer> {
  quietFfmpegLogs();
  await checkInputFile(path, what);
  try {
    return await Demuxer.open(path);
  } catch (error) {
    throw new MalformedDataError(`Not a media file FFmpeg can read: ${path} (${(error as Error).message})`, { cause: error });
  }
}
