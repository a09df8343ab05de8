import type { Bus } from '../bus/bus.js';
import { WebRtcAnswerer } from '../bus/webrtc/webrtc-answerer.js';
import { InvalidArgumentError, MalformedDataError } from '../core/errors.js';
import type { HttpAnswer } from './http-routes.js';
import type { MethodRoute } from './method-routes.js';

/** The bus-peer signaling endpoint of a live server and the peers it joined. */
export interface WebRtcBusEndpoint {
  readonly route: MethodRoute;
  /** Peers joined to the bus now. */
  readonly openSessions: number;
  /** Ends every peer's session. */
  close(): void;
}

const SDP = 'application/sdp';

function text(status: number, message: string): HttpAnswer {
  return { status, contentType: 'text/plain; charset=utf-8', body: `${message}\n` };
}

/**
 * `POST /webrtc/bus`: the answer side of `webrtc://host:port`. The body is the dialer's SDP
 * offer; the answer (201, `application/sdp`) joins that peer to `bus` over DataChannels.
 * Access (the token as `Authorization: Bearer` off loopback) is checked by the server first.
 */
export function webrtcBusRoute(bus: Bus, options: { bindAddress?: string } = {}): WebRtcBusEndpoint {
  const answerer = new WebRtcAnswerer(bus, { bindAddress: options.bindAddress });
  const route: MethodRoute = {
    prefix: '/webrtc/bus',
    methods: ['POST'],
    maxBodyBytes: 64 * 1024,
    optionsHeaders: { 'Accept-Post': SDP },
    async handle(request) {
      if (request.url.pathname !== '/webrtc/bus') return undefined;
      const type = String(request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== SDP) return text(415, `Send the SDP offer with Content-Type: ${SDP}.`);
      try {
        const { answerSdp } = await answerer.answer(request.body.toString('utf8'));
        return { status: 201, contentType: SDP, body: answerSdp };
      } catch (error) {
        if (error instanceof InvalidArgumentError) return text(400, error.message);
        if (error instanceof MalformedDataError) return text(422, error.message);
        throw error;
      }
    },
  };
  return {
    route,
    get openSessions() {
      return answerer.openSessions;
    },
    close: () => answerer.close(),
  };
}
