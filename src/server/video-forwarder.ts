import type { ChannelId } from '@foxglove/ws-protocol';
import type { VideoPacket } from '../core/packet.js';
import { compressedVideoMessage } from './foxglove-channels.js';

/** Where a {@link VideoForwarder} sends (a FoxgloveSession fits). */
export interface VideoSink {
  /** True while the viewer's socket can take more without going over its limit. */
  readonly hasRoom: boolean;
  /** Sends one message on `channel`; `logTime` in ns since the Unix epoch. */
  send(channel: ChannelId, logTime: bigint, payload: Uint8Array): void;
}

/**
 * Sends one video topic to one viewer without ever handing its decoder a broken stream: it
 * starts at a key packet, and when the viewer falls behind (its socket has no room) it drops
 * packets until the next key packet instead of queueing without end.
 */
export class VideoForwarder {
  private awaitingKey = true;
  /** Packets not sent because the viewer lagged or had no key packet yet. */
  dropped = 0;

  constructor(
    private readonly sink: VideoSink,
    private readonly channel: ChannelId,
    private readonly coordinateFrame: string,
  ) {}

  /**
   * Offers one packet.
   * @param logTime when the server received it, ns since the Unix epoch.
   * @returns true when it was sent.
   */
  push(packet: VideoPacket, logTime: bigint): boolean {
    if (this.awaitingKey && !packet.key) {
      this.dropped++;
      return false;
    }
    if (!this.sink.hasRoom) {
      this.awaitingKey = true;
      this.dropped++;
      return false;
    }
    this.awaitingKey = false;
    this.sink.send(this.channel, logTime, compressedVideoMessage(packet, this.coordinateFrame));
    return true;
  }
}
