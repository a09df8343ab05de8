import { isKeyAccessUnit } from '../../codec/keyframe-detect.js';
import { InvalidArgumentError, MalformedDataError } from '../../core/errors.js';
import type { VideoCodec, VideoPacket } from '../../core/packet.js';
import type { PacketOrigin } from './packet-sequencer.js';

/** Limits of what a stream may plausibly do from one packet to the next; all have safe defaults. */
export interface PacketGuardOptions {
  /**
   * Seconds a packet's timestamp may run ahead of its stream's clock (the last timestamp
   * passed, plus the receive time elapsed since), and how near the receive clock a stream's
   * first packet must be to be trusted at once. Default 2.
   */
  toleranceSeconds?: number;
  /** Sequence numbers a packet may skip, beyond 1,000 per second of receive time elapsed. Default 1,000. */
  maxSequenceJump?: number;
  /**
   * Mutually consistent packets that establish a clock not trusted at once: a new clock while
   * the stream's own has gone silent (a publisher restarted), or a first clock far from the
   * receive clock (a replayed recording, simulated time). Default 3.
   */
  confirmPackets?: number;
  /** Bytes of packet data held while new clocks await confirmation. Default 64 MiB. */
  maxHeldBytes?: number;
}

/** What the guard decided about one packet. */
export type GuardVerdict =
  /** Consistent with the stream's clock: pass it on. */
  | 'pass'
  /** Inconsistent: held as evidence of a new clock, and dropped as an outlier unless one is confirmed. */
  | 'hold'
  /** Its bytes are not an access unit of its codec, or contradict its key flag: dropped as an outlier. */
  | 'drop'
  /** It confirmed a new clock: pass on `released` (it is the last of them), which start a new segment. */
  | 'switch';

/** A stream clock: where the last packet that moved it left the stream, and what the stream is. */
interface Clock {
  codec: VideoCodec;
  width: number;
  height: number;
  sequence: number;
  /** Packet timestamp, ns since the Unix epoch. */
  timestamp: bigint;
  /** When that packet arrived, ns since the Unix epoch. */
  receivedAt: bigint;
}

/** A clock that is not the stream's (yet), with the packets that evidence it. */
interface Candidate extends Clock {
  packets: VideoPacket[];
  bytes: number;
}

/** Candidate clocks kept at once; garbage evicts the least evidenced first. */
const MAX_CANDIDATES = 4;
/** Packets a skipped sequence number may stand for per second of receive time. */
const MAX_PACKET_RATE = 1000;
/** Longest plausible time between two frames of a video stream, seconds; bounds how old an older packet may be. */
const MAX_FRAME_INTERVAL_SECONDS = 10;

function positive(options: PacketGuardOptions, name: keyof PacketGuardOptions, fallback: number, integer: boolean): number {
  const v = options[name] ?? fallback;
  if (!(Number.isFinite(v) && v > 0) || (integer && !Number.isInteger(v))) {
    throw new InvalidArgumentError(`Packet guard option ${name} must be a positive ${integer ? 'whole number' : 'number'}, got ${String(v)}.`);
  }
  return v;
}

const seconds = (ns: bigint): number => Number(ns) / 1e9;

const NONE: readonly VideoPacket[] = [];

/** True when `packet`'s bytes are an access unit of its codec and agree with its key flag. */
function bitstreamAgrees(packet: VideoPacket): boolean {
  try {
    return isKeyAccessUnit(packet.codec, packet.data) === packet.key;
  } catch (error) {
    if (error instanceof MalformedDataError) return false;
    throw error;
  }
}

