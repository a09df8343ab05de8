import { checkOutputPath } from '../core/output-file.js';
import type { FrameSource } from '../source/frame-source.js';
import { VideoEncoder } from '../codec/video-encoder.js';
import type { VideoEncoderOptions } from '../codec/video-encoder-options.js';
import { Mp4Writer, type Mp4Summary } from './mp4-writer.js';

/** Progress of a long job: units done and, when known, the total. */
export type ProgressCallback = (done: number, total: number | undefined) => void;

/** What `encodeToMp4` did. */
export interface EncodeSummary extends Mp4Summary {
  encoder: string;
  /** Bytes of encoded video (sum of packet sizes). */
  videoBytes: number;
}

/**
 * Encodes every frame of `source` once and writes the packets into an MP4 (faststart) or
 * fragmented MP4 at `out`, replacing a file there only once the new one is complete. When
 * the job fails nothing is left at `out`.
 * @throws InvalidArgumentError when `out` is the source's own file, a folder or a special
 *   file (see `checkOutputPath`), before anything is encoded; the source's and encoder's errors.
 */
export async function encodeToMp4(
  source: FrameSource,
  out: string,
  options: Omit<VideoEncoderOptions, 'width' | 'height'> & { width?: number; height?: number; fragmented?: boolean },
  onProgress?: ProgressCallback,
): Promise<EncodeSummary> {
  const inputs = [source.info.path];
  try {
    await checkOutputPath(out, { inputs, overwrite: true });
  } catch (error) {
    await source.close();
    throw error;
  }
  const encoder = await VideoEncoder.create({
    ...options,
    width: options.width ?? source.info.width,
    height: options.height ?? source.info.height,
    fps: options.fps ?? source.info.fps,
  });
  const writer = Mp4Writer.open(out, { fragmented: options.fragmented, inputs });
  let videoBytes = 0;
  let frames = 0;
  try {
    for await (const frame of source) {
      for (const p of await encoder.encode(frame)) {
        videoBytes += p.data.byteLength;
        await writer.write(p);
      }
      onProgress?.(++frames, source.info.frameCount);
    }
    for (const p of await encoder.flush()) {
      videoBytes += p.data.byteLength;
      await writer.write(p);
    }
    const summary = await writer.close();
    return { ...summary, encoder: encoder.encoderName, videoBytes };
  } catch (error) {
    await writer.abort();
    throw error;
  } finally {
    encoder.close();
    await source.close();
  }
}
