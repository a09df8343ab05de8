import { InvalidArgumentError } from '../../src/core/errors.js';
import type { ByteTransport, ReceivedInfo, TransportStats } from '../../src/bus/transport.js';

/** How much loss to inject. */
export interface LossyTransportOptions {
  /** Probability that a received payload is dropped, 0 to 1. */
  lossRate: number;
  /** Seed of the loss pattern: the same seed drops the same payloads of the same stream. Default 1. */
  seed?: number;
  /** Called with each dropped payload, e.g. to tell which packets a test lost. */
  onDrop?: (payload: Uint8Array, info: ReceivedInfo) => void;
}

/**
 * Wraps a `ByteTransport` and drops a random share of the payloads it receives (publishing
 * is untouched), to test and measure recovery from loss on a real transport. Deterministic
 * for a given seed and arrival order.
 */
export class LossyTransport implements ByteTransport {
  /** Payloads dropped so far. */
  dropped = 0;
  private state: number;

  constructor(
    private readonly inner: ByteTransport,
    private readonly options: LossyTransportOptions,
  ) {
    if (!(Number.isFinite(options.lossRate) && options.lossRate >= 0 && options.lossRate <= 1)) {
      throw new InvalidArgumentError(`lossRate must be a probability from 0 to 1, got ${String(options.lossRate)}.`);
    }
    this.state = (options.seed ?? 1) >>> 0;
  }

  get url(): string {
    return this.inner.url;
  }

  get stats(): TransportStats {
    return this.inner.stats;
  }

  publish(channel: string, payload: Uint8Array): Promise<void> {
    return this.inner.publish(channel, payload);
  }

  subscribe(pattern: string, handler: (payload: Uint8Array, info: ReceivedInfo) => void): () => void {
    return this.inner.subscribe(pattern, (payload, info) => {
      if (this.random() < this.options.lossRate) {
        this.dropped++;
        this.options.onDrop?.(payload, info);
        return;
      }
      handler(payload, info);
    });
  }

  async flush(): Promise<void> {
    await this.inner.flush?.();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** mulberry32: small, fast, and good enough to pick which payloads to drop. */
  private random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
