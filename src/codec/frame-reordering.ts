import { InvalidArgumentError } from '../core/errors.js';
import type { VideoCodec } from '../core/packet.js';
import { BitReader } from './bit-reader.js';
import { H264_NAL, H265_NAL, h264NalType, h265NalType, splitAnnexB, unescapeRbsp } from './annexb.js';
import { parseH264Sps, type H264Sps } from './h264-sps.js';
import { parseH265Sps } from './h265-sps.js';

/** Bytes of a slice NAL enough for every slice header field read here. */
const SLICE_HEADER_BYTES = 64;

/**
 * Watches a stream of access units, in decode order, for frame reordering (B-frames shown in
 * an order other than the one they arrive in), from the bitstream alone, never from container
 * timestamps. H.264: the SPS's VUI `max_num_reorder_frames` when it gives one, else picture
 * order counts that go back within a coded video sequence. H.265: the SPS's
 * `sps_max_num_reorder_pics`. AV1 (and images) never reorder at the packet level.
 * Headers it cannot parse are left to other checks.
 */
export class FrameReorderCheck {
  private readonly sps = new Map<number, H264Sps>();
  private readonly ppsToSps = new Map<number, number>();
  private prevPocMsb = 0;
  private prevPocLsb = 0;
  private lastPoc: number | undefined;

  constructor(readonly codec: VideoCodec) {}

  /**
   * Looks at the next access unit (Annex B for H.264/H.265).
   * @returns why the stream needs reordering, when this access unit shows it; else undefined.
   */
  inspect(data: Uint8Array): string | undefined {
    if (this.codec !== 'h264' && this.codec !== 'h265') return undefined;
    let nals;
    try {
      nals = splitAnnexB(data);
    } catch {
      return undefined;
    }
    return this.codec === 'h264' ? this.inspectH264(nals.map((n) => n.data)) : inspectH265(nals.map((n) => n.data));
  }

  /**
   * Like `inspect`, for places that must not hold reordered packets (recordings, live topics).
   * @param where names the stream or topic and the packet, for the message.
   * @throws InvalidArgumentError when the access unit shows reordering.
   */
  requireInOrder(data: Uint8Array, where: string): void {
    const why = this.inspect(data);
    if (why === undefined) return;
    throw new InvalidArgumentError(
      `${where} needs frame reordering: ${why}. Recordings and live topics hold packets a decoder shows in the order they arrive; ` +
        'bring this video in with `framebus import`, which re-encodes it once without B-frames.',
    );
  }

  private inspectH264(nals: Uint8Array[]): string | undefined {
    for (const nal of nals) {
      const type = h264NalType(nal);
      try {
        if (type === H264_NAL.SPS) {
          const sps = parseH264Sps(nal);
          if (sps.maxNumReorderFrames !== undefined && sps.maxNumReorderFrames > 0) {
            return `its H.264 SPS allows ${sps.maxNumReorderFrames} reordered frame${sps.maxNumReorderFrames === 1 ? '' : 's'} (B-frames)`;
          }
          this.sps.set(sps.spsId, sps);
        } else if (type === H264_NAL.PPS) {
          const r = new BitReader(unescapeRbsp(nal.subarray(0, 16)).subarray(1));
          const ppsId = r.ue();
          this.ppsToSps.set(ppsId, r.ue());
        } else if (type === H264_NAL.IDR || type === H264_NAL.SLICE) {
          // The first slice speaks for the picture.
          return this.checkPoc(nal, type === H264_NAL.IDR);
        }
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  /** Picture order count of a slice (8.2.1.1, POC type 0); reordering when it goes back. */
  private checkPoc(nal: Uint8Array, idr: boolean): string | undefined {
    const r = new BitReader(unescapeRbsp(nal.subarray(0, SLICE_HEADER_BYTES)).subarray(1));
    r.ue();
    r.ue();
    const sps = this.sps.get(this.ppsToSps.get(r.ue()) ?? -1);
    // POC type 2 follows decode order by definition; type 1 is left to the SPS's VUI.
    if (!sps || sps.pocType !== 0 || sps.maxNumReorderFrames === 0) return undefined;
    if (sps.separateColourPlanes) r.skip(2);
    r.skip(sps.log2MaxFrameNum);
    if (!sps.frameMbsOnly && r.flag()) r.skip(1);
    if (idr) r.ue();
    const lsb = r.bits(sps.log2MaxPocLsb);
    const max = 2 ** sps.log2MaxPocLsb;
    if (idr) {
      this.prevPocMsb = 0;
      this.prevPocLsb = 0;
      this.lastPoc = undefined;
    }
    let msb = this.prevPocMsb;
    if (lsb < this.prevPocLsb && this.prevPocLsb - lsb >= max / 2) msb += max;
    else if (lsb > this.prevPocLsb && lsb - this.prevPocLsb > max / 2) msb -= max;
    const poc = msb + lsb;
    const reference = (nal[0] & 0x60) !== 0;
    if (reference) {
      this.prevPocMsb = msb;
      this.prevPocLsb = lsb;
    }
    const before = this.lastPoc;
    this.lastPoc = poc;
    if (before !== undefined && poc < before) return `its H.264 picture order count goes back from ${before} to ${poc} (B-frames)`;
    return undefined;
  }
}

function inspectH265(nals: Uint8Array[]): string | undefined {
  for (const nal of nals) {
    if (h265NalType(nal) !== H265_NAL.SPS) continue;
    try {
      const { maxNumReorderPics } = parseH265Sps(nal);
      if (maxNumReorderPics > 0) return `its H.265 SPS allows ${maxNumReorderPics} reordered picture${maxNumReorderPics === 1 ? '' : 's'} (B-frames)`;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