/**
 * Keeps one video stream's packets consistent with the stream's clock, so that one forged or
 * garbage packet cannot move it: a packet whose timestamp runs far ahead of the stream's
 * clock (and of the receive clock), goes back in time while its sequence goes forward, skips
 * an absurd number of sequence numbers, or whose codec or picture size contradicts the
 * stream, is held and, unless more evidence comes, dropped and counted as an outlier. A
 * packet whose bytes are not an access unit of its codec, or contradict its key flag, is
 * dropped at once, so it cannot take the sequence number of the real packet behind it. Bytes
 * that parse but do not decode are beyond what the guard can see (bitstreams carry no checksum).
 * Timestamps must rise with sequence numbers, as a recording needs: B-frames in decode order
 * are outliers.
 *
 * A persistent change is a new segment, not a stream of outliers: when `confirmPackets`
 * consistent packets of another clock arrive while the stream's own clock passes nothing (a
 * publisher restarted with a new clock, sequence, size or codec), that clock becomes the
 * stream's and its held packets are released in order. Packets older than the clock (a late
 * joiner's cached GOP, duplicates) pass without moving it. Time comes from the caller, so
 * the class is deterministic.
 */
export class PacketGuard {
  /** Packets dropped as outliers: they never moved the stream's clock and were never passed on. */
  outliers = 0;
  /** Clocks that replaced the stream's; 0 while the stream has had one clock. */
  segment = 0;
  /** After a `'switch'`: the packets to pass on, in order. */
  released: readonly VideoPacket[] = NONE;

  private readonly toleranceNs: bigint;
  private readonly tolerance: number;
  private readonly maxSequenceJump: number;
  private readonly confirmPackets: number;
  private readonly maxHeldBytes: number;
  private clock: Clock | undefined;
  private candidates: Candidate[] = [];
  private heldDataBytes = 0;

  /** @throws InvalidArgumentError for an option that is not a positive number. */
  constructor(options: PacketGuardOptions = {}) {
    this.tolerance = positive(options, 'toleranceSeconds', 2, false);
    this.toleranceNs = BigInt(Math.round(this.tolerance * 1e9));
    this.maxSequenceJump = positive(options, 'maxSequenceJump', 1000, true);
    this.confirmPackets = positive(options, 'confirmPackets', 3, true);
    this.maxHeldBytes = positive(options, 'maxHeldBytes', 64 * 2 ** 20, true);
  }

  /** Packets held as evidence of a new clock right now. */
  get held(): number {
    let n = 0;
    for (const c of this.candidates) n += c.packets.length;
    return n;
  }

  /** Bytes of packet data held right now; at most `maxHeldBytes`. */
  get heldBytes(): number {
    return this.heldDataBytes;
  }

  /**
   * Decides about `packet`.
   * @param origin `'live'`, or `'cache'` for a late joiner's GOP (its key packet is older than the stream).
   * @param receivedAt when it arrived, ns since the Unix epoch.
   */
  offer(packet: VideoPacket, origin: PacketOrigin, receivedAt: bigint): GuardVerdict {
    this.released = NONE;
    if (!bitstreamAgrees(packet)) {
      this.outliers++;
      return 'drop';
    }
    const clock = this.clock;
    if (clock) {
      const fit = this.fit(clock, packet, origin, receivedAt);
      if (fit === 'ahead') {
        this.move(clock, packet, receivedAt);
        // The stream's own clock is alive: no other clock is a restart.
        if (this.candidates.length > 0) this.discardHeld();
        return 'pass';
      }
      const chain = this.chainFor(packet, origin, receivedAt);
      // A restarted publisher's clock may run just behind the old one: its packets extend its chain.
      return fit === 'behind' && !chain ? 'pass' : this.hold(packet, receivedAt, chain);
    }
    const chain = this.chainFor(packet, origin, receivedAt);
    const lead = packet.timestamp - receivedAt;
    if (!chain && lead <= this.toleranceNs && -lead <= this.toleranceNs) {
      this.clock = this.newClock(packet, receivedAt);
      this.discardHeld();
      return 'pass';
    }
    return this.hold(packet, receivedAt, chain);
  }

  /** Drops every held packet, counting each as an outlier; e.g. when the stream's subscription ends. */
  discardHeld(): void {
    for (const c of this.candidates) this.outliers += c.packets.length;
    this.candidates = [];
    this.heldDataBytes = 0;
  }

