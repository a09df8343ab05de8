import { MalformedDataError } from '../core/errors.js';

/** One NAL unit found in an Annex B byte stream (start code excluded). */
export interface NalUnit {
  /** The NAL unit bytes from its header on, emulation prevention bytes included. */
  readonly data: Uint8Array;
  /** Offset of the NAL header in the scanned buffer. */
  readonly offset: number;
}

/**
 * Splits an Annex B byte stream into NAL units at 3- and 4-byte start codes.
 * @throws MalformedDataError when the buffer does not begin with a start code, or holds
 *   only start codes.
 */
export function splitAnnexB(data: Uint8Array): NalUnit[] {
  const starts: { header: number; code: number }[] = [];
  const n = data.length;
  let i = 0;
  while (i + 2 < n) {
    if (data[i + 2] > 1) {
      i += 3;
    } else if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      const code = i > 0 && data[i - 1] === 0 ? i - 1 : i;
      starts.push({ header: i + 3, code });
      i += 3;
    } else {
      i++;
    }
  }
  if (starts.length === 0 || starts[0].code !== 0) {
    throw new MalformedDataError('Not an Annex B stream: data does not begin with a 00 00 01 start code.');
  }
  const units: NalUnit[] = [];
  starts.forEach((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1].code : n;
    while (end > s.header && data[end - 1] === 0) end--;
    if (end > s.header) units.push({ data: data.subarray(s.header, end), offset: s.header });
  });
  if (units.length === 0) throw new MalformedDataError('Annex B stream holds start codes but no NAL units.');
  return units;
}

/** H.264 NAL unit type (0–31) of a NAL unit. */
export function h264NalType(nal: Uint8Array): number {
  return nal[0] & 0x1f;
}

/** H.265 NAL unit type (0–63) of a NAL unit. */
export function h265NalType(nal: Uint8Array): number {
  return (nal[0] >> 1) & 0x3f;
}

/** H.264 NAL unit types framebus looks at. */
export const H264_NAL = { SLICE: 1, IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9 } as const;

/** H.265 NAL unit types framebus looks at; IRAP pictures are types 16–23. */
export const H265_NAL = { IRAP_FIRST: 16, IRAP_LAST: 23, VPS: 32, SPS: 33, PPS: 34, AUD: 35 } as const;

/** Removes emulation prevention bytes (00 00 03 → 00 00) to give the raw RBSP. */
export function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let o = 0;
  let zeros = 0;
  for (let i = 0; i < nal.length; i++) {
    const b = nal[i];
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[o++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, o);
}
