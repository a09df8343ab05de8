import { InvalidArgumentError } from '../../core/errors.js';

/** Where one fragment belongs in the message it was cut from. */
export interface FragmentHeader {
  /** Identifies the sending transport instance (a short random token). */
  readonly sender: string;
  /** Message number, unique per sender. */
  readonly messageId: number;
  /** 0-based fragment number. */
  readonly index: number;
  /** Fragments the message was cut into. */
  readonly count: number;
  /** Byte offset of this fragment in the message. */
  readonly offset: number;
  /** Bytes in the whole message. */
  readonly total: number;
}

/** Limits that keep reassembly memory bounded whatever arrives. */
export interface ReassemblerOptions {
  /** Largest message accepted, bytes. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Bytes held by all incomplete messages together; the oldest are abandoned beyond it. Default 128 MiB. */
  maxPendingBytes?: number;
  /** Milliseconds an incomplete message may wait for its next fragment. Default 2,000. */
  timeoutMs?: number;
  /** Most fragments per message. Default 65,536. */
  maxFragments?: number;
}

/** What reassembly did, cumulative. */
export interface ReassemblerStats {
  /** Messages completed. */
  completed: number;
  /** Messages abandoned before completion: timed out, evicted for memory, or superseded. */
  incomplete: number;
  /** Fragments dropped because their header or size made no sense. */
  malformed: number;
}

interface Assembly {
  readonly header: FragmentHeader;
  readonly data: Uint8Array;
  readonly seen: Uint8Array;
  fragments: number;
  bytes: number;
  touched: number;
}

const TOKEN = /^[A-Za-z0-9_-]{1,32}$/;
const UINT = /^(0|[1-9][0-9]{0,14})$/;

/** Formats a header as the one-line value of the `Framebus-Fragment` NATS header. */
export function formatFragmentHeader(h: FragmentHeader): string {
  return `${h.sender} ${h.messageId} ${h.index} ${h.count} ${h.offset} ${h.total}`;
}

/** Parses a `Framebus-Fragment` header value; `undefined` when it is not one `formatFragmentHeader` writes. */
export function parseFragmentHeader(value: string): FragmentHeader | undefined {
  const parts = value.split(' ');
  if (parts.length !== 6 || !TOKEN.test(parts[0])) return undefined;
  const nums = parts.slice(1).map((p) => (UINT.test(p) ? Number(p) : NaN));
  if (nums.some((n) => !Number.isSafeInteger(n))) return undefined;
  const [messageId, index, count, offset, total] = nums;
  return { sender: parts[0], messageId, index, count, offset, total };
}

/**
 * Cuts `payload` into fragments of at most `chunkBytes` bytes each.
 * @throws InvalidArgumentError when `chunkBytes` is not a positive integer.
 */
export function splitIntoFragments(
  payload: Uint8Array,
  chunkBytes: number,
  sender: string,
  messageId: number,
): { header: FragmentHeader; chunk: Uint8Array }[] {
  if (!Number.isInteger(chunkBytes) || chunkBytes <= 0) {
    throw new InvalidArgumentError(`Fragment size must be a positive integer, got ${String(chunkBytes)}.`);
  }
  const count = Math.max(1, Math.ceil(payload.byteLength / chunkBytes));
  return Array.from({ length: count }, (_, index) => {
    const offset = index * chunkBytes;
    return {
      header: { sender, messageId, index, count, offset, total: payload.byteLength },
      chunk: payload.subarray(offset, Math.min(payload.byteLength, offset + chunkBytes)),
    };
  });
}

/**
 * Puts fragmented messages back together. Never throws on input: fragments that do not fit
 * are counted as malformed, messages that stall are abandoned after a timeout, and the bytes
 * held for incomplete messages never exceed `maxPendingBytes`.
 */
