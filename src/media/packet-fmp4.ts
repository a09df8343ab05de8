import { InvalidArgumentError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import { FMP4_VIDEO_TIMESCALE, Fmp4Muxer } from './fmp4-muxer.js';

/** ns → 90 kHz ticks, rounded to nearest. */
function ticks(ns: bigint): bigint {
  return (ns * BigInt(FMP4_VIDEO_TIMESCALE) + 500_000_000n) / 1_000_000_000n;
}

/**
 * Remuxes a live `VideoPacket` stream (a bus topic) into fragmented MP4 without re-encoding:
 * packets before the first key packet are skipped; times start at 0 at that packet. Each
 * packet becomes its own fragment once the next one gives its duration, so a player is one
 * frame behind the bus.
 */
export class PacketFmp4Stream {
  private muxer: Fmp4Muxer | undefined;
  private held: VideoPacket | undefined;
  private start = 0n;
  /** Packets skipped: before the first key packet, or of another codec/size, or not after the previous one in time. */
  skipped = 0;

  constructor(private readonly onOutput: (kind: 'init' | 'fragment', bytes: Uint8Array, mimeType: string) => void) {}

  /** Adds one packet; emits the init segment at the first key packet and a fragment per previous packet. */
  push(packet: VideoPacket): void {
    if (packet?.kind !== 'video-packet') throw new InvalidArgumentError('PacketFmp4Stream.push() takes a VideoPacket.');
    if (!this.muxer) {
      if (!packet.key) {
        this.skipped++;
        return;
      }
      this.muxer = Fmp4Muxer.open({ codec: packet.codec, width: packet.width, height: packet.height, keyPacket: packet.data });
      this.start = packet.timestamp;
      this.onOutput('init', this.muxer.init, this.muxer.mimeType);
      this.held = packet;
      return;
    }
    const held = this.held!;
    if (packet.codec !== held.codec || packet.width !== held.width || packet.height !== held.height || packet.timestamp <= held.timestamp) {
      this.skipped++;
      return;
    }
    const pts = ticks(held.timestamp - this.start);
    this.muxer.writeVideo(held.data, pts, ticks(packet.timestamp - this.start) - pts, held.key);
    this.onOutput('fragment', this.muxer.flushFragment(), this.muxer.mimeType);
    this.held = packet;
  }

  /** Frees the muxer. Idempotent. */
  close(): void {
    this.muxer?.close();
    this.muxer = undefined;
  }
}
