import { MalformedDataError } from '../core/errors.js';

/** Reads big-endian bits and Exp-Golomb codes from an RBSP, as H.264/H.265 headers need. */
export class BitReader {
  private bit = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** Bits not yet read. */
  get remaining(): number {
    return this.bytes.length * 8 - this.bit;
  }

  /** Reads `n` (≤ 32) bits as an unsigned integer. */
  bits(n: number): number {
    if (n > this.remaining) throw new MalformedDataError('Bitstream header ends early.');
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.bit >> 3];
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }

  flag(): boolean {
    return this.bits(1) === 1;
  }

  skip(n: number): void {
    if (n > this.remaining) throw new MalformedDataError('Bitstream header ends early.');
    this.bit += n;
  }

  /** Unsigned Exp-Golomb, ue(v). */
  ue(): number {
    let zeros = 0;
    while (!this.flag()) {
      if (++zeros > 31) throw new MalformedDataError('Exp-Golomb code longer than 32 bits.');
    }
    return zeros === 0 ? 0 : 2 ** zeros - 1 + this.bits(zeros);
  }

  /** Signed Exp-Golomb, se(v). */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}
