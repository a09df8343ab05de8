import type { VideoCodec } from '../core/packet.js';
import { H264_NAL, H265_NAL, h264NalType, h265NalType, splitAnnexB } from './annexb.js';
import { isAv1KeyTemporalUnit } from './av1-obu.js';

/**
 * Decides from the bitstream alone whether an access unit is independently decodable: an
 * IDR (H.264) or IRAP (H.265) picture with its parameter sets in front, or an AV1 key
 * frame with a sequence header.
 * @throws MalformedDataError when the bytes are not a valid access unit of `codec`.
 */
export function isKeyAccessUnit(codec: VideoCodec, data: Uint8Array): boolean {
  if (codec === 'av1') return isAv1KeyTemporalUnit(data);
  const types = new Set(
    splitAnnexB(data).map((n) => (codec === 'h264' ? h264NalType(n.data) : h265NalType(n.data))),
  );
  if (codec === 'h264') {
    return types.has(H264_NAL.IDR) && types.has(H264_NAL.SPS) && types.has(H264_NAL.PPS);
  }
  let irap = false;
  for (const t of types) if (t >= H265_NAL.IRAP_FIRST && t <= H265_NAL.IRAP_LAST) irap = true;
  return irap && types.has(H265_NAL.VPS) && types.has(H265_NAL.SPS) && types.has(H265_NAL.PPS);
}
