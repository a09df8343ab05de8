import { InvalidArgumentError } from '../../core/errors.js';
import type { VideoPacket } from '../../core/packet.js';

/** Bounds of a keyframe cache. */
export interface GopCacheOptions {
  /** Most bytes of packet data held. Default 64 MiB. */
  maxBytes?: number;
  /** Most packets held. Default 10,000 (a GOP of over 5 minutes at 30 fps). */
  maxPackets?: number;
}

/**
 * The current group of pictures of a stream: the last key packet and every packet after
 * it, which is exactly what a late joiner needs to show the current picture. A GOP that
 * outgrows the bounds, or has a hole in its sequence, is dropped until the next key packet.
 */
export class GopCache {
  private readonly maxBytes: number;
  private readonly maxPackets: number;
  private gop: VideoPacket[] = [];
  private size = 0;

  constructor(options: GopCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? 64 * 2 ** 20;
    this.maxPackets = options.maxPackets ?? 10_000;
    for (const [name, v] of [
      ['maxBytes', this.maxBytes],
      ['maxPackets', this.maxPackets],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new InvalidArgumentError(`GOP cache ${name} must be a positive integer, got ${String(v)}.`);
    }
  }

  /** Records a packet that was just published. */
  push(packet: VideoPacket): void {
    if (packet.key) {
      this.gop = [];
      this.size = 0;
    } else {
      const last = this.gop.at(-1);
      if (!last || packet.sequence !== last.sequence + 1) {
        this.clear();
        return;
      }
    }
    if (this.gop.length + 1 > this.maxPackets || this.size + packet.data.byteLength > this.maxBytes) {
      this.clear();
      return;
    }
    this.gop.push(packet);
    this.size += packet.data.byteLength;
  }

  /** The cached GOP, key packet first; empty when there is no complete one. */
  packets(): readonly VideoPacket[] {
    return this.gop;
  }

  /** Bytes of packet data held. */
  get bytes(): number {
    return this.size;
  }

  /** Forgets the cached GOP. */
  clear(): void {
    this.gop = [];
    this.size = 0;
  }
}
