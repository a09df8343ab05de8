import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../../core/errors.js';
import { type LogSink } from '../../core/log.js';
import { peekFingerprint, type MessageType } from '../../wire/message-type.js';
import type { Bus } from '../bus.js';
import { coveringPattern } from '../channel-pattern.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { Subscription } from '../topic.js';
import { NdcPeer, type PeerOptions } from './ndc-peer.js';
import { WebRtcLink, type LinkOptions, type LinkStats } from './webrtc-link.js';

/** Options of a WebRTC answerer. */
export interface AnswererOptions extends LinkOptions, PeerOptions {
  /** Receives rate-limited lines about peers and dropped input. Default: stderr. */
  log?: LogSink;
  /** Most peers joined at once; an offer beyond it is refused. Default 64. */
  maxSessions?: number;
}

/** One peer joined to the local bus. */
export interface AnswerSession {
  /** Random id, for logs and a session URL. */
  readonly id: string;
  /** Counters of the peer's DataChannels. */
  readonly stats: LinkStats;
  /** Resolves when the peer has left or the session was closed. */
  readonly closed: Promise<void>;
  /** Ends the session: closes the peer connection and its bus subscriptions. Idempotent. */
  close(): void;
}

/** What `WebRtcAnswerer.answer` returns: the SDP answer for the HTTP response, and the session. */
export interface Answer {
  readonly answerSdp: string;
  readonly session: AnswerSession;
}

/**
 * How long after answering the offer's candidates are applied. The dialer's own checks (sent
 * once it has the answer) connect at once; checks the answerer sent before the dialer had the
 * answer would be dropped and retried only after about a second.
 */
const CANDIDATE_DELAY_MS = 250;

/** A message type that carries encoded bytes as they are, so bytes from a peer go onto any bus. */
function passThrough(fingerprint: bigint, name: string): MessageType<Uint8Array> {
  return { name, fingerprint, encode: (bytes) => bytes, decode: (bytes) => bytes };
}

/**
 * Joins WebRTC peers (framebus's `webrtc://` transport, a browser, aiortc) to a local bus:
 * the answer side of `webrtc://host:port`. A peer's messages are published on the bus as they
 * are (typed subscribers decode them by fingerprint, as with LCM); the bus's messages on the
 * channels the peer subscribed to are forwarded to it, each once, whichever of its patterns
 * match. A server routes `POST /webrtc/bus` (body: the SDP offer) to `answer`.
 */
export class WebRtcAnswerer {
  private readonly sessions = new Set<AnswerSession>();
  private readonly log: RateLimitedLog;
  private readonly maxSessions: number;

  constructor(
    private readonly bus: Bus,
    private readonly options: AnswererOptions = {},
  ) {
    this.log = new RateLimitedLog(options.log);
    this.maxSessions = options.maxSessions ?? 64;
  }

  /** Peers joined now (connecting or open). */
  get openSessions(): number {
    return this.sessions.size;
  }

  /**
   * Answers one SDP offer. The connection opens after the answer reached the peer; the session
   * ends when the peer leaves, fails to connect in time, or `close()` is called.
   * @throws InvalidArgumentError when the offer is not SDP or too many peers are joined;
   *   MalformedDataError when libdatachannel rejects it.
   */
  answer = async (offerSdp: string): Promise<Answer> => {
    if (typeof offerSdp !== 'string' || !offerSdp.startsWith('v=0')) throw new InvalidArgumentError('The body must be an SDP offer (application/sdp, starting with v=0).');
    if (this.sessions.size >= this.maxSessions) throw new InvalidArgumentError(`This server already has ${this.maxSessions} WebRTC peers joined; try again later.`);
    const { peer, answerSdp } = await NdcPeer.answer(offerSdp, { ...this.options, candidateDelayMs: CANDIDATE_DELAY_MS });
    const session = this.join(peer);
    return { answerSdp, session };
  };

  /** Ends every session. */
  close(): void {
    for (const s of [...this.sessions]) s.close();
  }

  private join(peer: NdcPeer): AnswerSession {
    const id = randomBytes(8).toString('hex');
    const patterns = new Map<number, string>();
    let link: WebRtcLink | undefined;
    let relay: Subscription | undefined;
    let resolveClosed!: () => void;
    const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
    const topics = new Map<string, ReturnType<Bus['topic']>>();
    const resubscribe = (): void => {
      const before = relay;
      relay = undefined;
      if (patterns.size > 0 && link) {
        const union = [...patterns.values()].map((p) => `(?:${p})`).join('|');
        const out = link;
        relay = this.bus.subscribeRaw(union, (m) => out.forward(m.topic, m.payload()));
      }
      before?.unsubscribe();
    };
    const session: AnswerSession = {
      id,
      get stats() {
        return link?.stats ?? { sent: 0, received: 0, malformed: 0, incomplete: 0, dropped: 0 };
      },
      closed,
      close: () => {
        if (!this.sessions.delete(session)) return;
        relay?.unsubscribe();
        relay = undefined;
        link?.close();
        peer.close();
        resolveClosed();
      },
    };
    this.sessions.add(session);
    peer.onClosed(() => session.close());
    const publish = (payload: Uint8Array, channel: string): void => {
      const fingerprint = peekFingerprint(payload);
      if (fingerprint === undefined) {
        this.log.log(`short:${id}`, `WebRTC peer ${id}: dropped a ${payload.byteLength}-byte message on ${channel}, too short for a type fingerprint.`);
        return;
      }
      const key = `${fingerprint}\n${channel}`;
      let topic = topics.get(key);
      if (!topic) {
        topic = this.bus.topic(channel, passThrough(fingerprint, this.bus.typeName(fingerprint) ?? `0x${fingerprint.toString(16)}`));
        if (topics.size > 1024) topics.clear();
        topics.set(key, topic);
      }
      topic.publish(payload).catch((error: Error) => this.log.log(`publish:${channel}`, `WebRTC peer ${id}: cannot publish on ${channel}: ${error.message}`));
    };
    peer
      .ready()
      .then((pair) => {
        if (!this.sessions.has(session)) return;
        link = new WebRtcLink(
          pair,
          {
            message: (payload, info) => publish(payload, info.channel),
            subscribe: (sid, pattern) => {
              let covering: string;
              try {
                if (pattern.length > 1024) throw new InvalidArgumentError(`a pattern is at most 1024 characters, this one has ${pattern.length}`);
                // The bus matches a peer's pattern with JavaScript's backtracking engine: it gets
                // a linear-time cover of it, and the peer keeps only what its own pattern matches.
                covering = coveringPattern(pattern);
              } catch (error) {
                this.log.log(`pattern:${id}`, `WebRTC peer ${id}: ignored subscription ${JSON.stringify(pattern.slice(0, 80))}: ${(error as Error).message}`);
                return;
              }
              if (patterns.size >= 256 && !patterns.has(sid)) return;
              patterns.set(sid, covering);
              resubscribe();
            },
            unsubscribe: (sid) => {
              if (patterns.delete(sid)) resubscribe();
            },
            ping: () => this.bus.flush(),
          },
          this.options,
        );
      })
      .catch((error: Error) => {
        this.log.log(`connect:${id}`, `WebRTC peer ${id} did not connect: ${error.message}`);
        session.close();
      });
    return session;
  }
}
