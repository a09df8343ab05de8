/** Per-frame image formats: each image decodes on its own. */
export const IMAGE_FORMATS = ['jpeg', 'png'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** One independently compressed picture (the shape of Foxglove's `CompressedImage`). */
export interface CompressedImage {
  readonly kind: 'compressed-image';
  readonly format: ImageFormat;
  /** The complete JPEG or PNG file bytes. */
  readonly data: Uint8Array;
  /** Capture time, integer nanoseconds since the Unix epoch. */
  readonly timestamp: bigint;
  /** The `frameId` of the frame this image encodes. */
  readonly frameId: number;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}
