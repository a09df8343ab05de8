import type { Channel } from '@foxglove/ws-protocol';
import protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor.js';

/** A `foxglove.CompressedVideo` or `foxglove.CompressedImage` message. */
export interface CompressedMessage {
  /** Presentation (capture) time, ns since the Unix epoch. */
  readonly timestampNs: bigint;
  /** `h264`, `h265`, `av1`, `jpeg`, `png`. */
  readonly format: string;
  /** Annex B access unit, or the whole image file. */
  readonly data: Uint8Array;
}

/** Turns one message of a channel into a {@link CompressedMessage}; throws on malformed input. */
export type CompressedMessageDecoder = (bytes: Uint8Array) => CompressedMessage;

const text = new TextDecoder();

function fromBase64(s: string): Uint8Array {
  const binary = atob(s);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function checked(sec: unknown, nsec: unknown, format: unknown, data: unknown): CompressedMessage {
  if ((typeof sec !== 'number' && typeof sec !== 'string') || typeof nsec !== 'number' || typeof format !== 'string' || !(data instanceof Uint8Array)) {
    throw new Error('Message lacks timestamp, format or data.');
  }
  return { timestampNs: BigInt(sec) * 1_000_000_000n + BigInt(nsec), format, data };
}

/**
 * A decoder for a compressed video or image channel as the server advertised it: protobuf
 * (schema: base64 FileDescriptorSet, decoded with protobufjs) or JSON (data in base64).
 * @throws Error for another encoding or a schema that does not parse.
 */
export function compressedMessageDecoder(channel: Channel): CompressedMessageDecoder {
  if (channel.encoding === 'protobuf') {
    const root = (protobuf.Root as unknown as { fromDescriptor(d: Uint8Array): protobuf.Root }).fromDescriptor(fromBase64(channel.schema));
    const type = root.lookupType(channel.schemaName);
    return (bytes) => {
      const m = type.toObject(type.decode(bytes), { longs: String }) as {
        timestamp?: { seconds?: string; nanos?: number };
        format?: string;
        data?: Uint8Array;
      };
      return checked(m.timestamp?.seconds ?? '0', m.timestamp?.nanos ?? 0, m.format, m.data);
    };
  }
  if (channel.encoding === 'json') {
    return (bytes) => {
      const m = JSON.parse(text.decode(bytes)) as { timestamp?: { sec?: number; nsec?: number }; format?: string; data?: string };
      return checked(m.timestamp?.sec, m.timestamp?.nsec, m.format, typeof m.data === 'string' ? fromBase64(m.data) : undefined);
    };
  }
  throw new Error(`Channel ${channel.topic} is encoded as ${channel.encoding}; this viewer reads protobuf and JSON.`);
}
