/**
 * Video codecs whose streams framebus carries as `VideoPacket`s. `ffv1` is lossless and
 * intra-only, for 16-bit depth (`gray16` frames); it is stored in Matroska (`.mkv`), not MP4.
 */
export const VIDEO_CODECS = ['h264', 'h265', 'av1', 'ffv1'] as const;
export type VideoCodec = (typeof VIDEO_CODECS)[number];

/**
 * One encoded access unit: every NAL unit (H.264/H.265, Annex B with start codes) or OBU
 * (AV1, low-overhead format) the encoder produced for one input frame. It has no pixels;
 * decode it to get a `Frame`.
 */
export interface VideoPacket {
  readonly kind: 'video-packet';
  readonly codec: VideoCodec;
  /** The encoded bytes, Annex B for H.264/H.265. */
  readonly data: Uint8Array;
  /**
   * True when this packet is independently decodable: an IDR (H.264), IRAP (H.265) or key
   * frame (AV1) with the codec configuration (SPS/PPS, VPS, sequence header) in front.
   * Verified from the bitstream, never trusted from encoder flags.
   */
  readonly key: boolean;
  /** Presentation time of the frame, integer nanoseconds since the Unix epoch. */
  readonly timestamp: bigint;
  /** Position in its stream, 0-based and consecutive; a jump means packets were lost. */
  readonly sequence: number;
  /** The `frameId` of the frame this packet encodes. */
  readonly frameId: number;
  /** Coded width in pixels. */
  readonly width: number;
  /** Coded height in pixels. */
  readonly height: number;
}

export function isVideoCodec(value: unknown): value is VideoCodec {
  return typeof value === 'string' && (VIDEO_CODECS as readonly string[]).includes(value);
}
