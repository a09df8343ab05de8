import { MalformedDataError } from '../core/errors.js';
import { BitReader } from './bit-reader.js';
import { H264_NAL, h264NalType, splitAnnexB, unescapeRbsp } from './annexb.js';

/** What an H.264 sequence parameter set says about the stream. */
export interface H264Sps {
  /** profile_idc, e.g. 66 baseline, 77 main, 100 high. */
  readonly profile: number;
  /** The constraint_set flags byte as it stands in the SPS. */
  readonly constraints: number;
  /** level_idc, e.g. 31 for level 3.1. */
  readonly level: number;
  /** Displayed width in pixels, after cropping. */
  readonly width: number;
  /** Displayed height in pixels, after cropping. */
  readonly height: number;
  /** chroma_format_idc: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4. */
  readonly chromaFormat: number;
  readonly bitDepth: number;
  /** seq_parameter_set_id, which picture parameter sets refer to. */
  readonly spsId: number;
  /** separate_colour_plane_flag (4:4:4 coded as three planes). */
  readonly separateColourPlanes: boolean;
  /** Bits of frame_num in a slice header. */
  readonly log2MaxFrameNum: number;
  /** pic_order_cnt_type: 0 (POC in each slice header), 1 (cycle), 2 (POC follows decode order). */
  readonly pocType: number;
  /** Bits of pic_order_cnt_lsb in a slice header (POC type 0). */
  readonly log2MaxPocLsb: number;
  /** frame_mbs_only_flag: no field pictures. */
  readonly frameMbsOnly: boolean;
  /** VUI max_num_reorder_frames: pictures that may precede one in decode order and follow it in display order; undefined when the SPS does not say. */
  readonly maxNumReorderFrames?: number;
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/**
 * Parses an H.264 SPS NAL unit (header byte included, emulation prevention bytes allowed).
 * @throws MalformedDataError when the NAL is not an SPS or its fields are out of range.
 */
export function parseH264Sps(nal: Uint8Array): H264Sps {
  if (nal.length < 4 || h264NalType(nal) !== H264_NAL.SPS) {
    throw new MalformedDataError('Not an H.264 SPS NAL unit.');
  }
  const rbsp = unescapeRbsp(nal);
  const r = new BitReader(rbsp.subarray(1));
  const profile = r.bits(8);
  const constraints = r.bits(8);
  const level = r.bits(8);
  const spsId = r.ue();
  if (spsId > 31) throw new MalformedDataError(`H.264 SPS id ${spsId} is out of range (0–31).`);
  let chromaFormat = 1;
  let bitDepth = 8;
  let separateColourPlanes = false;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = r.ue();
    if (chromaFormat > 3) throw new MalformedDataError(`H.264 chroma_format_idc ${chromaFormat} is invalid.`);
    if (chromaFormat === 3) separateColourPlanes = r.flag();
    bitDepth = r.ue() + 8;
    r.ue();
    r.skip(1);
    if (r.flag()) {
      const lists = chromaFormat === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) if (r.flag()) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  const log2MaxFrameNum = r.ue() + 4;
  const pocType = r.ue();
  let log2MaxPocLsb = 0;
  if (pocType === 0) {
    log2MaxPocLsb = r.ue() + 4;
  } else if (pocType === 1) {
    r.skip(1);
    r.se();
    r.se();
    const cycle = r.ue();
    if (cycle > 255) throw new MalformedDataError('H.264 SPS has too many reference frames in its POC cycle.');
    for (let i = 0; i < cycle; i++) r.se();
  } else if (pocType !== 2) {
    throw new MalformedDataError(`H.264 pic_order_cnt_type ${pocType} is invalid.`);
  }
  r.ue();
  r.skip(1);
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.flag();
  if (!frameMbsOnly) r.skip(1);
  r.skip(1);
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.flag()) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
  const subW = chromaFormat === 1 || chromaFormat === 2 ? 2 : 1;
  const subH = chromaFormat === 1 ? 2 : 1;
  const cropUnitX = chromaFormat === 0 ? 1 : subW;
  const cropUnitY = (chromaFormat === 0 ? 1 : subH) * (frameMbsOnly ? 1 : 2);
  const width = widthMbs * 16 - cropUnitX * (crop.left + crop.right);
  const height = (frameMbsOnly ? 1 : 2) * heightMapUnits * 16 - cropUnitY * (crop.top + crop.bottom);
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384) {
    throw new MalformedDataError(`H.264 SPS gives an impossible picture size ${width}x${height}.`);
  }
  const maxNumReorderFrames = r.remaining > 0 && r.flag() ? readVuiReorderFrames(r) : undefined;
  return {
    profile, constraints, level, width, height, chromaFormat, bitDepth, spsId, separateColourPlanes,
    log2MaxFrameNum, pocType, log2MaxPocLsb, frameMbsOnly, maxNumReorderFrames,
  };
}

