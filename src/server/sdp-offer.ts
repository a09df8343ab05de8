import { MalformedDataError } from '../core/errors.js';

/** One H.264 payload format of an SDP media section. */
export interface SdpH264Format {
  /** RTP payload type. */
  readonly payloadType: number;
  /** Its `a=fmtp` parameters, e.g. `packetization-mode=1;profile-level-id=42e01f`. */
  readonly fmtp: string;
}

/** One `m=` section of an offer, as far as WHEP and WHIP need it. */
export interface SdpMediaSection {
  readonly kind: string;
  readonly mid: string;
  /** `sendrecv`, `sendonly`, `recvonly` or `inactive`. */
  readonly direction: string;
  /** H.264 formats with `packetization-mode=1` (the one the packetizer speaks), in offer order. */
  readonly h264: readonly SdpH264Format[];
}

/** An SDP offer checked for what a WebRTC session here needs. */
export interface SdpOffer {
  readonly sdp: string;
  readonly media: readonly SdpMediaSection[];
}

const DIRECTIONS = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

/**
 * Parses the parts of an SDP offer (RFC 8866) that pick the answer: each media section's
 * kind, mid, direction and H.264 formats. The whole text goes to the WebRTC library, which
 * checks the rest.
 * @throws MalformedDataError when it is not an SDP offer with at least one media section
 *   carrying an `a=mid` (bundling, as WebRTC requires).
 */
export function parseSdpOffer(text: string): SdpOffer {
  const lines = text.split(/\r?\n/).filter((line) => line.length > 0);
  if (lines[0] !== 'v=0') throw new MalformedDataError('The body is not an SDP offer: it must start with the line v=0.');
  const media: SdpMediaSection[] = [];
  let section: { kind: string; mid?: string; direction: string; rtpmap: Map<number, string>; fmtp: Map<number, string> } | undefined;
  const finish = () => {
    if (!section) return;
    if (section.mid === undefined) throw new MalformedDataError(`The SDP offer's ${section.kind} section has no a=mid line.`);
    const h264: SdpH264Format[] = [];
    for (const [payloadType, codec] of section.rtpmap) {
      const fmtp = section.fmtp.get(payloadType) ?? '';
      if (codec.toUpperCase() === 'H264/90000' && /(^|;)\s*packetization-mode=1\b/.test(fmtp)) h264.push({ payloadType, fmtp });
    }
    media.push({ kind: section.kind, mid: section.mid, direction: section.direction, h264 });
  };
  for (const line of lines) {
    if (line.startsWith('m=')) {
      finish();
      const kind = /^m=([a-z]+) /.exec(line)?.[1];
      if (!kind) throw new MalformedDataError(`The SDP offer has a malformed media line: ${line.slice(0, 80)}`);
      section = { kind, direction: 'sendrecv', rtpmap: new Map(), fmtp: new Map() };
      continue;
    }
    if (!section || !line.startsWith('a=')) continue;
    const attribute = line.slice(2);
    if (attribute.startsWith('mid:')) section.mid = attribute.slice(4).trim();
    else if (DIRECTIONS.has(attribute.trim())) section.direction = attribute.trim();
    else {
      const format = /^(rtpmap|fmtp):(\d{1,3}) (.*)$/.exec(attribute);
      if (format) (format[1] === 'rtpmap' ? section.rtpmap : section.fmtp).set(Number(format[2]), format[3].trim());
    }
  }
  finish();
  if (media.length === 0) throw new MalformedDataError('The SDP offer has no media section (m= line).');
  return { sdp: text, media };
}
