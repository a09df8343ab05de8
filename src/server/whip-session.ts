import { randomUUID } from 'node:crypto';
import { PeerConnection, RtcpReceivingSession, Video, type Track } from 'node-datachannel';
import type { Bus } from '../bus/bus.js';
import type { Subscription } from '../bus/topic.js';
import type { VideoTopic } from '../bus/video/video-topic.js';
import { findH264ParameterSets, parseH264Sps } from '../codec/h264-sps.js';
import { H264RtpDepacketizer, type H264RtpStats } from '../codec/h264-rtp.js';
import { isKeyAccessUnit } from '../codec/keyframe-detect.js';
import { MalformedDataError } from '../core/errors.js';
import { nowNs } from '../core/time.js';
import { keyframeRequestMessageType } from '../wire/messages.js';
import type { SdpOffer } from './sdp-offer.js';
import { addTrickledCandidates, answerOffer, PeerLiveness, watchPeer } from './webrtc-peer.js';

/** Counters of one WHIP session. */
export interface WhipSessionStats extends H264RtpStats {
  /** Access units published on the bus as video packets. */
  published: number;
  /** Access units dropped while waiting for a key frame (at start and after a loss). */
  awaitingKey: number;
  /** Picture loss indications sent to the publisher (at start, after a loss, for the bus's keyframe requests). */
  pliSent: number;
  /** Access units whose publishing failed (e.g. the bus closed). */
  publishErrors: number;
}

/** Options of a {@link WhipSession}. */
export interface WhipSessionOptions {
  /** Local address for ICE (the server's listening host). */
  bindAddress?: string;
  /** Called once when the session ends. */
  onClose?: (session: WhipSession) => void;
}

/** A publisher that sends no RTP for this long is gone, ms. */
const SILENCE_TIMEOUT_MS = 10_000;

/** Fewest milliseconds between two PLIs, as the bus's publishers rate-limit forced key frames. */
const PLI_INTERVAL_MS = 500;

/**
 * One WHIP publisher (a browser camera, an encoder): its H.264 RTP is put back into access
 * units and published on the bus as `VideoPacket`s, as received (no re-encode). A packet is
 * key only when the bitstream says so (IDR with SPS/PPS); from the start and after any loss
 * nothing is published until the next key frame, which is asked for with a PLI at once.
 * Keyframe requests on the topic's control channel (a viewer that lost pictures) become PLIs.
 */
export class WhipSession {
  readonly id = randomUUID();
  private readonly peer: PeerConnection;
  private readonly track: Track;
  private readonly depacketizer = new H264RtpDepacketizer();
  private readonly video: VideoTopic;
  private readonly requests: Subscription;
  private readonly counters = { published: 0, awaitingKey: 0, pliSent: 0, publishErrors: 0 };
  private awaitingKey = true;
  private lastPli = -Infinity;
  private sequence = 0;
  /** First access unit's arrival (ns) and its RTP timestamp, extended past wraps. */
  private clockStart: { ns: bigint; ticks: number } | undefined;
  private lastTicks = 0;
  private size = { width: 0, height: 0 };
  private publishing: Promise<void> = Promise.resolve();
  private closed = false;
  private liveness: PeerLiveness | undefined;

  private constructor(
    bus: Bus,
    readonly topic: string,
    offer: SdpOffer,
    private readonly options: WhipSessionOptions,
  ) {
    const video = offer.media.find((m) => m.kind === 'video');
    if (!video || (video.direction !== 'sendonly' && video.direction !== 'sendrecv')) {
      throw new MalformedDataError('A WHIP offer needs a video section that sends (a=sendonly).');
    }
    const format = video.h264[0];
    if (!format) throw new MalformedDataError('The offer has no H.264 format with packetization-mode=1; this server records H.264 as sent, without re-encoding.');
    this.peer = new PeerConnection(`whip-${this.id}`, { iceServers: [], bindAddress: options.bindAddress, disableAutoNegotiation: true });
    const media = new Video(video.mid, 'RecvOnly');
    media.addH264Codec(format.payloadType, format.fmtp);
    this.peer.setRemoteDescription(offer.sdp, 'offer');
    this.track = this.peer.addTrack(media);
    this.track.setMediaHandler(new RtcpReceivingSession());
    // Also releases the binding's hold on the event loop (without it a process lingers until GC).
    this.track.onClosed(() => setImmediate(() => void this.close()));
    this.track.onOpen(() => (this.liveness ??= new PeerLiveness(SILENCE_TIMEOUT_MS, () => void this.close())));
    this.track.onMessage((packet) => this.receive(packet));
    this.video = bus.video(topic);
    this.requests = bus.topic(this.video.channels.control, keyframeRequestMessageType).subscribe((request) => {
      if (request.topic === topic && request.reason !== 'late-join') this.pli();
    });
    watchPeer(this.peer, () => this.close());
  }

