import { InvalidArgumentError, MalformedDataError } from '../../core/errors.js';
import {
  LCM_MAX_DATAGRAM_SIZE,
  LCM_MAX_MESSAGE_SIZE,
  parseLcmDatagram,
  type LcmFragmentDatagram,
} from './lcm-datagram.js';

/** Limits on what incomplete messages may hold; all have safe defaults. */
export interface LcmReassemblerOptions {
  /** Largest message payload accepted, bytes. Default 256 MiB, liblcm's limit. */
  maxMessageBytes?: number;
  /** Bytes all incomplete messages together may hold; the least recently active go first. Default 256 MiB. */
  maxBufferedBytes?: number;
  /** Incomplete messages one sender may have at once; its oldest goes first. Default 4. */
  maxMessagesPerSender?: number;
  /** An incomplete message that got no fragment for this long is abandoned, ms. Default 2000. */
  staleAfterMs?: number;
}

/** A complete message out of the reassembler. */
export interface LcmMessage {
  readonly channel: string;
  /** The message payload (a view into the datagram for short messages). */
  readonly payload: Uint8Array;
  /** The sender's message counter. */
  readonly sequence: number;
}

/** What went wrong with dropped input: bad bytes, or a message that never completed. */
export type LcmDropKind = 'malformed' | 'incomplete';

interface Pending {
  readonly key: string;
  readonly sender: string;
  readonly sequence: number;
  readonly messageSize: number;
  readonly fragmentCount: number;
  channel: string | undefined;
  readonly fragments: Map<number, LcmFragmentDatagram>;
  /** Payload bytes received so far. */
  received: number;
  /** Bytes held, counting whole datagrams (the fragments keep them alive). */
  held: number;
  lastActivityMs: number;
}

function positiveOption(options: LcmReassemblerOptions, name: keyof LcmReassemblerOptions, fallback: number): number {
  const v = options[name] ?? fallback;
  if (!Number.isFinite(v) || v <= 0) {
    throw new InvalidArgumentError(`LCM reassembler option ${name} must be a positive number, got ${String(v)}.`);
  }
  return v;
}

/**
 * Turns datagrams from many senders into complete LCM messages, within fixed memory.
 *
 * Senders are told apart by a caller-given key (address:port). Fragments may arrive in any
 * order; a message completes when all its fragments are in and tile its payload exactly.
 * Nothing here throws on bad input: every dropped datagram or abandoned message is reported
 * once to `onDrop`. Time comes from the caller, so the class is deterministic.
 */
export class LcmReassembler {
  private readonly maxMessageBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly maxPerSender: number;
  private readonly staleAfterMs: number;
  /** Incomplete messages, least recently active first. */
  private readonly pending = new Map<string, Pending>();
  private readonly bySender = new Map<string, Pending[]>();
  private held = 0;

  constructor(
    options: LcmReassemblerOptions,
    private readonly onDrop: (kind: LcmDropKind, reason: string) => void,
  ) {
    this.maxMessageBytes = Math.min(positiveOption(options, 'maxMessageBytes', LCM_MAX_MESSAGE_SIZE), LCM_MAX_MESSAGE_SIZE);
    this.maxBufferedBytes = positiveOption(options, 'maxBufferedBytes', LCM_MAX_MESSAGE_SIZE);
    if (this.maxBufferedBytes < LCM_MAX_DATAGRAM_SIZE) {
      throw new InvalidArgumentError(`LCM reassembler maxBufferedBytes must be at least one datagram (${LCM_MAX_DATAGRAM_SIZE}).`);
    }
    this.maxPerSender = Math.floor(positiveOption(options, 'maxMessagesPerSender', 4));
    this.staleAfterMs = positiveOption(options, 'staleAfterMs', 2000);
  }

  /** Bytes held by incomplete messages now. Never more than `maxBufferedBytes`. */
  get bufferedBytes(): number {
    return this.held;
  }

  /** Incomplete messages held now. */
  get pendingMessages(): number {
    return this.pending.size;
  }

  /**
   * Takes one received datagram from `sender` at time `nowMs` (any monotonic ms clock).
   * @returns the message it completes, if any.
   */
  accept(sender: string, datagram: Uint8Array, nowMs: number): LcmMessage | undefined {
    this.expire(nowMs);
    let parsed;
    try {
      parsed = parseLcmDatagram(datagram);
    } catch (error) {
      this.onDrop('malformed', error instanceof MalformedDataError ? error.message : String(error));
      return undefined;
    }
    if (parsed.kind === 'short') return { channel: parsed.channel, payload: parsed.payload, sequence: parsed.sequence };
    if (parsed.messageSize > this.maxMessageBytes || parsed.messageSize > this.maxBufferedBytes) {
      this.onDrop(
        'malformed',
        `LCM fragment from ${sender} claims a ${parsed.messageSize}-byte message; the limit is ${Math.min(this.maxMessageBytes, this.maxBufferedBytes)}.`,
      );
      return undefined;
    }
    return this.addFragment(sender, parsed, datagram.byteLength, nowMs);
  }

