import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { MalformedDataError, NotFoundError } from '../core/errors.js';
import { frameFromPacked, type Frame } from '../core/frame.js';
import { checkFps, frameDurationNs } from '../core/time.js';
import { PixelConverter } from '../codec/pixel-converter.js';
import type { FrameSource, SourceInfo } from './frame-source.js';

/** Options of a PNG folder source. */
export interface PngFolderSourceOptions {
  /** Frame rate the images were taken at. Default 30. */
  fps?: number;
  /** Output width in pixels (scaled). Default: the images' own. */
  width?: number;
  /** Output height in pixels (scaled). */
  height?: number;
  /** Stop after this many frames. */
  frames?: number;
  /** Timestamp of the first frame, ns since the Unix epoch. Default 0. */
  startTimestamp?: bigint;
}

/** File names LeRobot writes: `frame-000000.png`, `frame_000001.png`, … */
const FRAME_FILE = /^frame[-_](\d+)\.png$/i;

/**
 * Frames from a folder of numbered PNG files (`frame-000000.png`, as LeRobot writes), in
 * number order, decoded with sharp to rgb24.
 */
export class PngFolderSource implements FrameSource {
  readonly info: SourceInfo;
  private readonly converter = new PixelConverter();
  private closed = false;

  private constructor(
    private readonly files: string[],
    private readonly options: PngFolderSourceOptions & { fps: number },
    info: SourceInfo,
  ) {
    this.info = info;
  }

  /**
   * Opens a folder.
   * @throws NotFoundError when the folder is missing or holds no `frame-NNNNNN.png` files.
   */
  static async open(dir: string, options: PngFolderSourceOptions = {}): Promise<PngFolderSource> {
    const fps = options.fps ?? 30;
    checkFps(fps);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      throw new NotFoundError(`Frame folder not found: ${dir}`);
    }
    const files = names
      .map((n) => ({ n, m: FRAME_FILE.exec(n) }))
      .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
      .sort((a, b) => Number(a.m[1]) - Number(b.m[1]))
      .map((x) => join(dir, x.n))
      .slice(0, options.frames);
    if (files.length === 0) throw new NotFoundError(`No frame-NNNNNN.png files in ${dir}.`);
    let meta: Metadata;
    try {
      meta = await sharp(files[0]).metadata();
    } catch (error) {
      throw new MalformedDataError(`${files[0]} is not a readable PNG: ${(error as Error).message}`);
    }
    const width = options.width ?? meta.width ?? 0;
    const height = options.height ?? meta.height ?? 0;
    return new PngFolderSource(files, { ...options, fps }, { width, height, fps, frameCount: files.length, description: dir, path: dir });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    const period = frameDurationNs(this.options.fps);
    const start = this.options.startTimestamp ?? 0n;
    for (let i = 0; i < this.files.length && !this.closed; i++) {
      let decoded;
      try {
        decoded = await sharp(this.files[i]).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      } catch (error) {
        throw new MalformedDataError(`${this.files[i]} is not a readable PNG: ${(error as Error).message}`);
      }
      const { width, height, channels } = decoded.info;
      const frame = frameFromPacked(decoded.data, {
        width,
        height,
        format: channels === 1 ? 'gray8' : 'rgb24',
        timestamp: start + BigInt(i) * period,
        frameId: i,
      });
      yield this.converter.convert(frame, { format: 'rgb24', width: this.info.width, height: this.info.height });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.converter.close();
  }
}
