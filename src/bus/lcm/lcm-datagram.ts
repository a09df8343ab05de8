import { InvalidArgumentError, MalformedDataError } from '../../core/errors.js';

/**
 * The datagrams of LCM's UDP multicast protocol, as liblcm (lcm_udpm.c, udpm_util.h) sends
 * and accepts them. All integers are big-endian.
 *
 * Short message, when channel + NUL + payload fit in {@link LCM_SHORT_MESSAGE_MAX_SIZE}:
 *   magic "LC02" (u32) | sequence (u32) | channel | NUL | payload
 * Fragment of a longer message:
 *   magic "LC03" (u32) | sequence (u32) | payload size (u32) | fragment offset (u32) |
 *   fragment number (u16) | fragment count (u16) | [channel | NUL, fragment 0 only] | data
 * The sequence counts messages per sender; all fragments of one message share it.
 */

/** "LC02": a whole message in one datagram. */
export const LCM_MAGIC_SHORT = 0x4c433032;
/** "LC03": one fragment of a message. */
export const LCM_MAGIC_FRAGMENT = 0x4c433033;
/** The largest UDP payload over IPv4; liblcm fills datagrams up to it. */
export const LCM_MAX_DATAGRAM_SIZE = 65507;
export const LCM_SHORT_HEADER_SIZE = 8;
export const LCM_FRAGMENT_HEADER_SIZE = 20;
/** Channel + NUL + payload bytes that still go as one short datagram (liblcm on Linux). */
export const LCM_SHORT_MESSAGE_MAX_SIZE = 65499;
/** Bytes after the header in each fragment (fragment 0 counts its channel + NUL in them). */
export const LCM_FRAGMENT_MAX_PAYLOAD = 65487;
/** Longest channel name liblcm sends or accepts, in bytes. */
export const LCM_MAX_CHANNEL_LENGTH = 63;
/** Largest message liblcm reassembles, in bytes (256 MiB). */
export const LCM_MAX_MESSAGE_SIZE = 1 << 28;
/** A message is split into at most this many fragments (the count is a u16). */
export const LCM_MAX_FRAGMENTS = 65535;

/** A parsed short datagram: a complete message. */
export interface LcmShortDatagram {
  readonly kind: 'short';
  /** The sender's message counter, u32. */
  readonly sequence: number;
  readonly channel: string;
  /** View into the datagram. */
  readonly payload: Uint8Array;
}

/** A parsed fragment datagram. */
export interface LcmFragmentDatagram {
  readonly kind: 'fragment';
  /** The sender's message counter, u32, shared by all fragments of the message. */
  readonly sequence: number;
  /** Total payload bytes of the whole message (the channel not counted). */
  readonly messageSize: number;
  /** Where `data` goes in the message payload, in bytes. */
  readonly offset: number;
  /** 0-based index of this fragment. */
  readonly fragmentNumber: number;
  readonly fragmentCount: number;
  /** Present in fragment 0 only. */
  readonly channel: string | undefined;
  /** View into the datagram. */
  readonly data: Uint8Array;
}

export type LcmDatagram = LcmShortDatagram | LcmFragmentDatagram;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

/**
 * The bytes of a channel name as sent.
 * @throws InvalidArgumentError for an empty name, a NUL inside, or more than 63 bytes.
 */
export function encodeLcmChannel(channel: string): Uint8Array {
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new InvalidArgumentError('LCM channel must be a non-empty string.');
  }
  if (channel.includes('\0')) throw new InvalidArgumentError('LCM channel must not contain a NUL character.');
  const bytes = utf8.encode(channel);
  if (bytes.byteLength > LCM_MAX_CHANNEL_LENGTH) {
    throw new InvalidArgumentError(
      `LCM channel ${JSON.stringify(channel)} is ${bytes.byteLength} bytes; liblcm allows at most ${LCM_MAX_CHANNEL_LENGTH}.`,
    );
  }
  return bytes;
}

/**
 * The datagrams that carry one message, each as a list of parts to send with scatter/gather
 * (payload parts are views, not copies). Splits exactly where liblcm splits.
 * @param sequence the sender's message counter (u32).
 * @param channel bytes from {@link encodeLcmChannel}.
 * @throws InvalidArgumentError when the payload needs more than 65535 fragments.
 */
export function lcmDatagrams(sequence: number, channel: Uint8Array, payload: Uint8Array): Uint8Array[][] {
  const channelSize = channel.byteLength + 1;
  if (channelSize + payload.byteLength <= LCM_SHORT_MESSAGE_MAX_SIZE) {
    // Byte by byte rather than through a DataView: this runs once per short message.
    const header = new Uint8Array(LCM_SHORT_HEADER_SIZE + channelSize);
    header[0] = 0x4c;
    header[1] = 0x43;
    header[2] = 0x30;
    header[3] = 0x32;
    header[4] = sequence >>> 24;
    header[5] = sequence >>> 16;
    header[6] = sequence >>> 8;
    header[7] = sequence;
    header.set(channel, LCM_SHORT_HEADER_SIZE);
    return [[header, payload]];
  }
  const count = Math.ceil((channelSize + payload.byteLength) / LCM_FRAGMENT_MAX_PAYLOAD);
  if (count > LCM_MAX_FRAGMENTS) {
    throw new InvalidArgumentError(
      `A ${payload.byteLength}-byte LCM message needs ${count} fragments; at most ${LCM_MAX_FRAGMENTS} are possible.`,
    );
  }
  const datagrams: Uint8Array[][] = [];
  let offset = 0;
  for (let n = 0; n < count; n++) {
    const first = n === 0;
    const header = new Uint8Array(LCM_FRAGMENT_HEADER_SIZE + (first ? channelSize : 0));
    const view = new DataView(header.buffer);
    view.setUint32(0, LCM_MAGIC_FRAGMENT);
    view.setUint32(4, sequence >>> 0);
    view.setUint32(8, payload.byteLength);
    view.setUint32(12, offset);
    view.setUint16(16, n);
    view.setUint16(18, count);
    if (first) header.set(channel, LCM_FRAGMENT_HEADER_SIZE);
    const size = Math.min(LCM_FRAGMENT_MAX_PAYLOAD - (first ? channelSize : 0), payload.byteLength - offset);
    datagrams.push([header, payload.subarray(offset, offset + size)]);
    offset += size;
  }
  return datagrams;
}

