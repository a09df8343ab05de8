import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** Name of the cookie a browser gets after it presented the token once in the page URL. */
export const TOKEN_COOKIE = 'framebus_token';

/**
 * True when `host` only accepts connections from this machine: `localhost`, `127.0.0.0/8`
 * or `::1`. Anything else (a LAN address, `0.0.0.0`, `::`, a host name) is reachable by
 * others and so needs a token.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * Whether a server bound to `host` must check a token: always when it listens beyond
 * loopback; on loopback only when the caller asks (`requireToken: true`).
 */
export function tokenRequired(host: string, requireToken?: boolean): boolean {
  return requireToken === true || !isLoopbackHost(host);
}

/** A fresh random token: 32 URL-safe characters (192 bits). */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The token a request presents: the `token` query parameter, an `Authorization: Bearer`
 * header, or the {@link TOKEN_COOKIE} cookie, in that order.
 */
export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const query = url.searchParams.get('token');
  if (query) return query;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return cookieValue(req.headers.cookie, TOKEN_COOKIE);
}

/** True when `req` presents exactly `token` (compared in constant time). */
export function requestHasToken(req: IncomingMessage, url: URL, token: string): boolean {
  const presented = presentedToken(req, url);
  return presented !== undefined && sameSecret(presented, token);
}
