/** One H.264 access unit put back together from RTP (RFC 6184). */
export interface RtpAccessUnit {
  /** Annex B: every NAL unit with a 4-byte start code, in order. */
  readonly data: Uint8Array;
  /** The RTP timestamp of its packets (90 kHz clock, wraps at 2^32). */
  readonly rtpTimestamp: number;
  /** True when a packet was lost or malformed since the previous access unit: the decoder needs a key frame. */
  readonly afterLoss: boolean;
}

/** Counters of an {@link H264RtpDepacketizer}. */
export interface H264RtpStats {
  packets: number;
  accessUnits: number;
  /** Sequence-number jumps (lost or reordered packets). */
  gaps: number;
  /** Packets dropped as unreadable: bad RTP header, unsupported or truncated payload. */
  malformed: number;
  /** Access units dropped incomplete (a packet of theirs was lost, or they grew too big). */
  discarded: number;
}

const START_CODE = Uint8Array.of(0, 0, 0, 1);
const STAP_A = 24;
const FU_A = 28;

/** The payload of an RTP packet (RFC 3550), or undefined when the header is malformed. */
export function rtpPayload(packet: Uint8Array): { payload: Uint8Array; sequence: number; timestamp: number; marker: boolean } | undefined {
  if (packet.length < 12 || packet[0] >> 6 !== 2) return undefined;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  let start = 12 + 4 * (packet[0] & 0x0f);
  if (packet[0] & 0x10) {
    if (start + 4 > packet.length) return undefined;
    start += 4 + 4 * view.getUint16(start + 2);
  }
  let end = packet.length;
  if (packet[0] & 0x20) end -= packet[end - 1];
  if (start > end) return undefined;
  return { payload: packet.subarray(start, end), sequence: view.getUint16(2), timestamp: view.getUint32(4), marker: (packet[1] & 0x80) !== 0 };
}

/**
 * Reassembles H.264 access units from RTP packets in packetization mode 1 (single NAL unit,
 * STAP-A, FU-A), as WebRTC senders produce them. An access unit ends at the marker bit. A
 * lost packet discards the access unit it belonged to and marks the next complete one
 * `afterLoss`. Untrusted input: malformed packets are counted and dropped, never thrown.
 */
export class H264RtpDepacketizer {
  readonly stats: H264RtpStats = { packets: 0, accessUnits: 0, gaps: 0, malformed: 0, discarded: 0 };
  private nals: Uint8Array[] = [];
  private size = 0;
  private timestamp: number | undefined;
  private lastSequence: number | undefined;
  private fragment: Uint8Array[] | undefined;
  private broken = false;
  private lossPending = false;

  /** @param maxAccessUnitBytes larger access units are discarded. Default 8 MiB. */
  constructor(private readonly maxAccessUnitBytes = 8 * 2 ** 20) {}

  /** Takes one RTP packet; returns the access unit it completed, if any. */
  push(packet: Uint8Array): RtpAccessUnit | undefined {
    this.stats.packets++;
    const rtp = rtpPayload(packet);
    if (!rtp || rtp.payload.length === 0) {
      this.stats.malformed++;
      this.broken = true;
      return undefined;
    }
    // The first packet heard may be in the middle of an access unit whose start was never
    // received: that unit is discarded unless the packet surely begins one.
    const first = this.lastSequence === undefined;
    const gap = !first && rtp.sequence !== ((this.lastSequence! + 1) & 0xffff);
    if (gap) this.stats.gaps++;
    this.lastSequence = rtp.sequence;
    // A new timestamp before the old one's marker: the old access unit lost its end.
    const newUnit = this.timestamp === undefined || rtp.timestamp !== this.timestamp;
    if (this.timestamp !== undefined && newUnit) this.discard();
    this.timestamp = rtp.timestamp;
    // After a gap, or at the first packet heard, the unit this packet belongs to may have lost
    // its beginning: it is kept only when this packet surely begins it.
    if (gap || first) {
      if (!(newUnit && startsAccessUnit(rtp.payload))) this.broken = true;
    }
    if (!this.take(rtp.payload)) {
      this.stats.malformed++;
      this.broken = true;
    }
    if (!rtp.marker) return undefined;
    if (this.broken || this.fragment !== undefined || this.nals.length === 0) {
      this.discard();
      return undefined;
    }
    this.stats.accessUnits++;
    const unit = { data: concat(this.nals), rtpTimestamp: rtp.timestamp, afterLoss: this.lossPending };
    this.lossPending = false;
    this.clear();
    return unit;
  }

  /** Adds one payload's NAL units; false when it is unreadable. */
  private take(payload: Uint8Array): boolean {
    const type = payload[0] & 0x1f;
    if (type >= 1 && type <= 23) {
      if (this.fragment) return false;
      return this.add(payload);
    }
    if (type === STAP_A) {
      let offset = 1;
      while (offset + 2 <= payload.length) {
        const length = (payload[offset] << 8) | payload[offset + 1];
        offset += 2;
        if (length === 0 || offset + length > payload.length) return false;
        if (!this.add(payload.subarray(offset, offset + length))) return false;
        offset += length;
      }
      return offset === payload.length;
    }
    if (type === FU_A && payload.length >= 2) {
      const header = payload[1];
      const start = (header & 0x80) !== 0;
      const end = (header & 0x40) !== 0;
      if (start) {
        if (this.fragment) return false;
        this.fragment = [Uint8Array.of((payload[0] & 0xe0) | (header & 0x1f))];
      } else if (!this.fragment) {
        return false;
      }
      this.fragment.push(payload.subarray(2));
      if (end) {
        const parts = this.fragment;
        this.fragment = undefined;
        return this.add(concat(parts));
      }
      return true;
    }
    return false;
  }

  private add(nal: Uint8Array): boolean {
    this.size += START_CODE.length + nal.length;
    if (this.size > this.maxAccessUnitBytes) {
      this.broken = true;
      return true;
    }
    this.nals.push(START_CODE, nal);
    return true;
  }

  /** Drops the access unit in progress; the next complete one comes after a loss. */
  private discard(): void {
    this.stats.discarded++;
    this.lossPending = true;
    this.clear();
  }

  private clear(): void {
    this.nals = [];
    this.size = 0;
    this.fragment = undefined;
    this.broken = false;
    this.timestamp = undefined;
  }
}

/**
 * Whether an RTP payload surely begins an access unit: its first NAL unit is an access unit
 * delimiter or an SPS (WebRTC senders put the SPS first in a key frame). A first slice alone
 * is not enough: parameter sets sent before it may be what was missed.
 */
function startsAccessUnit(payload: Uint8Array): boolean {
  let type = payload[0] & 0x1f;
  if (type === STAP_A) {
    if (payload.length < 4) return false;
    type = payload[3] & 0x1f;
  } else if (type === FU_A) {
    if (payload.length < 3 || (payload[1] & 0x80) === 0) return false;
    type = payload[1] & 0x1f;
  }
  return type === 9 || type === 7;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