  /** Abandons incomplete messages that have been quiet longer than `staleAfterMs`. */
  expire(nowMs: number): void {
    if (this.pending.size === 0) return;
    for (const p of this.pending.values()) {
      if (nowMs - p.lastActivityMs <= this.staleAfterMs) break;
      this.abandon(p, `no fragment for ${Math.round(nowMs - p.lastActivityMs)} ms`);
    }
  }

  /** Abandons every incomplete message (reporting each), e.g. on close. */
  clear(): void {
    for (const p of [...this.pending.values()]) this.abandon(p, 'transport closed');
  }

  private addFragment(sender: string, f: LcmFragmentDatagram, size: number, nowMs: number): LcmMessage | undefined {
    const key = `${sender}#${f.sequence}`;
    let p = this.pending.get(key);
    if (p && (p.messageSize !== f.messageSize || p.fragmentCount !== f.fragmentCount)) {
      this.onDrop(
        'malformed',
        `LCM fragment ${f.fragmentNumber} of message ${f.sequence} from ${sender} disagrees with earlier fragments on size or count.`,
      );
      return undefined;
    }
    if (p?.fragments.has(f.fragmentNumber)) {
      this.onDrop('malformed', `LCM fragment ${f.fragmentNumber} of message ${f.sequence} from ${sender} arrived twice.`);
      return undefined;
    }
    if (p && p.received + f.data.byteLength > p.messageSize) {
      this.abandon(p, 'its fragments overlap', 'malformed');
      return undefined;
    }
    if (!p) p = this.start(key, sender, f, nowMs);
    if (!this.makeRoom(size, p)) return undefined;
    p.fragments.set(f.fragmentNumber, f);
    p.received += f.data.byteLength;
    p.held += size;
    this.held += size;
    if (f.channel !== undefined) p.channel = f.channel;
    p.lastActivityMs = nowMs;
    // Re-inserting keeps `pending` ordered by last activity.
    this.pending.delete(key);
    this.pending.set(key, p);
    return p.fragments.size === p.fragmentCount ? this.complete(p) : undefined;
  }

  private start(key: string, sender: string, f: LcmFragmentDatagram, nowMs: number): Pending {
    const mine = this.bySender.get(sender) ?? [];
    while (mine.length >= this.maxPerSender) this.abandon(mine[0], `${sender} started newer messages`);
    const p: Pending = {
      key,
      sender,
      sequence: f.sequence,
      messageSize: f.messageSize,
      fragmentCount: f.fragmentCount,
      channel: undefined,
      fragments: new Map(),
      received: 0,
      held: 0,
      lastActivityMs: nowMs,
    };
    this.pending.set(key, p);
    mine.push(p);
    this.bySender.set(sender, mine);
    return p;
  }

  /**
   * Evicts the least recently active other messages until `size` more bytes fit.
   * @returns false when `keep` alone would overflow the cap (it is abandoned then).
   */
  private makeRoom(size: number, keep: Pending): boolean {
    for (const p of this.pending.values()) {
      if (this.held + size <= this.maxBufferedBytes) return true;
      if (p !== keep) this.abandon(p, `the ${this.maxBufferedBytes}-byte reassembly buffer is full`);
    }
    if (this.held + size <= this.maxBufferedBytes) return true;
    this.abandon(keep, 'it would overflow the reassembly buffer');
    return false;
  }

  private complete(p: Pending): LcmMessage | undefined {
    this.remove(p);
    const parts = [...p.fragments.values()].sort((a, b) => a.offset - b.offset);
    let end = 0;
    for (const part of parts) {
      if (part.offset !== end) {
        this.onDrop('malformed', `LCM message ${p.sequence} from ${p.sender}: fragments leave a gap or overlap at byte ${end}.`);
        return undefined;
      }
      end += part.data.byteLength;
    }
    if (end !== p.messageSize) {
      this.onDrop('malformed', `LCM message ${p.sequence} from ${p.sender}: fragments do not add up to its ${p.messageSize} bytes.`);
      return undefined;
    }
    const payload = new Uint8Array(p.messageSize);
    for (const part of parts) payload.set(part.data, part.offset);
    // Fragment 0 is among the complete set, and it always names the channel.
    return { channel: p.channel!, payload, sequence: p.sequence };
  }

  private abandon(p: Pending, why: string, kind: LcmDropKind = 'incomplete'): void {
    this.remove(p);
    this.onDrop(
      kind,
      `Dropped LCM message ${p.sequence} from ${p.sender} (${p.fragments.size} of ${p.fragmentCount} fragments): ${why}.`,
    );
  }

  private remove(p: Pending): void {
    if (!this.pending.delete(p.key)) return;
    this.held -= p.held;
    const mine = this.bySender.get(p.sender)!;
    mine.splice(mine.indexOf(p), 1);
    if (mine.length === 0) this.bySender.delete(p.sender);
  }
}