function skipHrd(r: BitReader): void {
  const count = r.ue() + 1;
  if (count > 32) throw new MalformedDataError('H.264 HRD has more than 32 CPB specifications.');
  r.skip(8);
  for (let i = 0; i < count; i++) {
    r.ue();
    r.ue();
    r.skip(1);
  }
  r.skip(20);
}

/** VUI max_num_reorder_frames (H.264 Annex E), or undefined when the VUI has no bitstream restriction or is cut short. */
function readVuiReorderFrames(r: BitReader): number | undefined {
  try {
    if (r.flag() && r.bits(8) === 255) r.skip(32);
    if (r.flag()) r.skip(1);
    if (r.flag()) {
      r.skip(4);
      if (r.flag()) r.skip(24);
    }
    if (r.flag()) {
      r.ue();
      r.ue();
    }
    if (r.flag()) r.skip(65);
    const nalHrd = r.flag();
    if (nalHrd) skipHrd(r);
    const vclHrd = r.flag();
    if (vclHrd) skipHrd(r);
    if (nalHrd || vclHrd) r.skip(1);
    r.skip(1);
    if (!r.flag()) return undefined;
    r.skip(1);
    for (let i = 0; i < 4; i++) r.ue();
    return r.ue();
  } catch {
    // Some encoders cut the VUI short; the rest of the SPS is still good.
    return undefined;
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** The WebCodecs / RFC 6381 codec string of an SPS, e.g. `avc1.64001f`. */
export function h264CodecString(sps: H264Sps): string {
  return `avc1.${hex2(sps.profile)}${hex2(sps.constraints)}${hex2(sps.level)}`;
}

/** The SPS and PPS NAL units of an Annex B key packet. */
export function findH264ParameterSets(annexB: Uint8Array): { sps: Uint8Array[]; pps: Uint8Array[] } {
  const sps: Uint8Array[] = [];
  const pps: Uint8Array[] = [];
  for (const nal of splitAnnexB(annexB)) {
    const type = h264NalType(nal.data);
    if (type === H264_NAL.SPS) sps.push(nal.data);
    else if (type === H264_NAL.PPS) pps.push(nal.data);
  }
  return { sps, pps };
}

/**
 * Builds an AVCDecoderConfigurationRecord (`avcC`, ISO/IEC 14496-15) from SPS and PPS NAL
 * units, as MP4 and WebCodecs' `description` want.
 */
export function buildAvcC(sps: readonly Uint8Array[], pps: readonly Uint8Array[]): Uint8Array {
  if (sps.length === 0 || pps.length === 0) {
    throw new MalformedDataError('An avcC record needs at least one SPS and one PPS.');
  }
  const first = parseH264Sps(sps[0]);
  const size =
    6 + sps.reduce((s, n) => s + 2 + n.length, 0) + 1 + pps.reduce((s, n) => s + 2 + n.length, 0) +
    (HIGH_PROFILES.has(first.profile) ? 4 : 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let o = 0;
  out[o++] = 1;
  out[o++] = first.profile;
  out[o++] = first.constraints;
  out[o++] = first.level;
  out[o++] = 0xff;
  out[o++] = 0xe0 | sps.length;
  for (const n of sps) {
    view.setUint16(o, n.length);
    out.set(n, o + 2);
    o += 2 + n.length;
  }
  out[o++] = pps.length;
  for (const n of pps) {
    view.setUint16(o, n.length);
    out.set(n, o + 2);
    o += 2 + n.length;
  }
  if (HIGH_PROFILES.has(first.profile)) {
    out[o++] = 0xfc | first.chromaFormat;
    out[o++] = 0xf8 | (first.bitDepth - 8);
    out[o++] = 0xf8 | (first.bitDepth - 8);
    out[o++] = 0;
  }
  return out;
}
