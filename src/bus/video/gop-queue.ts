import { InvalidArgumentError } from '../../core/errors.js';
import type { VideoPacket } from '../../core/packet.js';

/** Bounds of a subscriber's queue. */
export interface GopQueueOptions {
  /** Most packets waiting. Default 512: more than a long GOP, so a late joiner's catch-up fits. */
  maxPackets?: number;
  /** Most bytes of packet data waiting. Default 64 MiB. */
  maxBytes?: number;
}

/**
 * A bounded FIFO of video packets between a subscription and its (possibly slow) consumer.
 * When full it drops the rest of the current GOP, never a packet that later packets depend
 * on while keeping those: once one delta packet is dropped, every packet up to the next key
 * packet is dropped too. A key packet that arrives while the queue is full replaces the
 * stale packets queued before it.
 */
export class GopQueue {
  private readonly maxPackets: number;
  private readonly maxBytes: number;
  private items: VideoPacket[] = [];
  private head = 0;
  private size = 0;
  private dropping = false;
  /** Packets dropped so far. */
  dropped = 0;

  constructor(options: GopQueueOptions = {}) {
    this.maxPackets = options.maxPackets ?? 512;
    this.maxBytes = options.maxBytes ?? 64 * 2 ** 20;
    for (const [name, v] of [
      ['maxPackets', this.maxPackets],
      ['maxBytes', this.maxBytes],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new InvalidArgumentError(`Queue ${name} must be a positive integer, got ${String(v)}.`);
    }
  }

  /** Packets waiting. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Bytes of packet data waiting. */
  get bytes(): number {
    return this.size;
  }

  /**
   * Queues a packet, or drops it (and what depends on it) when the queue is full.
   * @returns false when `packet` was dropped.
   */
  push(packet: VideoPacket): boolean {
    const full = this.length + 1 > this.maxPackets || this.size + packet.data.byteLength > this.maxBytes;
    if (packet.key) {
      this.dropping = false;
      if (full) {
        this.dropped += this.length;
        this.items = [];
        this.head = 0;
        this.size = 0;
      }
    } else if (this.dropping || full) {
      this.dropping = true;
      this.dropped++;
      return false;
    }
    this.items.push(packet);
    this.size += packet.data.byteLength;
    return true;
  }

  /** Takes the oldest packet, or `undefined` when empty. */
  shift(): VideoPacket | undefined {
    if (this.head >= this.items.length) return undefined;
    const packet = this.items[this.head];
    this.items[this.head++] = undefined as unknown as VideoPacket;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.size -= packet.data.byteLength;
    return packet;
  }

  /** Drops everything waiting (not counted as drops), e.g. on unsubscribe. */
  clear(): void {
    this.items = [];
    this.head = 0;
    this.size = 0;
    this.dropping = false;
  }
}
