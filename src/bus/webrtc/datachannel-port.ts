/**
 * One open DataChannel as framebus uses it, whatever WebRTC library provides it: binary
 * messages out and in, the send buffer's level and its low-water callback, the peer's
 * negotiated `max-message-size`. node-datachannel implements it in production; the bench
 * wraps werift in it to compare the two on the same code.
 */
export interface DataChannelPort {
  /** The channel's label (`reliable` or `unreliable` for framebus's channels). */
  readonly label: string;
  /** Largest message the peer accepts, bytes (SDP `a=max-message-size`, 65,536 when absent). */
  readonly maxMessageSize: number;
  /** Bytes queued in the library, not yet handed to the network. */
  bufferedAmount(): number;
  /** Queues one binary message. @throws when the channel is closed. */
  send(message: Uint8Array): void;
  /** Calls `onLow` whenever `bufferedAmount()` falls to `threshold` bytes or below. */
  onBufferedAmountLow(threshold: number, onLow: () => void): void;
  /** Calls `handler` for each binary message received (text messages are passed as UTF-8). */
  onMessage(handler: (message: Uint8Array) => void): void;
  /** Calls `handler` once when the channel closes, from either side. */
  onClosed(handler: () => void): void;
  close(): void;
}

/** framebus's two DataChannels of one peer connection. */
export interface DataChannelPair {
  /** Ordered, fully reliable: state, video packets, control frames. */
  readonly reliable: DataChannelPort;
  /** Unordered, `maxRetransmits: 0`: commands, where fresh beats complete. */
  readonly unreliable: DataChannelPort;
}

/** Labels and options of framebus's DataChannels; a foreign peer opens channels with these labels. */
export const DATA_CHANNELS = {
  reliable: { label: 'reliable', ordered: true },
  unreliable: { label: 'unreliable', ordered: false, maxRetransmits: 0 },
} as const;

/** Turns whatever a library hands to a message callback into bytes (no copy for binary). */
export function messageBytes(message: string | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (typeof message === 'string') return new TextEncoder().encode(message);
  if (message instanceof ArrayBuffer) return new Uint8Array(message);
  return new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
}