  /**
   * Answers a publisher's offer.
   * @throws MalformedDataError for an offer without a sending H.264 (packetization-mode 1) video section.
   */
  static async answer(bus: Bus, topic: string, offer: SdpOffer, options: WhipSessionOptions = {}): Promise<{ session: WhipSession; sdp: string }> {
    return answerOffer(() => new WhipSession(bus, topic, offer, options), (session) => session.peer);
  }

  get stats(): WhipSessionStats {
    return { ...this.depacketizer.stats, ...this.counters };
  }

  /** Adds the publisher's trickled ICE candidates (an SDP fragment, RFC 8840). */
  addCandidates(fragment: string): void {
    addTrickledCandidates(this.peer, fragment);
  }

  /** Ends the session: stops receiving, waits for the packets in flight and closes the topic. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.requests.unsubscribe();
    this.liveness?.stop();
    this.track.close();
    this.peer.close();
    this.options.onClose?.(this);
    await this.publishing;
    await this.video.close();
  }

  private receive(packet: Buffer): void {
    if (this.closed) return;
    this.liveness?.touch();
    const unit = this.depacketizer.push(packet);
    if (!unit) return;
    if (unit.afterLoss) this.awaitingKey = true;
    let key = false;
    try {
      key = isKeyAccessUnit('h264', unit.data);
      if (key) {
        const { sps } = findH264ParameterSets(unit.data);
        this.size = parseH264Sps(sps[0]);
      }
    } catch {
      key = false;
      this.awaitingKey = true;
    }
    if (this.awaitingKey && !key) {
      this.counters.awaitingKey++;
      this.pli();
      return;
    }
    this.awaitingKey = false;
    const timestamp = this.timestampOf(unit.rtpTimestamp);
    const packetToSend = {
      kind: 'video-packet' as const,
      codec: 'h264' as const,
      data: unit.data,
      key,
      timestamp,
      sequence: this.sequence,
      frameId: this.sequence,
      width: this.size.width,
      height: this.size.height,
    };
    this.sequence++;
    this.publishing = this.publishing
      .then(() => this.video.publishPacket(packetToSend))
      .then(
        () => void this.counters.published++,
        () => void this.counters.publishErrors++,
      );
  }

  /** Arrival time of the first access unit plus the RTP clock since, ns (rising, like a camera's). */
  private timestampOf(rtpTimestamp: number): bigint {
    if (!this.clockStart) {
      this.clockStart = { ns: nowNs(), ticks: rtpTimestamp };
      this.lastTicks = rtpTimestamp;
    }
    const delta = (rtpTimestamp - (this.lastTicks % 2 ** 32) + 2 ** 32) % 2 ** 32;
    // Forward steps only; a backward step (reordering) is held at the last time plus one tick.
    this.lastTicks += delta < 2 ** 31 ? Math.max(delta, 1) : 1;
    return this.clockStart.ns + (BigInt(this.lastTicks - this.clockStart.ticks) * 100_000n) / 9n;
  }

  private pli(): void {
    const now = performance.now();
    if (this.closed || now - this.lastPli < PLI_INTERVAL_MS) return;
    this.lastPli = now;
    if (this.track.requestKeyframe()) this.counters.pliSent++;
  }
}
