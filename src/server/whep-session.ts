import { randomBytes, randomUUID } from 'node:crypto';
import { H264RtpPacketizer, PeerConnection, RtcpNackResponder, RtcpSrReporter, RtpPacketizationConfig, Video, type DataChannel, type Track } from 'node-datachannel';
import { MalformedDataError } from '../core/errors.js';
import type { VideoPacket } from '../core/packet.js';
import type { LiveVideoFeed, Unsubscribe } from './live-feeds.js';
import { readRtcpFeedback } from './rtcp-feedback.js';
import type { SdpOffer } from './sdp-offer.js';
import type { CommandSink } from './teleop-commands.js';
import { addTrickledCandidates, answerOffer, PeerLiveness, watchPeer } from './webrtc-peer.js';

/** Counters of one WHEP session. */
export interface WhepSessionStats {
  /** Video packets (access units) handed to the packetizer. */
  packetsSent: number;
  /** Packets not sent: before the first key packet. */
  packetsSkipped: number;
  /** Picture loss indications and full intra requests received, each passed on as a keyframe request. */
  keyframeRequests: number;
  /** NACK messages received (answered from the library's retransmission buffer). */
  nacks: number;
  /** Operator messages received on the session's DataChannels. */
  commands: number;
}

/** Options of a {@link WhepSession}. */
export interface WhepSessionOptions {
  /** Local address for ICE (the server's listening host). */
  bindAddress?: string;
  /** Receives the binary messages of the player's DataChannels and the session's end. */
  commands?: CommandSink;
  /** Called once when the session ends (DELETE, ICE failure, disconnect, server close). */
  onClose?: (session: WhepSession) => void;
}

/** A player that sends no RTCP for this long is gone, ms (browsers report about every second). */
const SILENCE_TIMEOUT_MS = 5000;

/** Largest RTP payload, bytes: below a 1280-byte IPv6 minimum MTU after SRTP and headers. */
const MAX_FRAGMENT = 1100;

/**
 * The RTP timestamp of a packet: its capture time on the 90 kHz clock, mod 2^32, with no
 * random offset, so a player (the viewer page) can tell each drawn frame's capture time from
 * the RTP timestamp alone and show the glass-to-glass latency.
 */
export function rtpTimestampOf(timestampNs: bigint): number {
  return Number(((timestampNs * 9n) / 100_000n) % 2n ** 32n);
}

/**
 * One WHEP player: a send-only H.264 track fed with a live topic's packets exactly as encoded
 * (packetized by the library, never re-encoded). It starts with the cached GOP, whose RTP
 * timestamps are packed just before the newest one so the player decodes it at once instead
 * of playing it out; a PLI or FIR from the player becomes a keyframe request to the topic's
 * publisher; NACKs are answered from the library's retransmission buffer. A player that
 * sends no RTCP for 5 s is taken as gone and the session ends.
 */
export class WhepSession {
  /** The session id, the last part of its resource URL. */
  readonly id = randomUUID();
  readonly stats: WhepSessionStats = { packetsSent: 0, packetsSkipped: 0, keyframeRequests: 0, nacks: 0, commands: 0 };
  private readonly peer: PeerConnection;
  private readonly track: Track;
  private readonly config: RtpPacketizationConfig;
  private readonly channels: DataChannel[] = [];
  private live: Unsubscribe | undefined;
  private liveness: PeerLiveness | undefined;
  private started = false;
  private awaitingKey = true;
  private closed = false;

