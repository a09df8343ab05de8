import { MalformedDataError } from '../core/errors.js';
import { BitReader } from './bit-reader.js';
import { H265_NAL, h265NalType, unescapeRbsp } from './annexb.js';

/** What an H.265 sequence parameter set says about frame reordering. */
export interface H265Sps {
  /** sps_max_num_reorder_pics of the highest sub-layer: pictures that may precede one in decode order and follow it in display order. */
  readonly maxNumReorderPics: number;
}

/** Skips profile_tier_level(1, maxSubLayersMinus1) (H.265 7.3.3). */
function skipProfileTierLevel(r: BitReader, maxSubLayersMinus1: number): void {
  r.skip(96);
  const profilePresent: boolean[] = [];
  const levelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(r.flag());
    levelPresent.push(r.flag());
  }
  if (maxSubLayersMinus1 > 0) r.skip(2 * (8 - maxSubLayersMinus1));
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) r.skip(88);
    if (levelPresent[i]) r.skip(8);
  }
}

/**
 * Parses the reordering fields of an H.265 SPS NAL unit (header included, emulation
 * prevention bytes allowed).
 * @throws MalformedDataError when the NAL is not an SPS or ends before those fields.
 */
export function parseH265Sps(nal: Uint8Array): H265Sps {
  if (nal.length < 4 || h265NalType(nal) !== H265_NAL.SPS) throw new MalformedDataError('Not an H.265 SPS NAL unit.');
  const r = new BitReader(unescapeRbsp(nal).subarray(2));
  r.skip(4);
  const maxSubLayersMinus1 = r.bits(3);
  if (maxSubLayersMinus1 > 6) throw new MalformedDataError(`H.265 SPS has ${maxSubLayersMinus1 + 1} sub-layers (at most 7).`);
  r.skip(1);
  skipProfileTierLevel(r, maxSubLayersMinus1);
  r.ue();
  const chromaFormat = r.ue();
  if (chromaFormat > 3) throw new MalformedDataError(`H.265 chroma_format_idc ${chromaFormat} is invalid.`);
  if (chromaFormat === 3) r.skip(1);
  r.ue();
  r.ue();
  if (r.flag()) for (let i = 0; i < 4; i++) r.ue();
  r.ue();
  r.ue();
  r.ue();
  const allSubLayers = r.flag();
  let maxNumReorderPics = 0;
  for (let i = allSubLayers ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) {
    r.ue();
    maxNumReorderPics = r.ue();
    r.ue();
  }
  return { maxNumReorderPics };
}
