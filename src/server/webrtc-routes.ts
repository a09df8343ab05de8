import type { Bus } from '../bus/bus.js';
import { MalformedDataError, TransportError } from '../core/errors.js';
import type { HttpAnswer } from './http-routes.js';
import type { LiveFeeds, LiveVideoFeed } from './live-feeds.js';
import type { HttpRequest, MethodRoute } from './method-routes.js';
import { parseSdpOffer, type SdpOffer } from './sdp-offer.js';
import type { CommandSink } from './teleop-commands.js';
import { WhepSession, type WhepSessionStats } from './whep-session.js';
import { WhipSession } from './whip-session.js';
import { webrtcBusRoute } from './webrtc-bus-route.js';

/** What a WebRTC endpoint (WHEP, WHIP) keeps of a session. */
export interface WebRtcSession {
  readonly id: string;
  /** Adds trickled ICE candidates (`a=candidate:` lines of an SDP fragment) for media `mid`. */
  addCandidates(fragment: string): void;
  close(): void;
}

/** Options of {@link webrtcRoutes}. */
export interface WebRtcRoutesOptions {
  /** Local address for ICE, normally the server's listening host. */
  bindAddress?: string;
  /** Most WHEP and WHIP sessions open at once; more are refused with 503. Default 32. */
  maxSessions?: number;
  /** Takes the operator messages (`twist_t`, LCM encoding) from WHEP players' DataChannels. */
  commands?: CommandSink;
  /** The topic `commands` publishes on, shown to viewers (their teleop panel appears only with one). */
  commandsTopic?: string;
  /** The bus WHIP publishers' video goes to, and `webrtc://` peers (`POST /webrtc/bus`) join; without one there is neither endpoint. */
  publishTo?: Bus;
}

/** The WHEP/WHIP endpoints of a live server and the sessions they hold. */
export interface WebRtcEndpoints {
  readonly routes: readonly MethodRoute[];
  /** WHEP sessions open now, by id. */
  readonly whep: ReadonlyMap<string, WhepSession>;
  /** Counters of every WHEP session since start, closed ones included. */
  readonly whepTotals: WhepSessionStats & { sessions: number };
  /** WHIP sessions open now, by id. */
  readonly whip: ReadonlyMap<string, WhipSession>;
  /** Ends every session. */
  close(): void;
}

const SDP = 'application/sdp';
const TRICKLE = 'application/trickle-ice-sdpfrag';
const MAX_SDP_BYTES = 64 * 1024;

function text(status: number, message: string, headers?: Record<string, string>): HttpAnswer {
  return { status, contentType: 'text/plain; charset=utf-8', body: `${message}\n`, headers };
}

