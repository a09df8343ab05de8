/** Where a received payload came from and when. */
export interface ReceivedInfo {
  /** The channel (LCM channel name or NATS subject without framebus's prefix). */
  readonly channel: string;
  /** Arrival time, ns since the Unix epoch. */
  readonly receivedAt: bigint;
}

/** Counters every transport keeps; bad input is dropped and counted, never thrown. */
export interface TransportStats {
  sent: number;
  received: number;
  /** Datagrams or messages that failed to parse and were dropped. */
  malformed: number;
  /** Fragmented messages abandoned before completion. */
  incomplete: number;
  /** Messages not sent because the link was down and the outage buffer was full (NATS). */
  dropped?: number;
  /** Times the transport reconnected after losing its server (NATS: to any cluster member). */
  reconnects?: number;
  /** Times the transport lost its server. */
  disconnects?: number;
  /** Slow-consumer events the client reported. */
  slowConsumers?: number;
}

/** Told `false` when a transport loses its server and `true` once it is connected again. */
export type LinkListener = (up: boolean) => void;

/**
 * Moves opaque byte payloads on named channels. LCM and NATS implement this; the `Bus`
 * layer on top handles message types, video topics and QoS.
 */
export interface ByteTransport {
  /** The URL this transport was opened with, normalised. */
  readonly url: string;
  /** Sends one payload on `channel`. Large payloads are fragmented as the transport requires. */
  publish(channel: string, payload: Uint8Array): Promise<void>;
  /**
   * Calls `handler` for every complete payload on a channel whose whole name matches
   * `pattern` (a regular expression source, as LCM uses; `'.*'` for everything).
   * @returns a function that removes this subscription.
   */
  subscribe(pattern: string, handler: (payload: Uint8Array, info: ReceivedInfo) => void): () => void;
  /**
   * Resolves once everything published before has left and every subscription made so far
   * has taken effect (NATS: the server acknowledged it; LCM: the socket listens), so messages
   * peers send from now on reach them. Transports whose subscriptions take effect at once may
   * leave it out.
   */
  flush?(): Promise<void>;
  /** Longest channel name this transport carries, bytes (LCM: 63); absent for no limit. */
  readonly maxChannelBytes?: number;
  readonly stats: TransportStats;
  /** False while a connection-based transport has lost its server; absent or true otherwise. */
  readonly linkUp?: boolean;
  /** Calls `listener` on each loss and recovery of the link. @returns a function that removes it. */
  onLinkChange?(listener: LinkListener): () => void;
  close(): Promise<void>;
}
