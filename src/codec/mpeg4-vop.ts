import { BitReader } from './bit-reader.js';

/** Start code of a video object plane (a picture) in MPEG-4 Part 2. */
const VOP = 0xb6;

function isVolStart(code: number): boolean {
  return code >= 0x20 && code <= 0x2f;
}

/** Payload offsets after each `00 00 01 xx` start code with `xx` passing `want`. */
function* startCodes(data: Uint8Array, want: (code: number) => boolean): Generator<number> {
  for (let i = 0; i + 3 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1 && want(data[i + 3])) yield i + 4;
  }
}

/** Bits of vop_time_increment, from a video object layer header (ISO/IEC 14496-2 6.2.3). */
function timeIncrementBits(r: BitReader): number {
  r.skip(9);
  let verid = 1;
  if (r.flag()) {
    verid = r.bits(4);
    r.skip(3);
  }
  if (r.bits(4) === 15) r.skip(16);
  if (r.flag()) {
    r.skip(3);
    if (r.flag()) r.skip(79);
  }
  const shape = r.bits(2);
  if (shape === 3 && verid !== 1) r.skip(4);
  r.skip(1);
  const resolution = r.bits(16);
  return Math.max(1, Math.ceil(Math.log2(resolution)));
}

/**
 * Tells MPEG-4 Part 2 (DivX, Xvid) key pictures from the bitstream: the first picture of a
 * packet is intra coded and really coded. Packed B-frame AVIs flag the placeholder packet
 * after a key picture (a "not coded" VOP) as a key frame too.
 */
export class Mpeg4KeyCheck {
  private incrementBits: number | undefined;

  /** @param extradata the stream's decoder configuration, which holds the layer header in AVI and MP4. */
  constructor(extradata?: Uint8Array | null) {
    if (extradata) this.readLayer(extradata);
  }

  /** Whether this packet starts with a coded intra picture; layer headers in it are taken in. */
  isKey(data: Uint8Array): boolean {
    this.readLayer(data);
    for (const at of startCodes(data, (c) => c === VOP)) {
      try {
        const r = new BitReader(data.subarray(at, at + 16));
        if (r.bits(2) !== 0) return false;
        while (r.flag());
        r.skip(1);
        // Without a layer header the "coded" bit cannot be found; trust the intra type then.
        if (this.incrementBits === undefined) return true;
        r.skip(this.incrementBits + 1);
        return r.flag();
      } catch {
        return false;
      }
    }
    return false;
  }

  private readLayer(data: Uint8Array): void {
    for (const at of startCodes(data, isVolStart)) {
      try {
        this.incrementBits = timeIncrementBits(new BitReader(data.subarray(at, at + 32)));
      } catch {
        // A cut-off layer header leaves the previous one in force.
      }
    }
  }
}
