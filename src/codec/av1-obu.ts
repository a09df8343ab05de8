import { MalformedDataError } from '../core/errors.js';

/** AV1 OBU types framebus looks at. */
export const AV1_OBU = { SEQUENCE_HEADER: 1, TEMPORAL_DELIMITER: 2, FRAME_HEADER: 3, FRAME: 6 } as const;

/** One OBU of an AV1 low-overhead bitstream. */
export interface Obu {
  readonly type: number;
  /** The OBU payload after its header and size field. */
  readonly payload: Uint8Array;
}

function readLeb128(data: Uint8Array, offset: number): { value: number; length: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    if (offset + i >= data.length) throw new MalformedDataError('AV1 OBU size field ends early.');
    const b = data[offset + i];
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return { value, length: i + 1 };
  }
  throw new MalformedDataError('AV1 OBU size field is longer than 8 bytes.');
}

/**
 * Splits an AV1 temporal unit (low-overhead format, every OBU with a size field) into OBUs.
 * @throws MalformedDataError on a forbidden bit, a missing size field or a size past the end.
 */
export function splitObus(data: Uint8Array): Obu[] {
  const obus: Obu[] = [];
  let o = 0;
  while (o < data.length) {
    const header = data[o];
    if (header & 0x80) throw new MalformedDataError('AV1 OBU has its forbidden bit set.');
    const type = (header >> 3) & 0x0f;
    const hasExtension = (header & 0x04) !== 0;
    if ((header & 0x02) === 0) throw new MalformedDataError('AV1 OBU without a size field; expected the low-overhead format.');
    o += hasExtension ? 2 : 1;
    const size = readLeb128(data, o);
    o += size.length;
    if (o + size.value > data.length) throw new MalformedDataError('AV1 OBU claims more bytes than the packet holds.');
    obus.push({ type, payload: data.subarray(o, o + size.value) });
    o += size.value;
  }
  if (obus.length === 0) throw new MalformedDataError('Empty AV1 temporal unit.');
  return obus;
}

/** True when the temporal unit holds a sequence header and a shown key frame. */
export function isAv1KeyTemporalUnit(data: Uint8Array): boolean {
  const obus = splitObus(data);
  const seq = obus.find((o) => o.type === AV1_OBU.SEQUENCE_HEADER);
  if (!seq || seq.payload.length < 1) return false;
  const reducedStillPictureHeader = (seq.payload[0] & 0x08) !== 0;
  if (reducedStillPictureHeader) return true;
  const frame = obus.find((o) => o.type === AV1_OBU.FRAME || o.type === AV1_OBU.FRAME_HEADER);
  if (!frame || frame.payload.length < 1) return false;
  const showExistingFrame = (frame.payload[0] & 0x80) !== 0;
  const frameType = (frame.payload[0] >> 5) & 0x03;
  return !showExistingFrame && frameType === 0;
}
