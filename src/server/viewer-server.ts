import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { InvalidArgumentError, TransportError } from '../core/errors.js';
import { AccessPolicy, FOXGLOVE_SUBPROTOCOL, type Refusal } from './access-policy.js';
import { generateToken, tokenRequired } from './access-token.js';
import { apiRoute, pageRoute, type HttpRoute, type SocketRoute } from './http-routes.js';
import { findMethodRoute, serveMethodRoute, type MethodRoute } from './method-routes.js';
import { resolveSendLimits, type SendLimits } from './send-gate.js';
import { DEFAULT_WEB_ROOT, StaticFiles } from './static-files.js';

/** Where and how a viewer server listens, and what it allows each viewer. */
export interface ViewerServerOptions extends SendLimits {
  /** Interface to listen on. Default `127.0.0.1`; any non-loopback host turns the token on. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 8765. */
  port?: number;
  /** Check a token even on loopback. Always on for non-loopback hosts. */
  requireToken?: boolean;
  /** The token to require; default a fresh random one. Ignored when no token is required. */
  token?: string;
  /** Folder of the built viewer page, read once at start. Default `dist/web` of this package. */
  webRoot?: string;
  /**
   * Web page origins (besides the server's own) allowed to open a WebSocket without the
   * token, so other sites a person browses cannot watch a loopback stream. Default
   * `['https://app.foxglove.dev']`.
   */
  allowedOrigins?: string[];
  /** Largest message a client may send, bytes; a bigger one closes that client. Default 64 KiB. */
  maxClientMessageBytes?: number;
  /** Most viewers connected at once; more are refused with 503. Default 32. */
  maxClients?: number;
  /** Receives one line for each viewer the server closes for not reading. Default: none. */
  log?: (message: string) => void;
}

