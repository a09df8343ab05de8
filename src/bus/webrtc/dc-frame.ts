import type { FragmentHeader } from '../nats/fragment-reassembler.js';

/**
 * framebus's DataChannel frame format: every DataChannel message (binary) is one frame.
 * All integers are unsigned big-endian; strings are UTF-8.
 *
 * | kind | name        | layout after the kind byte                                                        |
 * |------|-------------|-----------------------------------------------------------------------------------|
 * | 0    | message     | u16 channel length, channel, payload (the rest)                                   |
 * | 1    | fragment    | u16 channel length, channel, u32 message id, u32 index, u32 count, u32 offset, u32 total, chunk (the rest) |
 * | 2    | subscribe   | u32 subscription id, pattern (the rest; a regular expression matching whole channel names) |
 * | 3    | unsubscribe | u32 subscription id                                                               |
 * | 4    | ping        | u32 token                                                                         |
 * | 5    | pong        | u32 token (answers a ping once every frame before it has been handled)            |
 * | 6    | batch       | u16 count, then `count` times: u16 length, one frame of kinds 0–5 of that length   |
 *
 * A payload larger than what fits in one DataChannel message (the peer's `max-message-size`)
 * travels as fragments: `count` pieces of one message numbered by `message id` (per sender and
 * DataChannel), the piece at byte `offset` of a message of `total` bytes. A peer that only
 * sends small payloads never needs anything but kind 0.
 *
 * A batch carries several small frames that were ready to go at once (sent in the same
 * event-loop turn, or waiting for the send buffer to drain) in one DataChannel message, since
 * each DataChannel message costs the same SCTP work whatever its size. It is handled exactly
 * as its frames one after the other. A batch that does not parse as a whole (a length past
 * its end, bytes after its last frame, a count that does not match, a frame that is itself a
 * batch or not a frame) is dropped as a whole; a lost batch loses only its own frames. Every
 * peer must understand kind 6: framebus batches whatever it sends.
 */
export const FrameKind = { message: 0, fragment: 1, subscribe: 2, unsubscribe: 3, ping: 4, pong: 5, batch: 6 } as const;

/** One decoded DataChannel frame. */
export type Frame =
  | { readonly kind: 'message'; readonly channel: string; readonly payload: Uint8Array }
  | { readonly kind: 'fragment'; readonly channel: string; readonly header: FragmentHeader; readonly chunk: Uint8Array }
  | { readonly kind: 'subscribe'; readonly id: number; readonly pattern: string }
  | { readonly kind: 'unsubscribe'; readonly id: number }
  | { readonly kind: 'ping' | 'pong'; readonly token: number }
  | { readonly kind: 'batch'; readonly frames: readonly InnerFrame[] };

/** A frame that may travel inside a batch: any but a batch. */
export type InnerFrame = Exclude<Frame, { kind: 'batch' }>;

/** Bytes a fragment frame adds before its chunk, besides the channel name. */
export const FRAGMENT_OVERHEAD = 1 + 2 + 5 * 4;
/** Longest channel name a frame carries, bytes. */
export const MAX_FRAME_CHANNEL_BYTES = 0xffff;

/** Bytes a batch adds before its frames (kind, count). */
export const BATCH_HEADER_BYTES = 3;
/** Bytes a batch adds before each of its frames (its length). */
export const BATCH_ENTRY_BYTES = 2;
/** Longest frame a batch can carry, bytes. */
export const MAX_BATCHED_FRAME_BYTES = 0xffff;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function withChannel(kind: number, channel: Uint8Array, fixed: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(3 + channel.byteLength + fixed + body.byteLength);
  out[0] = kind;
  out[1] = channel.byteLength >> 8;
  out[2] = channel.byteLength & 0xff;
  out.set(channel, 3);
  out.set(body, 3 + channel.byteLength + fixed);
  return out;
}

/** The UTF-8 bytes of a channel name, as frames carry it. */
export function channelBytes(channel: string): Uint8Array {
  return encoder.encode(channel);
}

/** A whole payload in one frame. */
export function encodeMessage(channel: Uint8Array, payload: Uint8Array): Uint8Array {
  return withChannel(FrameKind.message, channel, 0, payload);
}

/** One fragment of a payload cut into pieces. */
export function encodeFragment(channel: Uint8Array, h: Omit<FragmentHeader, 'sender'>, chunk: Uint8Array): Uint8Array {
  const out = withChannel(FrameKind.fragment, channel, 20, chunk);
  const view = new DataView(out.buffer, out.byteOffset + 3 + channel.byteLength, 20);
  view.setUint32(0, h.messageId);
  view.setUint32(4, h.index);
  view.setUint32(8, h.count);
  view.setUint32(12, h.offset);
  view.setUint32(16, h.total);
  return out;
}

