import type { ChannelId } from '@foxglove/ws-protocol';
import type { VideoPacket } from '../core/packet.js';
import { compressedVideoMessage } from './foxglove-channels.js';
import type { FoxgloveSession } from './foxglove-session.js';

/**
 * Sends one video topic to one viewer without ever handing its decoder a broken stream: it
 * starts at a key packet, and when the viewer falls behind (its socket buffer is over the
 * bound) it drops packets until the next key packet instead of queueing without end.
 */
export class VideoForwarder {
  private awaitingKey = true;
  /** Packets not sent because the viewer lagged or had no key packet yet. */
  dropped = 0;

  constructor(
    private readonly session: FoxgloveSession,
    private readonly channel: ChannelId,
    private readonly coordinateFrame: string,
    /** Socket buffer, bytes, above which packets are dropped until the next key packet. */
    private readonly maxBufferedBytes: number,
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
    if (this.session.bufferedBytes > this.maxBufferedBytes) {
      this.awaitingKey = true;
      this.dropped++;
      return false;
    }
    this.awaitingKey = false;
    this.session.send(this.channel, logTime, compressedVideoMessage(packet, this.coordinateFrame));
    return true;
  }
}