/** A running server as the CLI prints it. */
export interface ViewerServerHandle {
  /** The viewer page URL, with `?token=` when a token is required. */
  readonly url: string;
  /** The token clients must present, or undefined when none is required. */
  readonly token: string | undefined;
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

/** What a concrete server (live, replay) adds to the common HTTP + WebSocket shell. */
export interface ViewerServerRoutes {
  /** Answers a JSON API request under `/api/`; undefined means 404. */
  api?(path: string, url: URL): Promise<unknown>;
  /** More HTTP routes, tried before the API and the page (see `HttpRoute`). */
  http?: readonly HttpRoute[];
  /** Routes taking POST, PATCH, DELETE… (see `MethodRoute`); they also answer OPTIONS. */
  methods?: readonly MethodRoute[];
  /** Checks a WebSocket request before it is accepted; a refusal is sent as HTTP. */
  checkUpgrade?(url: URL): Promise<Refusal | undefined>;
  /** WebSocket paths of their own (`/fmp4/`), tried before the Foxglove connection. */
  sockets?: readonly SocketRoute[];
  /** Takes over an accepted Foxglove WebSocket connection. */
  connect(ws: WebSocket, url: URL, label: string): void;
}

const MAX_URL_LENGTH = 4096;

function writeRefusal(socket: Duplex, refusal: Refusal): void {
  const body = `${refusal.message}\n`;
  socket.end(
    `HTTP/1.1 ${refusal.status} ${refusal.status === 401 ? 'Unauthorized' : 'Refused'}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(body);
}

/** Answers one HTTP request from the route table, after the size, method and access checks. */
async function serveHttp(req: IncomingMessage, res: ServerResponse, policy: AccessPolicy, table: readonly HttpRoute[], methods: readonly MethodRoute[]): Promise<void> {
  try {
    if ((req.url ?? '').length > MAX_URL_LENGTH) return send(res, 414, 'text/plain', 'URL too long.\n');
    const methodRoute = req.method !== 'GET' && req.method !== 'HEAD' ? findMethodRoute(methods, new URL(req.url ?? '/', 'http://localhost').pathname) : undefined;
    if (methodRoute) {
      return await serveMethodRoute(req, res, new URL(req.url ?? '/', 'http://localhost'), policy, methodRoute, (...answer) => send(res, ...answer));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'text/plain', 'Only GET is supported.\n', { Allow: 'GET, HEAD', Connection: 'close' });
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refusal = policy.refuseRequest(req, url);
    if (refusal) return send(res, refusal.status, 'text/plain; charset=utf-8', `${refusal.message}\n`);
    for (const route of table) {
      if (!url.pathname.startsWith(route.prefix)) continue;
      const answer = await route.answer(url);
      if (answer?.stream && req.method === 'GET') {
        res.writeHead(answer.status, { 'Content-Type': answer.contentType, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
        return answer.stream(res);
      }
      if (answer) return send(res, answer.status, answer.contentType, answer.body, { ...answer.headers, ...(answer.status === 200 ? policy.cookieFor(url) : {}) });
    }
    send(res, 404, 'text/plain', 'Not found.\n');
  } catch (error) {
    const status = error instanceof InvalidArgumentError ? 403 : (error as { code?: string }).code === 'not-found' ? 404 : 500;
    if (!res.headersSent) send(res, status, 'text/plain; charset=utf-8', `${status === 500 ? 'Server error' : (error as Error).message}\n`);
    else res.destroy();
  }
}

/**
 * The HTTP + WebSocket shell shared by the live and replay servers: serves the viewer page,
 * checks the token, bounds requests and messages, and hands accepted Foxglove WebSocket
 * connections to `routes.connect`.
 */
export class ViewerServer implements ViewerServerHandle {
  private address = '';
  private readonly sockets = new Set<WebSocket>();

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly token: string | undefined,
  ) {}

  get url(): string {
    return this.address;
  }

  /**
   * Starts listening.
   * @throws InvalidArgumentError for a bad port, token or send limit.
   * @throws TransportError when the address cannot be bound (in use, not on this machine).
   */
  static async listen(options: ViewerServerOptions, routes: ViewerServerRoutes): Promise<ViewerServer> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 8765;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new InvalidArgumentError(`port must be a whole number from 0 to 65535, got ${String(port)}.`);
    }
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 8)) {
      throw new InvalidArgumentError('A token must be a string of at least 8 characters.');
    }
    const token = tokenRequired(host, options.requireToken) ? (options.token ?? generateToken()) : undefined;
    resolveSendLimits(options);
    const webRoot = options.webRoot ?? DEFAULT_WEB_ROOT;
    const table: HttpRoute[] = [...(routes.http ?? []), ...(routes.api ? [apiRoute(routes.api)] : []), pageRoute(await StaticFiles.load(webRoot), webRoot)];
    const policy = new AccessPolicy(token, new Set(options.allowedOrigins ?? ['https://app.foxglove.dev']));
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxClientMessageBytes ?? 64 * 1024,
      handleProtocols: (protocols) => (protocols.has(FOXGLOVE_SUBPROTOCOL) ? FOXGLOVE_SUBPROTOCOL : false),
      perMessageDeflate: false,
    });
    const http = createServer();
    const server = new ViewerServer(http, wss, token);
    http.requestTimeout = 10_000;
    http.headersTimeout = 10_000;
    http.maxHeadersCount = 64;
    http.on('request', (req: IncomingMessage, res: ServerResponse) => void serveHttp(req, res, policy, table, routes.methods ?? []));
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      server.upgrade(req, socket, head, policy, routes, options.maxClients ?? 32).catch(() => socket.destroy());
    });
    await new Promise<void>((resolveListen, reject) => {
      http.once('error', (cause: NodeJS.ErrnoException) =>
        reject(new TransportError(`Cannot listen on ${host}:${port}: ${cause.code === 'EADDRINUSE' ? 'the port is in use' : cause.message}.`, { cause })),
      );
      http.listen(port, host, () => resolveListen());
    });
    const address = http.address();
    const boundPort = typeof address === 'object' && address ? address.port : port;
    const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
    server.address = `http://${urlHost}:${boundPort}/${token !== undefined ? `?token=${token}` : ''}`;
    return server;
  }

  /** Checks a WebSocket request (access, origin, subprotocol, room, the server's own check) and hands it to `routes.connect`. */
  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, policy: AccessPolicy, routes: ViewerServerRoutes, maxClients: number): Promise<void> {
    const url = new URL((req.url ?? '/').slice(0, MAX_URL_LENGTH), 'http://localhost');
    const own = routes.sockets?.find((r) => url.pathname.startsWith(r.prefix));
    // A socket route is a media path like `GET /live/…` (token checked, no Foxglove subprotocol).
    let refusal = own ? policy.refuseRequest(req, url) : policy.refuseWebSocket(req, url);
    if (!refusal && this.sockets.size >= maxClients) refusal = { status: 503, message: 'Too many viewers are connected.' };
    if (!refusal && own && !own.accepts(url)) refusal = { status: 404, message: `No stream at ${url.pathname}.` };
    if (!refusal && !own) {
      refusal = await routes.checkUpgrade?.(url).catch((error: Error) => ({
        status: error instanceof InvalidArgumentError ? 403 : 404,
        message: error.message,
      }));
    }
    if (refusal) return writeRefusal(socket, refusal);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      ws.on('close', () => this.sockets.delete(ws));
      if (own) own.connect(ws, url);
      else routes.connect(ws, url, `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`);
    });
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolveClose) => this.http.close(() => resolveClose()));
  }
}
