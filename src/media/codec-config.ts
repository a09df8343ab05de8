import { InvalidArgumentError } from '../core/errors.js';
import type { VideoCodec } from '../core/packet.js';
import { H264_NAL, H265_NAL, h264NalType, h265NalType, splitAnnexB } from '../codec/annexb.js';
import { AV1_OBU, splitObus } from '../codec/av1-obu.js';

/** Parameter sets of a key packet, Annex B (H.264/H.265) or the sequence header OBU (AV1). */
export function codecConfig(codec: VideoCodec, data: Uint8Array): Buffer | null {
  // FFV1 version 0/1 (what the encoder writes by default) keeps its configuration in every key frame.
  if (codec === 'ffv1') return null;
  if (codec === 'av1') {
    const seq = splitObus(data).find((o) => o.type === AV1_OBU.SEQUENCE_HEADER);
    if (!seq) throw new InvalidArgumentError('The first AV1 packet has no sequence header.');
    const start = seq.payload.byteOffset - data.byteOffset;
    let headerStart = start - 1;
    while (headerStart > 0 && ((data[headerStart] >> 3) & 0x0f) !== AV1_OBU.SEQUENCE_HEADER) headerStart--;
    return Buffer.from(data.subarray(headerStart, start + seq.payload.length));
  }
  const wanted =
    codec === 'h264'
      ? (n: Uint8Array) => [H264_NAL.SPS, H264_NAL.PPS].includes(h264NalType(n) as 7 | 8)
      : (n: Uint8Array) => [H265_NAL.VPS, H265_NAL.SPS, H265_NAL.PPS].includes(h265NalType(n) as 32 | 33 | 34);
  const parts = splitAnnexB(data)
    .filter((n) => wanted(n.data))
    .flatMap((n) => [Buffer.from([0, 0, 0, 1]), Buffer.from(n.data)]);
  return Buffer.concat(parts);
}
