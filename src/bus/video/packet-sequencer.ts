import type { VideoPacket } from '../../core/packet.js';

/** What the sequencer decided about one packet. */
export type SequencerVerdict =
  /** Pass it on: it continues a decodable stream. */
  | 'accept'
  /** Already passed on (a late joiner sees some packets both live and in the cached GOP). */
  | 'duplicate'
  /** Held back: the stream is waiting for a key packet. */
  | 'skip';

/** Where a packet came from. */
export type PacketOrigin = 'live' | 'cache';

/**
 * Turns the packets a video subscriber receives, live and from the publisher's GOP cache,
 * into one stream in which every packet can be decoded from the ones before it: it starts
 * at a key packet, drops duplicates, and after a sequence gap holds everything back until
 * the next key packet. A live key packet with a sequence at or below the last one means the
 * publisher restarted, and starts a new stream.
 */
export class PacketSequencer {
  private last: number | undefined;
  private waitingForKey = true;
  /** Sequence numbers that never arrived, summed over all gaps. */
  lost = 0;
  /** Gaps seen (each closes the stream until the next key packet). */
  gaps = 0;
  /**
   * Holes seen while already waiting for a key packet: the missing packet may be the key
   * packet asked for, so it is worth asking again.
   */
  holesWhileWaiting = 0;

  /** True until the first key packet, and again after a gap until the next one. */
  get waiting(): boolean {
    return this.waitingForKey;
  }

  /** Sequence of the last packet accepted, or -1 when none. */
  get lastSequence(): number {
    return this.last ?? -1;
  }

  /** Decides about `packet`. */
  offer(packet: VideoPacket, origin: PacketOrigin): SequencerVerdict {
    if (this.last !== undefined && packet.sequence <= this.last) {
      if (!(origin === 'live' && packet.key)) return 'duplicate';
      this.last = undefined;
    }
    if (this.last !== undefined && packet.sequence > this.last + 1) {
      this.lost += packet.sequence - this.last - 1;
      if (this.waitingForKey) this.holesWhileWaiting++;
      else this.gaps++;
      this.waitingForKey = true;
    }
    if (this.waitingForKey && !packet.key) {
      // Before the first key packet the cached GOP may still bring older packets, so only a
      // started stream moves its position past what it holds back.
      if (this.last !== undefined) this.last = packet.sequence;
      return 'skip';
    }
    this.waitingForKey = false;
    this.last = packet.sequence;
    return 'accept';
  }
}