export class FragmentReassembler {
  readonly stats: ReassemblerStats = { completed: 0, incomplete: 0, malformed: 0 };
  private readonly maxMessageBytes: number;
  private readonly maxPendingBytes: number;
  private readonly timeoutMs: number;
  private readonly maxFragments: number;
  /** Insertion order is age order: the first entry is the oldest. */
  private readonly assemblies = new Map<string, Assembly>();
  private held = 0;

  constructor(options: ReassemblerOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? 64 * 2 ** 20;
    this.maxPendingBytes = options.maxPendingBytes ?? 128 * 2 ** 20;
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.maxFragments = options.maxFragments ?? 65_536;
    for (const [name, v] of Object.entries({
      maxMessageBytes: this.maxMessageBytes,
      maxPendingBytes: this.maxPendingBytes,
      timeoutMs: this.timeoutMs,
      maxFragments: this.maxFragments,
    })) {
      if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got ${String(v)}.`);
    }
  }

  /** Bytes currently held for incomplete messages. */
  get pendingBytes(): number {
    return this.held;
  }

  /** Incomplete messages currently held. */
  get pendingMessages(): number {
    return this.assemblies.size;
  }

  /**
   * Takes one fragment.
   * @param stream separates independent fragment streams (e.g. one per subscription).
   * @param now milliseconds on a monotonic clock.
   * @returns the whole message when this fragment completed it.
   */
  accept(stream: string, header: FragmentHeader, chunk: Uint8Array, now = performance.now()): Uint8Array | undefined {
    this.expire(now);
    const { index, count, offset, total } = header;
    const valid =
      count >= 1 &&
      count <= this.maxFragments &&
      index < count &&
      total <= this.maxMessageBytes &&
      total + count <= this.maxPendingBytes &&
      offset + chunk.byteLength <= total &&
      (chunk.byteLength > 0 || total === 0);
    if (!valid) {
      this.stats.malformed++;
      return undefined;
    }
    const key = `${stream}\n${header.sender}\n${header.messageId}`;
    let a = this.assemblies.get(key);
    if (a && (a.header.count !== count || a.header.total !== total)) {
      this.stats.malformed++;
      this.abandon(key, a);
      return undefined;
    }
    if (!a) {
      if (count === 1) {
        if (chunk.byteLength !== total) {
          this.stats.malformed++;
          return undefined;
        }
        this.stats.completed++;
        return chunk;
      }
      this.makeRoom(total + count);
      a = { header, data: new Uint8Array(total), seen: new Uint8Array(count), fragments: 0, bytes: 0, touched: now };
      this.assemblies.set(key, a);
      this.held += total + count;
    }
    if (a.seen[index] === 1) return undefined;
    a.seen[index] = 1;
    a.fragments++;
    a.bytes += chunk.byteLength;
    a.data.set(chunk, offset);
    a.touched = now;
    // Refresh its age so eviction takes the message that has waited longest.
    this.assemblies.delete(key);
    this.assemblies.set(key, a);
    if (a.fragments < count) {
      if (a.bytes >= total) {
        this.stats.malformed++;
        this.abandon(key, a);
      }
      return undefined;
    }
    this.assemblies.delete(key);
    this.held -= a.header.total + a.header.count;
    if (a.bytes !== total) {
      this.stats.malformed++;
      return undefined;
    }
    this.stats.completed++;
    return a.data;
  }

  /** Abandons messages that have waited longer than the timeout. */
  expire(now = performance.now()): void {
    for (const [key, a] of this.assemblies) {
      if (now - a.touched <= this.timeoutMs) break;
      this.abandon(key, a);
    }
  }

  /** Abandons everything held. */
  clear(): void {
    for (const [key, a] of this.assemblies) this.abandon(key, a);
  }

  private makeRoom(bytes: number): void {
    for (const [key, a] of this.assemblies) {
      if (this.held + bytes <= this.maxPendingBytes) break;
      this.abandon(key, a);
    }
  }

  private abandon(key: string, a: Assembly): void {
    this.assemblies.delete(key);
    this.held -= a.header.total + a.header.count;
    this.stats.incomplete++;
  }
}