/** A subscribe (with its pattern), unsubscribe, ping or pong frame. */
export function encodeControl(kind: 'subscribe' | 'unsubscribe' | 'ping' | 'pong', id: number, pattern = ''): Uint8Array {
  const text = kind === 'subscribe' ? encoder.encode(pattern) : new Uint8Array(0);
  const out = new Uint8Array(5 + text.byteLength);
  out[0] = FrameKind[kind];
  new DataView(out.buffer).setUint32(1, id >>> 0);
  out.set(text, 5);
  return out;
}

/**
 * One batch of `frames` (at most 65,535, none a batch, each at most `MAX_BATCHED_FRAME_BYTES`);
 * `bytes` is their total length.
 */
export function encodeBatch(frames: readonly Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(BATCH_HEADER_BYTES + frames.length * BATCH_ENTRY_BYTES + bytes);
  out[0] = FrameKind.batch;
  out[1] = frames.length >> 8;
  out[2] = frames.length & 0xff;
  let at = BATCH_HEADER_BYTES;
  for (const f of frames) {
    out[at] = f.byteLength >> 8;
    out[at + 1] = f.byteLength & 0xff;
    out.set(f, at + BATCH_ENTRY_BYTES);
    at += BATCH_ENTRY_BYTES + f.byteLength;
  }
  return out;
}

/**
 * Decodes one frame; `undefined` for anything that is not a well-formed frame (unknown kind,
 * truncated header, channel or pattern that is not UTF-8, a batch with any fault). Payloads
 * and chunks are views into `data`, not copies.
 */
export function decodeFrame(data: Uint8Array): Frame | undefined {
  if (data[0] !== FrameKind.batch) return decodeInner(data);
  if (data.byteLength < BATCH_HEADER_BYTES) return undefined;
  const count = (data[1] << 8) | data[2];
  const frames: InnerFrame[] = [];
  let at = BATCH_HEADER_BYTES;
  while (at < data.byteLength) {
    if (at + BATCH_ENTRY_BYTES > data.byteLength) return undefined;
    const end = at + BATCH_ENTRY_BYTES + ((data[at] << 8) | data[at + 1]);
    if (end > data.byteLength || frames.length === count) return undefined;
    const frame = data[at + BATCH_ENTRY_BYTES] === FrameKind.batch ? undefined : decodeInner(data.subarray(at + BATCH_ENTRY_BYTES, end));
    if (!frame) return undefined;
    frames.push(frame);
    at = end;
  }
  return count > 0 && frames.length === count ? { kind: 'batch', frames } : undefined;
}

/** The channel name last decoded, and its bytes: frames in a row (a batch, a stream) mostly share one. */
let lastName = { bytes: new Uint8Array(0), text: '' };

/** Decodes a channel name (UTF-8). @throws TypeError when it is not UTF-8. */
function channelName(bytes: Uint8Array): string {
  const last = lastName.bytes;
  if (bytes.byteLength === last.byteLength) {
    let i = 0;
    while (i < bytes.byteLength && bytes[i] === last[i]) i++;
    if (i === bytes.byteLength) return lastName.text;
  }
  const text = decoder.decode(bytes);
  lastName = { bytes: bytes.slice(), text };
  return text;
}

function decodeInner(data: Uint8Array): InnerFrame | undefined {
  if (data.byteLength < 1) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const kind = data[0];
  try {
    if (kind === FrameKind.message || kind === FrameKind.fragment) {
      if (data.byteLength < 3) return undefined;
      const length = view.getUint16(1);
      const start = 3 + length + (kind === FrameKind.fragment ? 20 : 0);
      if (data.byteLength < start) return undefined;
      const channel = channelName(data.subarray(3, 3 + length));
      const rest = data.subarray(start);
      if (kind === FrameKind.message) return { kind: 'message', channel, payload: rest };
      const at = 3 + length;
      const header: FragmentHeader = {
        sender: 'peer',
        messageId: view.getUint32(at),
        index: view.getUint32(at + 4),
        count: view.getUint32(at + 8),
        offset: view.getUint32(at + 12),
        total: view.getUint32(at + 16),
      };
      return { kind: 'fragment', channel, header, chunk: rest };
    }
    if (kind > FrameKind.pong || data.byteLength < 5) return undefined;
    const id = view.getUint32(1);
    if (kind === FrameKind.subscribe) return { kind: 'subscribe', id, pattern: decoder.decode(data.subarray(5)) };
    if (data.byteLength !== 5) return undefined;
    if (kind === FrameKind.unsubscribe) return { kind: 'unsubscribe', id };
    return { kind: kind === FrameKind.ping ? 'ping' : 'pong', token: id };
  } catch {
    return undefined;
  }
}
