/**
 * A message schema with its binary encoding. framebus encodes every network message the
 * LCM way: an 8-byte big-endian type fingerprint, then the fields, so several message types
 * can share one channel and a receiver can tell them apart before decoding.
 */
export interface MessageType<T> {
  /** Fully qualified type name, e.g. `'framebus.video_packet_t'`. */
  readonly name: string;
  /** The LCM fingerprint (hash) that leads every encoded message of this type. */
  readonly fingerprint: bigint;
  /** Encodes `value` as fingerprint + fields. */
  encode(value: T): Uint8Array;
  /**
   * Decodes fingerprint + fields.
   * @throws MalformedDataError when the fingerprint differs or the bytes are short or bad.
   */
  decode(bytes: Uint8Array): T;
}

/** Reads the leading 8-byte fingerprint of an encoded message, or `undefined` if too short. */
export function peekFingerprint(bytes: Uint8Array): bigint | undefined {
  if (bytes.byteLength < 8) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, false);
}
