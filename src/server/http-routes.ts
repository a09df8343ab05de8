import type { ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { StaticFiles } from './static-files.js';

/** What a route answers: status, content type and body. */
export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string | Buffer;
  /** More response headers, e.g. `Location` or `ETag`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** A long response (live video): called after the head is sent instead of sending `body`; it writes and ends `res` itself. */
  readonly stream?: (res: ServerResponse) => void;
}

/** A WebSocket path served outside the Foxglove protocol, e.g. `/fmp4/`. */
export interface SocketRoute {
  /** Path prefix the route serves. */
  readonly prefix: string;
  /** Whether the route serves this URL (else the upgrade is refused with 404). */
  accepts(url: URL): boolean;
  /** Takes over an accepted connection. */
  connect(ws: WebSocket, url: URL): void;
}

/**
 * One entry of a viewer server's HTTP table (GET and HEAD): the first route whose `prefix`
 * starts the path and whose `answer` gives one serves the request; none gives 404. A new
 * endpoint (WHEP, a live fMP4 stream) is one more entry.
 */
export interface HttpRoute {
  /** Path prefix the route serves, e.g. `/api/`. */
  readonly prefix: string;
  /** The answer, or undefined to let later routes try. */
  answer(url: URL): Promise<HttpAnswer | undefined>;
}

/** `/api/<path>`: JSON from `api`; undefined from it means no such API (404). */
export function apiRoute(api: (path: string, url: URL) => Promise<unknown>): HttpRoute {
  return {
    prefix: '/api/',
    async answer(url) {
      const result = await api(url.pathname.slice('/api/'.length), url);
      return result === undefined
        ? { status: 404, contentType: 'text/plain', body: 'No such API.\n' }
        : { status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(result) };
    },
  };
}

/** The viewer page and its files, held in memory; `/` says how to build a page that is missing. */
export function pageRoute(page: StaticFiles, webRoot: string): HttpRoute {
  return {
    prefix: '/',
    async answer(url) {
      const file = page.get(url.pathname);
      if (file) return { status: 200, contentType: file.contentType, body: file.body };
      if (url.pathname === '/') {
        return { status: 503, contentType: 'text/plain', body: `The viewer page is not built in ${webRoot}: run \`npm run build:web\` and restart the server.\n` };
      }
      return undefined;
    },
  };
}