function contentType(request: HttpRequest): string {
  return String(request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** The offer in a POST, or an HTTP error answer. */
function readOffer(request: HttpRequest): SdpOffer | HttpAnswer {
  if (contentType(request) !== SDP) return text(415, `Send the SDP offer with Content-Type: ${SDP}.`, { 'Accept-Post': SDP });
  try {
    return parseSdpOffer(request.body.toString('utf8'));
  } catch (error) {
    return text(400, (error as Error).message);
  }
}

/**
 * The session resource routes (`<base>/<id>`): PATCH trickles ICE candidates (204), an ICE
 * restart is refused with 422, DELETE ends the session (200).
 */
function sessionRoute(prefix: string, sessions: Map<string, WebRtcSession>): MethodRoute {
  return {
    prefix,
    methods: ['PATCH', 'DELETE'],
    maxBodyBytes: MAX_SDP_BYTES,
    optionsHeaders: { 'Accept-Patch': TRICKLE },
    async handle(request) {
      const id = request.url.pathname.slice(prefix.length);
      const session = sessions.get(id);
      if (!session) return text(404, `No WebRTC session ${id}; it ended or never existed.`);
      if (request.method === 'DELETE') {
        session.close();
        return text(200, 'Session ended.');
      }
      if (contentType(request) !== TRICKLE) return text(415, `Send ICE candidates with Content-Type: ${TRICKLE}.`, { 'Accept-Patch': TRICKLE });
      const ifMatch = request.headers['if-match'];
      if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== `"${id}"`) return text(412, 'If-Match does not name this session.');
      const fragment = request.body.toString('utf8');
      if (/^a=ice-ufrag:/m.test(fragment)) return text(422, 'ICE restart is not supported here; start a new session with POST.');
      try {
        session.addCandidates(fragment);
      } catch (error) {
        return text(400, `Cannot use the candidates: ${(error as Error).message}`);
      }
      return { status: 204, contentType: 'text/plain', body: '' };
    },
  };
}

/** What a POST-an-offer route (WHEP, WHIP) does with its own kind of session. */
interface OfferEndpoint {
  /** Where offers are posted, e.g. `/whep/`; the rest of the path is the topic. */
  readonly prefix: string;
  /** Where the sessions' resources are, e.g. `/whep-session/`. */
  readonly sessionPrefix: string;
  /** An HTTP answer refusing the topic, or undefined to go on. */
  refuse(topic: string): HttpAnswer | undefined;
  /**
   * Opens a session for the offer and answers it.
   * @throws MalformedDataError for an offer it cannot answer (422); TransportError when the peer cannot be set up (503).
   */
  open(topic: string, offer: SdpOffer): Promise<{ session: Omit<WebRtcSession, 'close'> & { close(): unknown }; sdp: string }>;
}

/** The route taking offers for `endpoint`: 201 with the answer and the session's `Location`, or an HTTP error. */
function offerRoute(resources: Map<string, WebRtcSession>, maxSessions: number, endpoint: OfferEndpoint): MethodRoute {
  return {
    prefix: endpoint.prefix,
    methods: ['POST'],
    maxBodyBytes: MAX_SDP_BYTES,
    optionsHeaders: { 'Accept-Post': SDP },
    async handle(request) {
      const topic = decodeURIComponent(request.url.pathname.slice(endpoint.prefix.length));
      const offer = readOffer(request);
      if (!('media' in offer)) return offer;
      const refusal = endpoint.refuse(topic);
      if (refusal) return refusal;
      if (resources.size >= maxSessions) return text(503, `Too many WebRTC sessions are open (${maxSessions}).`, { 'Retry-After': '5' });
      let opened: Awaited<ReturnType<OfferEndpoint['open']>>;
      try {
        opened = await endpoint.open(topic, offer);
      } catch (error) {
        if (error instanceof MalformedDataError) return text(422, error.message);
        if (error instanceof TransportError) return text(503, error.message);
        throw error;
      }
      const { session, sdp } = opened;
      resources.set(session.id, { id: session.id, close: () => void session.close(), addCandidates: (fragment) => session.addCandidates(fragment) });
      return {
        status: 201,
        contentType: SDP,
        body: sdp,
        headers: { Location: `${endpoint.sessionPrefix}${session.id}`, ETag: `"${session.id}"`, 'Accept-Patch': TRICKLE },
      };
    },
  };
}

/**
 * WHEP (`POST /whep/<topic>`, draft-ietf-wish-whep) for every live H.264 topic of `feeds`,
 * with session resources at `/whep-session/<id>`, and WHIP (`POST /whip/<topic>`, RFC 9725)
 * into `publishTo`, resources at `/whip-session/<id>`. Access (the token as `Authorization:
 * Bearer` off loopback) is checked by the server before a route is called.
 */
export function webrtcRoutes(feeds: LiveFeeds, options: WebRtcRoutesOptions = {}): WebRtcEndpoints {
  const resources = new Map<string, WebRtcSession>();
  const maxSessions = options.maxSessions ?? 32;
  const whep = new Map<string, WhepSession>();
  const whepTotals = { sessions: 0, packetsSent: 0, packetsSkipped: 0, keyframeRequests: 0, nacks: 0, commands: 0 };
  const whepRoute = offerRoute(resources, maxSessions, {
    prefix: '/whep/',
    sessionPrefix: '/whep-session/',
    refuse(topic) {
      if (videoFeed(topic)) return undefined;
      const known = feeds.list().filter((f) => f.kind === 'video').map((f) => f.topic);
      return text(404, `No video topic ${JSON.stringify(topic)} here; video topics now: ${known.length > 0 ? known.join(', ') : 'none yet'}.`);
    },
    async open(topic, offer) {
      const opened = await WhepSession.answer(topic, videoFeed(topic)!, offer, {
        bindAddress: options.bindAddress,
        commands: options.commands,
        onClose: (session) => {
          if (!whep.delete(session.id)) return;
          resources.delete(session.id);
          for (const key of Object.keys(session.stats) as (keyof WhepSessionStats)[]) whepTotals[key] += session.stats[key];
        },
      });
      whepTotals.sessions++;
      whep.set(opened.session.id, opened.session);
      return opened;
    },
  });
  function videoFeed(topic: string): LiveVideoFeed | undefined {
    return feeds.list().find((f): f is LiveVideoFeed => f.kind === 'video' && f.topic === topic);
  }
  const whip = new Map<string, WhipSession>();
  const bus = options.publishTo;
  const whipRoute =
    bus &&
    offerRoute(resources, maxSessions, {
      prefix: '/whip/',
      sessionPrefix: '/whip-session/',
      refuse(topic) {
        if (!/^[\w./-]{1,200}$/.test(topic)) return text(400, `Topic names for WHIP are 1–200 letters, digits, and . _ / -; got ${JSON.stringify(topic.slice(0, 80))}.`);
        if ([...whip.values()].some((s) => s.topic === topic)) return text(409, `${topic} is already being published over WHIP; DELETE that session first.`);
        return undefined;
      },
      async open(topic, offer) {
        const opened = await WhipSession.answer(bus, topic, offer, {
          bindAddress: options.bindAddress,
          onClose: (session) => {
            whip.delete(session.id);
            resources.delete(session.id);
          },
        });
        whip.set(opened.session.id, opened.session);
        return opened;
      },
    });
  const busPeers = options.publishTo ? webrtcBusRoute(options.publishTo, { bindAddress: options.bindAddress }) : undefined;
  return {
    routes: [whepRoute, sessionRoute('/whep-session/', resources), ...(whipRoute ? [whipRoute, sessionRoute('/whip-session/', resources)] : []), ...(busPeers ? [busPeers.route] : [])],
    whep,
    whepTotals,
    whip,
    close() {
      for (const session of [...resources.values()]) session.close();
      busPeers?.close();
    },
  };
}

/**
 * The WHEP and WHIP endpoint URLs for `topic` on the server whose viewer page is at
 * `viewerUrl`, without the page's `?token=` (WebRTC clients send it as `Authorization: Bearer`).
 */
export function webrtcEndpointUrls(viewerUrl: string, topic: string): { whep: string; whip: string } {
  const origin = new URL(viewerUrl).origin;
  const path = topic.split('/').map(encodeURIComponent).join('/');
  return { whep: `${origin}/whep/${path}`, whip: `${origin}/whip/${path}` };
}
