import type { Frame } from '../core/frame.js';

/** What a source produces. */
export interface SourceInfo {
  /** Width of every frame, pixels. */
  readonly width: number;
  /** Height of every frame, pixels. */
  readonly height: number;
  /** Nominal frames per second. */
  readonly fps: number;
  /** Number of frames when known in advance (files, folders); undefined for live sources. */
  readonly frameCount?: number;
  /** A short human description, e.g. `synthetic 640x480@30` or a file path. */
  readonly description: string;
  /** The file or folder the frames are read from, when there is one: outputs refuse to overwrite it. */
  readonly path?: string;
}

/**
 * A stream of frames. Iterate it once with `for await`; `close()` stops it early and frees
 * what it holds (also called when the loop exits).
 */
export interface FrameSource extends AsyncIterable<Frame> {
  readonly info: SourceInfo;
  close(): Promise<void>;
}
