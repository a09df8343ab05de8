import { MalformedDataError } from '../core/errors.js';
import type { VideoCodec } from '../core/packet.js';
import { H264_NAL, H265_NAL, h264NalType, h265NalType, splitAnnexB } from './annexb.js';
import { isAv1KeyTemporalUnit } from './av1-obu.js';

/**
 * Decides from the bitstream alone whether an access unit is independently decodable: an
 * IDR (H.264) or IRAP (H.265) picture with its parameter sets in front, or an AV1 key
 * frame with a sequence header, or an FFV1 key frame (its coding contexts reset).
 * @throws MalformedDataError when the bytes are not a valid access unit of `codec`.
 */
export function isKeyAccessUnit(codec: VideoCodec, data: Uint8Array): boolean {
  if (codec === 'av1') return isAv1KeyTemporalUnit(data);
  if (codec === 'ffv1') return isFfv1KeyFrame(data);
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

/**
 * FFV1 codes the key-frame flag as the first bit of its range coder, read with state 128
 * from a coder whose range starts at 0xFF00: the bit is 1 exactly when the first two bytes,
 * big-endian, reach range − range·128/256 = 0x7F80.
 */
function isFfv1KeyFrame(data: Uint8Array): boolean {
  if (data.byteLength < 2) throw new MalformedDataError(`An FFV1 frame has at least 2 bytes, got ${data.byteLength}.`);
  return ((data[0] << 8) | data[1]) >= 0x7f80;
}
