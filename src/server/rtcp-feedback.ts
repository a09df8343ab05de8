/** What a receiver asked for in one compound RTCP packet. */
export interface RtcpFeedback {
  /** Picture loss indications (RFC 4585 PSFB FMT 1). */
  pli: number;
  /** Full intra requests (RFC 5104 PSFB FMT 4). */
  fir: number;
  /** Generic NACK messages (RFC 4585 RTPFB FMT 1). */
  nack: number;
}

const RTPFB = 205;
const PSFB = 206;

/**
 * Counts the keyframe requests and NACKs in one (compound) RTCP packet as a WebRTC receiver
 * sends them. Untrusted input: a truncated or malformed packet ends the walk, never throws.
 */
export function readRtcpFeedback(packet: Uint8Array): RtcpFeedback {
  const found: RtcpFeedback = { pli: 0, fir: 0, nack: 0 };
  let offset = 0;
  while (offset + 4 <= packet.length) {
    const first = packet[offset];
    if (first >> 6 !== 2) break;
    const type = packet[offset + 1];
    const length = 4 * (((packet[offset + 2] << 8) | packet[offset + 3]) + 1);
    if (offset + length > packet.length) break;
    const format = first & 0x1f;
    if (type === PSFB && format === 1) found.pli++;
    else if (type === PSFB && format === 4) found.fir++;
    else if (type === RTPFB && format === 1) found.nack++;
    offset += length;
  }
  return found;
}
