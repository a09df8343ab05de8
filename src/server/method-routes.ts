import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AccessPolicy } from './access-policy.js';
import type { HttpAnswer } from './http-routes.js';

/** A request to a {@link MethodRoute}: its method, URL, headers and whole (bounded) body. */
export interface HttpRequest {
  /** Upper-case method, e.g. `POST`. */
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  /** The request body, at most the route's `maxBodyBytes`. */
  readonly body: Buffer;
}

/**
 * One entry of a viewer server's table of routes that take a request body or change state
 * (WHEP, WHIP, WebRTC signaling): POST, PATCH, PUT, DELETE. OPTIONS (a CORS preflight) is
 * answered for it. A new endpoint is one more entry.
 */
export interface MethodRoute {
  /** Path prefix the route serves, e.g. `/whep/`. */
  readonly prefix: string;
  /** Methods it answers besides OPTIONS, e.g. `['POST', 'PATCH', 'DELETE']`; others get 405. */
  readonly methods: readonly string[];
  /** Largest request body, bytes; a bigger one gets 413 before the route sees it. Default 64 KiB. */
  readonly maxBodyBytes?: number;
  /** Headers added to the OPTIONS answer, e.g. `Accept-Post: application/sdp`. */
  readonly optionsHeaders?: Readonly<Record<string, string>>;
  /** The answer; undefined means 404. A thrown error becomes 403/404/500 as for GET routes. */
  handle(request: HttpRequest): Promise<HttpAnswer | undefined>;
}

const DEFAULT_MAX_BODY = 64 * 1024;

/** Reads a request body, or undefined when it is longer than `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolveBody, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) return resolveBody(undefined);
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolveBody(undefined);
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolveBody(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function corsHeaders(req: IncomingMessage, route: MethodRoute): Record<string, string> {
  const origin = req.headers.origin;
  if (origin === undefined) return {};
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': ['OPTIONS', ...route.methods].join(', '),
    'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match',
    'Access-Control-Expose-Headers': 'Location, ETag, Link, Accept-Patch, Accept-Post',
    Vary: 'Origin',
  };
}

/** The first route of `routes` serving the request's path, if any. */
export function findMethodRoute(routes: readonly MethodRoute[], pathname: string): MethodRoute | undefined {
  return routes.find((route) => pathname.startsWith(route.prefix));
}

/**
 * Answers one request to a method route: a CORS preflight without access checks (browsers
 * send it without credentials), other methods after the access policy (token off loopback;
 * on loopback only same-origin or allowed-origin pages) with the bounded body.
 */
export async function serveMethodRoute(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  policy: AccessPolicy,
  route: MethodRoute,
  send: (status: number, contentType: string, body: string | Buffer, headers?: Record<string, string>) => void,
): Promise<void> {
  const method = req.method ?? 'GET';
  const cors = corsHeaders(req, route);
  const allow = ['OPTIONS', ...route.methods].join(', ');
  if (method === 'OPTIONS') {
    res.writeHead(204, { Allow: allow, 'Cache-Control': 'no-store', ...cors, ...route.optionsHeaders });
    res.end();
    return;
  }
  if (!route.methods.includes(method)) return send(405, 'text/plain', `${url.pathname} answers ${allow}.\n`, { Allow: allow, ...cors });
  const refusal = policy.refuseRequest(req, url) ?? policy.refuseOrigin(req);
  if (refusal) return send(refusal.status, 'text/plain; charset=utf-8', `${refusal.message}\n`, cors);
  const limit = route.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const body = await readBody(req, limit);
  if (body === undefined) return send(413, 'text/plain', `The request body is over ${limit} bytes.\n`, { Connection: 'close', ...cors });
  const answer = await route.handle({ method, url, headers: req.headers, body });
  if (!answer) return send(404, 'text/plain', 'Not found.\n', cors);
  send(answer.status, answer.contentType, answer.body, { ...cors, ...answer.headers });
}
