/** A `foxglove.CompressedVideo` or `foxglove.CompressedImage` message as the server sends it (JSON). */
export interface CompressedMessage {
  /** Presentation (capture) time, ns since the Unix epoch. */
  readonly timestampNs: bigint;
  /** `h264`, `h265`, `av1`, `jpeg`, `png`. */
  readonly format: string;
  /** Annex B access unit, or the whole image file. */
  readonly data: Uint8Array;
}

const text = new TextDecoder();

type Base64Decoder = { fromBase64?(s: string): Uint8Array };

function fromBase64(s: string): Uint8Array {
  const native = (Uint8Array as unknown as Base64Decoder).fromBase64;
  if (native) return native(s);
  const binary = atob(s);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Parses one JSON-encoded compressed video or image message.
 * @throws Error when the JSON lacks the fields the Foxglove schema requires.
 */
export function parseCompressedMessage(bytes: Uint8Array): CompressedMessage {
  const m = JSON.parse(text.decode(bytes)) as { timestamp?: { sec?: unknown; nsec?: unknown }; format?: unknown; data?: unknown };
  const sec = m.timestamp?.sec;
  const nsec = m.timestamp?.nsec;
  if (typeof sec !== 'number' || typeof nsec !== 'number' || typeof m.format !== 'string' || typeof m.data !== 'string') {
    throw new Error('Message lacks timestamp, format or data.');
  }
  return { timestampNs: BigInt(sec) * 1_000_000_000n + BigInt(nsec), format: m.format, data: fromBase64(m.data) };
}
