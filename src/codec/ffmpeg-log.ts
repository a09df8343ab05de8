import { Log } from 'node-av/lib';
import { AV_LOG_ERROR, AV_LOG_QUIET } from 'node-av/constants';

let configured = false;

/**
 * Quiets FFmpeg's own logging once per process: framebus reports problems through typed
 * errors and its own events. `FRAMEBUS_FFMPEG_LOG=1` keeps FFmpeg's errors for debugging.
 */
export function quietFfmpegLogs(): void {
  if (configured) return;
  configured = true;
  // SVT-AV1 logs through its own channel, read from the environment when an encoder opens.
  process.env.SVT_LOG ??= process.env.FRAMEBUS_FFMPEG_LOG === '1' ? '2' : '1';
  Log.setLevel(process.env.FRAMEBUS_FFMPEG_LOG === '1' ? AV_LOG_ERROR : AV_LOG_QUIET);
}
