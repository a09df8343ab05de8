import { InvalidArgumentError } from '../core/errors.js';

/**
 * A least-recently-used cache bounded by the bytes of what it holds, as its owner counts them.
 * It never holds more than `limit` bytes: adding an entry evicts the least recently used
 * ones first, and an entry larger than the whole limit is not kept at all.
 */
export class ByteLru<K, V> {
  /** Least recently used first: a `Map` iterates in insertion order. */
  private readonly entries = new Map<K, { value: V; bytes: number }>();
  private held = 0;

  /** @param limit Most bytes held at once; 0 keeps nothing. */
  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidArgumentError(`A cache limit must be a whole number of bytes ≥ 0, got ${String(limit)}.`);
  }

  /** Bytes held now; never above `limit`. */
  get bytes(): number {
    return this.held;
  }

  /** Number of entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** The value under `key`, marked most recently used; undefined when not held. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Holds `value` as most recently used, replacing what `key` held; evicts to stay within `limit`. */
  set(key: K, value: V, bytes: number): void {
    this.delete(key);
    if (bytes > this.limit) return;
    for (const [k, e] of this.entries) {
      if (this.held + bytes <= this.limit) break;
      this.entries.delete(k);
      this.held -= e.bytes;
    }
    this.entries.set(key, { value, bytes });
    this.held += bytes;
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.held -= entry.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
  }
}
