import { InvalidArgumentError, MalformedDataError } from '../core/errors.js';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

const utf8 = new TextEncoder();
// Like liblcm's Python and Java bindings: bytes that are not UTF-8 become U+FFFD, not an error.
const utf8Decoder = new TextDecoder('utf-8');

/**
 * Bytes an LCM `string` takes on the wire: int32 length (counting the NUL), UTF-8 bytes, NUL.
 * @throws InvalidArgumentError for a string with a NUL inside, which C peers would cut short.
 */
export function lcmStringSize(value: string, field: string): number {
  if (typeof value !== 'string') {
    throw new InvalidArgumentError(`${field} must be a string, got ${typeof value}.`);
  }
  if (value.includes('\0')) throw new InvalidArgumentError(`${field} must not contain a NUL character.`);
  return 4 + utf8.encode(value).length + 1;
}

function checkInteger(value: number, bits: 8 | 16 | 32, field: string): void {
  const max = 2 ** (bits - 1);
  if (!Number.isInteger(value) || value < -max || value >= max) {
    throw new InvalidArgumentError(`${field} must be an integer in [${-max}, ${max - 1}], got ${String(value)}.`);
  }
}

/**
 * Writes LCM primitives big-endian into a buffer of a size computed beforehand. Checks every
 * value against its LCM type, so a bad value fails here instead of reaching a peer.
 */
export class LcmWriter {
  /** The whole output buffer. */
  readonly bytes: Uint8Array;
  /** Next write position, in bytes. */
  offset = 0;
  private readonly view: DataView;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  int8(value: number, field: string): void {
    checkInteger(value, 8, field);
    this.view.setInt8(this.offset, value);
    this.offset += 1;
  }

  int16(value: number, field: string): void {
    checkInteger(value, 16, field);
    this.view.setInt16(this.offset, value, false);
    this.offset += 2;
  }

  int32(value: number, field: string): void {
    checkInteger(value, 32, field);
    this.view.setInt32(this.offset, value, false);
    this.offset += 4;
  }

  int64(value: bigint, field: string): void {
    if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) {
      throw new InvalidArgumentError(`${field} must be a bigint in the int64 range, got ${String(value)}.`);
    }
    this.view.setBigInt64(this.offset, value, false);
    this.offset += 8;
  }

  /** An LCM `byte`: an unsigned 8-bit integer. */
  byte(value: number, field: string): void {
    if (!Number.isInteger(value) || value < 0 || value > 255) {
      throw new InvalidArgumentError(`${field} must be an integer in [0, 255], got ${String(value)}.`);
    }
    this.bytes[this.offset] = value;
    this.offset += 1;
  }

  /** An unsigned 64-bit value, such as a fingerprint. */
  uint64(value: bigint): void {
    this.view.setBigUint64(this.offset, value, false);
    this.offset += 8;
  }

  float(value: number, field: string): void {
    if (typeof value !== 'number') throw new InvalidArgumentError(`${field} must be a number, got ${typeof value}.`);
    this.view.setFloat32(this.offset, value, false);
    this.offset += 4;
  }

  double(value: number, field: string): void {
    if (typeof value !== 'number') throw new InvalidArgumentError(`${field} must be a number, got ${typeof value}.`);
    this.view.setFloat64(this.offset, value, false);
    this.offset += 8;
  }

  /** LCM booleans are one byte, 0 or 1. */
  boolean(value: boolean, field: string): void {
    if (typeof value !== 'boolean') throw new InvalidArgumentError(`${field} must be a boolean, got ${typeof value}.`);
    this.bytes[this.offset] = value ? 1 : 0;
    this.offset += 1;
  }

  /** Raw bytes with no length prefix (the length is a separate member in LCM). */
  raw(value: Uint8Array, field: string): void {
    if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`${field} must be a Uint8Array.`);
    this.bytes.set(value, this.offset);
    this.offset += value.byteLength;
  }

  /** int32 length including the NUL, the UTF-8 bytes, then the NUL. Size it with {@link lcmStringSize}. */
  string(value: string): void {
    const start = this.offset + 4;
    const { written } = utf8.encodeInto(value, this.bytes.subarray(start));
    this.view.setInt32(this.offset, written + 1, false);
    this.bytes[start + written] = 0;
    this.offset = start + written + 1;
  }
}

/**
 * Reads LCM primitives big-endian from untrusted bytes. Every read checks the remaining
 * length first, so a short or lying buffer ends in a `MalformedDataError` naming the field,
 * never in an out-of-range read or an absurd allocation.
 */
export class LcmReader {
  /** Next read position, in bytes. */
  offset = 0;
  private readonly view: DataView;

  /** @param what names the message in errors, e.g. `'framebus.video_packet_t'`. */
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  /** @throws MalformedDataError unless `n` more bytes are there for `field`. */
  need(n: number, field: string): void {
    if (n > this.remaining) {
      throw new MalformedDataError(
        `${this.what}: ${field} needs ${n} bytes but only ${this.remaining} remain (message is ${this.bytes.byteLength} bytes).`,
      );
    }
  }

  int8(field: string): number {
    this.need(1, field);
    return this.view.getInt8(this.offset++);
  }

  int16(field: string): number {
    this.need(2, field);
    const v = this.view.getInt16(this.offset, false);
    this.offset += 2;
    return v;
  }

  int32(field: string): number {
    this.need(4, field);
    const v = this.view.getInt32(this.offset, false);
    this.offset += 4;
    return v;
  }

  int64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigInt64(this.offset, false);
    this.offset += 8;
    return v;
  }

  uint64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.offset, false);
    this.offset += 8;
    return v;
  }

  float(field: string): number {
    this.need(4, field);
    const v = this.view.getFloat32(this.offset, false);
    this.offset += 4;
    return v;
  }

  double(field: string): number {
    this.need(8, field);
    const v = this.view.getFloat64(this.offset, false);
    this.offset += 8;
    return v;
  }

  byte(field: string): number {
    this.need(1, field);
    return this.bytes[this.offset++];
  }

  /** Any non-zero byte is true, as liblcm reads it. */
  boolean(field: string): boolean {
    this.need(1, field);
    return this.bytes[this.offset++] !== 0;
  }

  /** `n` bytes as a view into the input (no copy). */
  raw(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  string(field: string): string {
    const length = this.int32(`${field} length`);
    if (length < 1) {
      throw new MalformedDataError(`${this.what}: ${field} length ${length} is less than 1 (it counts the NUL terminator).`);
    }
    const bytes = this.raw(length, field);
    if (bytes[length - 1] !== 0) throw new MalformedDataError(`${this.what}: ${field} is not NUL-terminated.`);
    return utf8Decoder.decode(bytes.subarray(0, length - 1));
  }
}
