import { readFile } from 'node:fs/promises';
import {
  AuthorizationError,
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  UserAuthenticationExpiredError,
  usernamePasswordAuthenticator,
  type Authenticator,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';
import { InvalidArgumentError } from '../../core/errors.js';
import type { NatsUrl } from './nats-url.js';

/** How a NATS client reconnects when its server goes away; every field has a default suited to video. */
export interface NatsReconnectOptions {
  /** Milliseconds between attempts on the same server. Default 250. */
  reconnectTimeWaitMs?: number;
  /** Up to this many random milliseconds added to each wait (plain TCP), so a fleet does not reconnect in lockstep. Default 100. */
  reconnectJitterMs?: number;
  /** The same for TLS connections, whose handshakes cost the server more. Default 500. */
  reconnectJitterTlsMs?: number;
  /** Milliseconds between client pings; two unanswered pings mark a silent server as dead. Default 5,000. */
  pingIntervalMs?: number;
}

function positiveMs(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(Number.isFinite(v) && v >= 0)) throw new InvalidArgumentError(`${name} must be a number of milliseconds ≥ 0, got ${String(v)}.`);
  return v;
}

async function readSecretFile(url: NatsUrl, what: string, path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new InvalidArgumentError(`Cannot read the NATS ${what} file ${path} named in ${url.url}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}.`, { cause });
  }
}

/** Claims of a JWT's payload that framebus checks before sending it. */
function jwtExpiry(creds: string): number | undefined {
  const jwt = /-----BEGIN NATS USER JWT-----\s*([A-Za-z0-9_.-]+)\s*------END NATS USER JWT------/.exec(creds)?.[1];
  const payload = jwt?.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

async function authenticator(url: NatsUrl): Promise<Authenticator | undefined> {
  const auth = url.auth;
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'user':
      return usernamePasswordAuthenticator(auth.user, auth.password.reveal());
    case 'token':
      return tokenAuthenticator(auth.token.reveal());
    case 'creds': {
      const bytes = await readSecretFile(url, 'creds', auth.file);
      const made = credsAuthenticator(bytes);
      try {
        made('framebus-check');
      } catch (cause) {
        throw new InvalidArgumentError(`The NATS creds file ${auth.file} does not hold a user JWT and NKey seed (as \`nsc generate creds\` writes them).`, { cause });
      }
      const exp = jwtExpiry(Buffer.from(bytes).toString());
      if (exp !== undefined && exp * 1000 <= Date.now()) {
        throw new InvalidArgumentError(`The NATS creds file ${auth.file} holds a user JWT that expired at ${new Date(exp * 1000).toISOString()}; issue new credentials.`);
      }
      return made;
    }
    case 'nkey': {
      const seed = new TextEncoder().encode(Buffer.from(await readSecretFile(url, 'nkey', auth.file)).toString().trim());
      const made = nkeyAuthenticator(seed);
      try {
        made('framebus-check');
      } catch (cause) {
        throw new InvalidArgumentError(`The NATS nkey file ${auth.file} does not hold an NKey user seed (a line starting with SU).`, { cause });
      }
      return made;
    }
  }
}

/**
 * The `nats.js` connection options for `url`: its seed servers, credentials (files read now,
 * so a missing or garbage file fails here with its name), TLS, and a reconnect policy that
 * never gives up, waits a bounded, jittered time between attempts, and fails over to any
 * cluster member the server announced.
 * @throws InvalidArgumentError for an unreadable, garbage or expired credentials file.
 */
export async function natsConnectionOptions(url: NatsUrl, timeoutMs: number, reconnect: NatsReconnectOptions = {}): Promise<NodeConnectionOptions> {
  const options: NodeConnectionOptions = {
    servers: url.servers.map((s) => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`)),
    name: 'framebus',
    timeout: timeoutMs,
    maxReconnectAttempts: -1,
    reconnectTimeWait: positiveMs('reconnectTimeWaitMs', reconnect.reconnectTimeWaitMs, 250),
    reconnectJitter: positiveMs('reconnectJitterMs', reconnect.reconnectJitterMs, 100),
    reconnectJitterTLS: positiveMs('reconnectJitterTlsMs', reconnect.reconnectJitterTlsMs, 500),
    pingInterval: positiveMs('pingIntervalMs', reconnect.pingIntervalMs, 5_000),
    maxPingOut: 2,
    // A bad password stays bad: stop instead of hammering the cluster.
    ignoreAuthErrorAbort: false,
  };
  const auth = await authenticator(url);
  if (auth) options.authenticator = auth;
  if (url.tls) {
    options.tls = {};
    if (url.tls.caFile !== undefined) options.tls.caFile = url.tls.caFile;
    if (url.tls.certFile !== undefined) options.tls.certFile = url.tls.certFile;
    if (url.tls.keyFile !== undefined) options.tls.keyFile = url.tls.keyFile;
  }
  return options;
}

const TLS_CODES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate is signed by an unknown authority (give ca=<file>)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its TLS certificate is signed by an unknown authority (give ca=<file>)',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate chain ends in an untrusted self-signed certificate (give ca=<file>)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed and not trusted (give ca=<file>)',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate does not name this host',
};

function codeOf(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && e.code !== '') return e.code;
  }
  return undefined;
}

/** Why a connection to NATS failed, in a few words a person can act on (never a secret: the client never sees the URL's). */
export function explainNatsFailure(error: unknown): string {
  const code = codeOf(error);
  const message = (error as Error)?.message ?? String(error);
  if (error instanceof UserAuthenticationExpiredError || /expired/i.test(message) && /auth|jwt|user/i.test(message)) return 'the server says the credentials expired';
  if (error instanceof AuthorizationError || /authorization violation|authentication/i.test(message)) return 'the server rejected the credentials (wrong user, password, token, creds or nkey)';
  if (code && TLS_CODES[code]) return TLS_CODES[code];
  if (code === 'ECONNREFUSED' || /ECONNREFUSED|connection refused/i.test(message)) return 'connection refused (is nats-server running there?)';
  if (/tls/i.test(message) && /required|not available|handshake/i.test(message)) return `TLS mismatch: ${message} (use tls:// for a TLS server, nats:// for a plain one)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  if (/timeout/i.test(message) || code === 'ETIMEDOUT') return 'no answer before the timeout';
  return message;
}