/** Reads a NUL-terminated channel name of at most 63 bytes starting at `start`. */
function readChannel(bytes: Uint8Array, start: number): { channel: string; end: number } {
  const limit = Math.min(bytes.byteLength, start + LCM_MAX_CHANNEL_LENGTH + 1);
  let nul = -1;
  for (let i = start; i < limit; i++) {
    if (bytes[i] === 0) {
      nul = i - start;
      break;
    }
  }
  if (nul < 0) {
    throw new MalformedDataError(
      limit - start > LCM_MAX_CHANNEL_LENGTH
        ? `LCM channel name is longer than ${LCM_MAX_CHANNEL_LENGTH} bytes.`
        : 'LCM channel name is not NUL-terminated.',
    );
  }
  if (nul === 0) throw new MalformedDataError('LCM channel name is empty.');
  return { channel: decodeChannel(bytes, start, start + nul), end: start + nul + 1 };
}

/**
 * Recently decoded channel names, direct-mapped by length and last byte: traffic repeats a
 * few names, and comparing bytes is cheaper than decoding them for every datagram.
 */
const channelCache: ({ bytes: Uint8Array; name: string } | undefined)[] = new Array(64);

function decodeChannel(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  const slot = (length * 31 + bytes[end - 1]) & 63;
  const hit = channelCache[slot];
  if (hit && hit.bytes.length === length) {
    let same = true;
    for (let i = 0; i < length && same; i++) same = hit.bytes[i] === bytes[start + i];
    if (same) return hit.name;
  }
  const copy = bytes.slice(start, end);
  const name = utf8Decoder.decode(copy);
  channelCache[slot] = { bytes: copy, name };
  return name;
}

/** Big-endian u32 without allocating a DataView per datagram. */
function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/**
 * Parses one received datagram. Checks everything a single datagram can show: magic,
 * header length, channel, fragment numbering, and that the fragment fits its message.
 * @throws MalformedDataError saying what is wrong.
 */
export function parseLcmDatagram(bytes: Uint8Array): LcmDatagram {
  if (bytes.byteLength < LCM_SHORT_HEADER_SIZE) {
    throw new MalformedDataError(`LCM datagram of ${bytes.byteLength} bytes is shorter than any header.`);
  }
  const magic = readUint32(bytes, 0);
  const sequence = readUint32(bytes, 4);
  if (magic === LCM_MAGIC_SHORT) {
    const { channel, end } = readChannel(bytes, LCM_SHORT_HEADER_SIZE);
    return { kind: 'short', sequence, channel, payload: bytes.subarray(end) };
  }
  if (magic !== LCM_MAGIC_FRAGMENT) {
    throw new MalformedDataError(`Not an LCM datagram: magic 0x${magic.toString(16).padStart(8, '0')}.`);
  }
  if (bytes.byteLength < LCM_FRAGMENT_HEADER_SIZE) {
    throw new MalformedDataError(`LCM fragment of ${bytes.byteLength} bytes is shorter than its 20-byte header.`);
  }
  const messageSize = readUint32(bytes, 8);
  const offset = readUint32(bytes, 12);
  const fragmentNumber = (bytes[16] << 8) | bytes[17];
  const fragmentCount = (bytes[18] << 8) | bytes[19];
  if (fragmentNumber >= fragmentCount) {
    throw new MalformedDataError(`LCM fragment number ${fragmentNumber} is not below the fragment count ${fragmentCount}.`);
  }
  if (messageSize > LCM_MAX_MESSAGE_SIZE) {
    throw new MalformedDataError(`LCM fragment claims a ${messageSize}-byte message; the limit is ${LCM_MAX_MESSAGE_SIZE}.`);
  }
  let channel: string | undefined;
  let dataStart = LCM_FRAGMENT_HEADER_SIZE;
  if (fragmentNumber === 0) {
    if (offset !== 0) throw new MalformedDataError(`LCM fragment 0 has offset ${offset}, not 0.`);
    ({ channel, end: dataStart } = readChannel(bytes, LCM_FRAGMENT_HEADER_SIZE));
  }
  const data = bytes.subarray(dataStart);
  if (offset + data.byteLength > messageSize) {
    throw new MalformedDataError(
      `LCM fragment ${fragmentNumber} covers bytes ${offset}..${offset + data.byteLength} of a ${messageSize}-byte message.`,
    );
  }
  return { kind: 'fragment', sequence, messageSize, offset, fragmentNumber, fragmentCount, channel, data };
}