  private constructor(
    readonly topic: string,
    private readonly feed: LiveVideoFeed,
    offer: SdpOffer,
    private readonly options: WhepSessionOptions,
  ) {
    const video = offer.media.find((m) => m.kind === 'video');
    if (!video || (video.direction !== 'recvonly' && video.direction !== 'sendrecv')) {
      throw new MalformedDataError('A WHEP offer needs a video section that receives (a=recvonly).');
    }
    const format = video.h264[0];
    if (!format) throw new MalformedDataError('The offer has no H.264 format with packetization-mode=1; this server sends H.264 as encoded, without re-encoding.');
    this.peer = new PeerConnection(`whep-${this.id}`, { iceServers: [], bindAddress: options.bindAddress, disableAutoNegotiation: true });
    const media = new Video(video.mid, 'SendOnly');
    media.addH264Codec(format.payloadType, format.fmtp);
    const ssrc = randomBytes(4).readUInt32BE() >>> 0 || 1;
    media.addSSRC(ssrc, 'framebus', 'framebus', topic);
    this.peer.setRemoteDescription(offer.sdp, 'offer');
    this.track = this.peer.addTrack(media);
    this.config = new RtpPacketizationConfig(ssrc, 'framebus', format.payloadType, 90_000);
    const packetizer = new H264RtpPacketizer('StartSequence', this.config, MAX_FRAGMENT);
    packetizer.addToChain(new RtcpSrReporter(this.config));
    packetizer.addToChain(new RtcpNackResponder());
    this.track.setMediaHandler(packetizer);
    this.track.onOpen(() => this.start());
    // Also releases the binding's hold on the event loop (without it a process lingers until GC).
    this.track.onClosed(() => setImmediate(() => void this.close()));
    this.track.onMessage((message) => this.onRtcp(message));
    this.peer.onDataChannel((channel) => this.adopt(channel));
    watchPeer(this.peer, () => this.close());
  }

  /**
   * Answers a player's offer.
   * @returns the session and its SDP answer (with all local candidates, no trickle needed).
   * @throws MalformedDataError for an offer the session cannot answer (no receiving video
   *   section, no H.264 packetization-mode 1, rejected by the library).
   */
  static async answer(topic: string, feed: LiveVideoFeed, offer: SdpOffer, options: WhepSessionOptions = {}): Promise<{ session: WhepSession; sdp: string }> {
    return answerOffer(() => new WhepSession(topic, feed, offer, options), (session) => session.peer);
  }

  /** Adds the player's trickled ICE candidates (an SDP fragment, RFC 8840). */
  addCandidates(fragment: string): void {
    addTrickledCandidates(this.peer, fragment);
  }

  /** Ends the session and frees its peer connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.live?.();
    this.liveness?.stop();
    for (const channel of this.channels) channel.close();
    this.track.close();
    this.peer.close();
    this.options.commands?.ended(this.id);
    this.options.onClose?.(this);
  }

  private start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.liveness = new PeerLiveness(SILENCE_TIMEOUT_MS, () => this.close());
    const gop = this.feed.cachedGop();
    const newest = gop.at(-1);
    if (newest) {
      // Packed one tick apart ending at the newest packet's own timestamp: decoded at once, not played out.
      const end = rtpTimestampOf(newest.timestamp);
      gop.forEach((packet, i) => this.send(packet, (end - (gop.length - 1 - i) + 2 ** 32) % 2 ** 32));
    }
    const after = newest?.sequence ?? -1;
    this.live = this.feed.subscribe((packet) => {
      if (packet.sequence > after || packet.key) this.send(packet, rtpTimestampOf(packet.timestamp));
    });
  }

  private send(packet: VideoPacket, rtpTimestamp: number): void {
    if (this.closed || packet.codec !== 'h264') return;
    if (this.awaitingKey && !packet.key) {
      this.stats.packetsSkipped++;
      return;
    }
    this.awaitingKey = false;
    this.config.timestamp = rtpTimestamp;
    try {
      this.track.sendMessageBinary(Buffer.from(packet.data.buffer, packet.data.byteOffset, packet.data.byteLength));
      this.stats.packetsSent++;
    } catch {
      this.close();
    }
  }

  private onRtcp(message: Buffer): void {
    this.liveness?.touch();
    const feedback = readRtcpFeedback(message);
    this.stats.nacks += feedback.nack;
    if (feedback.pli + feedback.fir === 0) return;
    this.stats.keyframeRequests += feedback.pli + feedback.fir;
    this.feed.requestKeyframe?.();
  }

  private adopt(channel: DataChannel): void {
    this.channels.push(channel);
    channel.onClosed(() => undefined);
    channel.onMessage((message) => {
      if (typeof message === 'string') return;
      this.stats.commands++;
      this.options.commands?.accept(this.id, message instanceof ArrayBuffer ? new Uint8Array(message) : new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
    });
  }
}