  /** The best evidenced candidate that `packet` continues, if any. */
  private chainFor(packet: VideoPacket, origin: PacketOrigin, receivedAt: bigint): Candidate | undefined {
    let best: Candidate | undefined;
    for (const c of this.candidates) {
      if ((!best || c.packets.length > best.packets.length) && this.fit(c, packet, origin, receivedAt) === 'ahead') best = c;
    }
    return best;
  }

  /** Holds `packet` as evidence of the clock `chain` (or of a new one); confirms that clock after enough. */
  private hold(packet: VideoPacket, receivedAt: bigint, chain: Candidate | undefined): GuardVerdict {
    let best = chain;
    const bytes = packet.data.byteLength;
    while (this.heldDataBytes + bytes > this.maxHeldBytes || (!best && this.candidates.length >= MAX_CANDIDATES)) {
      const victim = this.leastEvidenced(best);
      if (!victim) {
        this.outliers++;
        return 'drop';
      }
      this.evict(victim);
    }
    if (best) {
      this.move(best, packet, receivedAt);
    } else {
      best = { ...this.newClock(packet, receivedAt), packets: [], bytes: 0 };
      this.candidates.push(best);
    }
    best.packets.push(packet);
    best.bytes += bytes;
    this.heldDataBytes += bytes;
    if (best.packets.length < this.confirmPackets) return 'hold';
    this.remove(best);
    this.discardHeld();
    if (this.clock) this.segment++;
    this.clock = { codec: best.codec, width: best.width, height: best.height, sequence: best.sequence, timestamp: best.timestamp, receivedAt: best.receivedAt };
    this.released = best.packets;
    return 'switch';
  }

  /** The candidate with the fewest packets (the oldest of those), other than `keep`. */
  private leastEvidenced(keep: Candidate | undefined): Candidate | undefined {
    let victim: Candidate | undefined;
    for (const c of this.candidates) if (c !== keep && (!victim || c.packets.length < victim.packets.length)) victim = c;
    return victim;
  }

  private evict(candidate: Candidate): void {
    this.remove(candidate);
    this.outliers += candidate.packets.length;
  }

  private remove(candidate: Candidate): void {
    this.candidates = this.candidates.filter((c) => c !== candidate);
    this.heldDataBytes -= candidate.bytes;
  }

  /**
   * How `packet` relates to `clock`: `'ahead'` continues it, `'behind'` is older than it but
   * plausible (a cached GOP, a duplicate), `'no'` contradicts it.
   */
  private fit(clock: Clock, packet: VideoPacket, origin: PacketOrigin, receivedAt: bigint): 'ahead' | 'behind' | 'no' {
    if (packet.codec !== clock.codec || packet.width !== clock.width || packet.height !== clock.height) return 'no';
    const ds = packet.sequence - clock.sequence;
    const dt = seconds(packet.timestamp - clock.timestamp);
    if (ds >= 1) {
      const elapsed = Math.max(0, seconds(receivedAt - clock.receivedAt));
      return dt > 0 && dt <= elapsed + this.tolerance && ds <= this.maxSequenceJump + MAX_PACKET_RATE * elapsed ? 'ahead' : 'no';
    }
    // A live key packet that does not move the stream forward claims a restart: that takes confirmation.
    if (origin === 'live' && packet.key) return 'no';
    return dt <= 0 && -dt <= this.tolerance - ds * MAX_FRAME_INTERVAL_SECONDS ? 'behind' : 'no';
  }

  private newClock(packet: VideoPacket, receivedAt: bigint): Clock {
    return { codec: packet.codec, width: packet.width, height: packet.height, sequence: packet.sequence, timestamp: packet.timestamp, receivedAt };
  }

  private move(clock: Clock, packet: VideoPacket, receivedAt: bigint): void {
    clock.sequence = packet.sequence;
    clock.timestamp = packet.timestamp;
    clock.receivedAt = receivedAt;
  }
}
