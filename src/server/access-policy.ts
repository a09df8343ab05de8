import type { IncomingMessage } from 'node:http';
import { isLoopbackHost, requestHasToken, TOKEN_COOKIE } from './access-token.js';

/** The WebSocket subprotocol of the Foxglove WebSocket protocol. */
export const FOXGLOVE_SUBPROTOCOL = 'foxglove.websocket.v1';

/** An HTTP refusal: status code and a message a person can act on. */
export interface Refusal {
  readonly status: number;
  readonly message: string;
}

function hostName(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  const bracket = hostHeader.match(/^\[([^\]]+)\]/);
  return bracket ? bracket[1] : hostHeader.replace(/:\d+$/, '');
}

/**
 * Who may use a viewer server: with a token, whoever presents it (query or cookie); without
 * one, only requests to a loopback name (defeats DNS rebinding), and WebSockets only from the
 * server's own page or allowed origins (so other sites a person browses cannot watch).
 */
export class AccessPolicy {
  constructor(
    /** The token to require, or undefined for none. */
    readonly token: string | undefined,
    private readonly allowedOrigins: ReadonlySet<string>,
  ) {}

  /** Why an HTTP request is refused, or undefined when it may proceed. */
  refuseRequest(req: IncomingMessage, url: URL): Refusal | undefined {
    if (this.token !== undefined) {
      return requestHasToken(req, url, this.token)
        ? undefined
        : { status: 401, message: 'This framebus viewer needs its access token: open the URL the server printed at start (it ends in ?token=…).' };
    }
    if (!isLoopbackHost(hostName(req.headers.host))) {
      return { status: 403, message: `Host ${req.headers.host ?? '(none)'} is not allowed; use http://127.0.0.1 or http://localhost.` };
    }
    return undefined;
  }

  /** Why a request from another web page is refused: without a token only this server's page and allowed origins may connect. */
  refuseOrigin(req: IncomingMessage): Refusal | undefined {
    const origin = req.headers.origin;
    if (this.token === undefined && origin !== undefined && origin !== `http://${req.headers.host}` && !this.allowedOrigins.has(origin)) {
      return { status: 403, message: `Web pages from ${origin} may not connect; open the viewer from this server.` };
    }
    return undefined;
  }

  /** Why a WebSocket upgrade is refused (access, origin, subprotocol), or undefined. */
  refuseWebSocket(req: IncomingMessage, url: URL): Refusal | undefined {
    const refusal = this.refuseRequest(req, url) ?? this.refuseOrigin(req);
    if (refusal) return refusal;
    if (!String(req.headers['sec-websocket-protocol'] ?? '').split(',').some((p) => p.trim() === FOXGLOVE_SUBPROTOCOL)) {
      return { status: 400, message: `Connect with the WebSocket subprotocol ${FOXGLOVE_SUBPROTOCOL}.` };
    }
    return undefined;
  }

  /** Headers that let the page's own requests authenticate without the query (a cookie). */
  cookieFor(url: URL): Record<string, string> {
    if (this.token === undefined || url.searchParams.get('token') !== this.token) return {};
    return { 'Set-Cookie': `${TOKEN_COOKIE}=${this.token}; HttpOnly; SameSite=Strict; Path=/` };
  }
}
