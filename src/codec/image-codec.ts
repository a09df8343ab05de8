import sharp, { type OutputInfo } from 'sharp';
import { InvalidArgumentError, MalformedDataError } from '../core/errors.js';
import type { CompressedImage, ImageFormat } from '../core/compressed-image.js';
import { createFrame, framePackedBytes, frameFromPacked, type Frame, type PixelFormat } from '../core/frame.js';
import { PixelConverter } from './pixel-converter.js';

/** What a per-frame codec produces: a compressed picture, or the frame itself for `raw`. */
export type EncodedImage = CompressedImage | Frame;

/** A codec that encodes every frame on its own (no inter-frame prediction). */
export interface ImageCodec<E extends EncodedImage = EncodedImage> {
  readonly name: ImageFormat | 'raw';
  /** Encodes one frame. */
  encode(frame: Frame): Promise<E>;
  /**
   * Decodes one image into a frame of `format` (default rgb24).
   * @throws MalformedDataError when the bytes are not a valid image of this codec.
   */
  decode(image: EncodedImage, format?: PixelFormat): Promise<Frame>;
}

/** Options of the JPEG and PNG codecs. */
export interface ImageCodecOptions {
  /** JPEG quality 1–100. Default 90. */
  quality?: number;
}

const CHANNELS: Partial<Record<PixelFormat, 1 | 3 | 4>> = { gray8: 1, rgb24: 3, rgba: 4 };

class SharpCodec implements ImageCodec<CompressedImage> {
  private readonly converter = new PixelConverter();

  constructor(
    readonly name: ImageFormat,
    private readonly quality: number,
  ) {}

  async encode(frame: Frame): Promise<CompressedImage> {
    if (frame?.kind !== 'frame') throw new InvalidArgumentError(`${this.name} encode() takes a Frame.`);
    const input = CHANNELS[frame.format] ? frame : this.converter.convert(frame, { format: 'rgb24' });
    const raw = { width: input.width, height: input.height, channels: CHANNELS[input.format]! };
    const image = sharp(framePackedBytes(input), { raw });
    const data =
      this.name === 'jpeg'
        ? await image.jpeg({ quality: this.quality, chromaSubsampling: '4:2:0' }).toBuffer()
        : await image.png({ compressionLevel: 6 }).toBuffer();
    return {
      kind: 'compressed-image',
      format: this.name,
      data,
      timestamp: frame.timestamp,
      frameId: frame.frameId,
      width: frame.width,
      height: frame.height,
    };
  }

  async decode(image: EncodedImage, format: PixelFormat = 'rgb24'): Promise<Frame> {
    if (image?.kind !== 'compressed-image' || image.format !== this.name) {
      throw new InvalidArgumentError(`The ${this.name} codec decodes ${this.name} images only.`);
    }
    let decoded: { data: Buffer; info: OutputInfo };
    try {
      decoded = await sharp(image.data, { failOn: 'error' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    } catch (error) {
      throw new MalformedDataError(`Frame ${image.frameId}: not a valid ${this.name} image (${(error as Error).message}).`, { cause: error });
    }
    const { width, height, channels } = decoded.info;
    const frame =
      channels === 3
        ? frameFromPacked(decoded.data, { width, height, format: 'rgb24', timestamp: image.timestamp, frameId: image.frameId })
        : frameFromPacked(decoded.data, { width, height, format: 'gray8', timestamp: image.timestamp, frameId: image.frameId });
    return this.converter.convert(frame, { format });
  }
}

class RawCodec implements ImageCodec<Frame> {
  readonly name = 'raw' as const;
  private readonly converter = new PixelConverter();

  async encode(frame: Frame): Promise<Frame> {
    if (frame?.kind !== 'frame') throw new InvalidArgumentError('raw encode() takes a Frame.');
    return frame;
  }

  async decode(image: EncodedImage, format?: PixelFormat): Promise<Frame> {
    if (image?.kind !== 'frame') throw new InvalidArgumentError('The raw codec decodes raw frames only.');
    const frame = createFrame(image);
    return format ? this.converter.convert(frame, { format }) : frame;
  }
}

/**
 * Opens a per-frame codec: `jpeg` and `png` through sharp (libvips), `raw` as a passthrough.
 * @throws InvalidArgumentError for an unknown name or a quality outside 1–100.
 */
export function createImageCodec(name: ImageFormat, options?: ImageCodecOptions): ImageCodec<CompressedImage>;
export function createImageCodec(name: 'raw', options?: ImageCodecOptions): ImageCodec<Frame>;
export function createImageCodec(name: ImageFormat | 'raw', options?: ImageCodecOptions): ImageCodec;
export function createImageCodec(name: ImageFormat | 'raw', options: ImageCodecOptions = {}): ImageCodec {
  const quality = options.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new InvalidArgumentError(`JPEG quality must be a whole number from 1 to 100, got ${String(quality)}.`);
  }
  if (name === 'jpeg' || name === 'png') return new SharpCodec(name, quality);
  if (name === 'raw') return new RawCodec();
  throw new InvalidArgumentError(`Unknown image codec ${JSON.stringify(name)}; expected jpeg, png or raw.`);
}
