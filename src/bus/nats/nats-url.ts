import { inspect } from 'node:util';
import { InvalidArgumentError } from '../../core/errors.js';
import { DEFAULT_NATS_PREFIX, validateNatsPrefix } from './nats-subject.js';

/** The NATS server framebus connects to when the URL names no host or port. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** Environment variable holding the token when the URL has `token=` without a value or no auth at all. */
export const NATS_TOKEN_ENV = 'FRAMEBUS_NATS_TOKEN';
/** Environment variable holding the password of a URL that names a user without one. */
export const NATS_PASSWORD_ENV = 'FRAMEBUS_NATS_PASSWORD';

/** What a masked secret reads as, in URLs, logs, errors and JSON. */
export const MASK = '***';

const DEFAULT_PORT = 4222;
const OPTIONS = ['prefix', 'token', 'creds', 'nkey', 'tls', 'ca', 'cert', 'key'] as const;

/**
 * A password or token. It prints, stringifies and serialises as `***`, so it cannot leak into
 * a log line, an error message or JSON by accident; `reveal()` gives the value to the client.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself, for the NATS client only. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  [inspect.custom](): string {
    return MASK;
  }
}

/** How framebus authenticates to NATS; files are read when connecting. */
export type NatsAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'user'; readonly user: string; readonly password: Secret }
  | { readonly kind: 'token'; readonly token: Secret }
  /** NATS decentralized auth: a `.creds` file holding a user JWT and its NKey seed. */
  | { readonly kind: 'creds'; readonly file: string }
  /** A file holding an NKey seed (`SU…`); the server knows the user by its public key. */
  | { readonly kind: 'nkey'; readonly file: string };

/** TLS settings; absent when the connection is plain. */
export interface NatsTls {
  /** PEM file of the certificate authority that signed the servers' certificates. Default: the system's. */
  readonly caFile?: string;
  /** PEM client certificate and its key, for servers that verify clients. */
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** One server of a seed list. */
export interface NatsServerAddress {
  readonly host: string;
  /** TCP port, 1–65535. */
  readonly port: number;
}

/** A NATS deployment: its seed servers, credentials, TLS, and the subject prefix framebus's channels live under. */
export interface NatsUrl {
  readonly kind: 'nats';
  /** The seed list; the client learns the rest of a cluster from the server it reaches. */
  readonly servers: readonly NatsServerAddress[];
  /** The first seed server's host and port. */
  readonly host: string;
  readonly port: number;
  /** Channel `c` travels on subject `<prefix>.<escaped c>`. */
  readonly prefix: string;
  readonly auth: NatsAuth;
  /** TLS settings when the URL is `tls://`, has `tls=1`, or names a `ca`, `cert` or `key` file. */
  readonly tls: NatsTls | undefined;
  /**
   * Canonical form with every secret masked, e.g. `nats://robot:***@a:4222,b:4222?prefix=lab`:
   * safe to print, log and store. It names the same servers and options but cannot connect
   * by itself (its secrets are `***`).
   */
  readonly url: string;
}

/** Where secrets missing from the URL come from. */
export type SecretEnvironment = Readonly<Record<string, string | undefined>>;

// Up to the last `@` before the query: a password typed with a raw `@` or `/` is still masked whole.
const URL_SECRET = /^([a-z][a-z0-9+.-]*:\/\/)([^?#]*)@/i;

/**
 * Masks every secret a bus URL may hold: the password (or a lone token) of its user part, and
 * `token=` / `password=` / `pass=` options, whether or not the URL is valid. For printing a
 * URL a person typed.
 */
export function maskBusUrl(url: string): string {
  let out = String(url).replace(URL_SECRET, (_, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return `${scheme}${colon < 0 ? MASK : `${userinfo.slice(0, colon)}:${MASK}`}@`;
  });
  out = out.replace(/([?&](?:token|password|pass)=)[^&#]*/gi, (_, name: string) => `${name}${MASK}`);
  return out;
}

function fail(url: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`NATS URL ${JSON.stringify(maskBusUrl(url))} ${why}; e.g. ${DEFAULT_NATS_URL}, nats://user@a:4222,b:4222?prefix=lab.robot1 or tls://a:4222?ca=ca.pem.`);
}

function decode(url: string, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch (cause) {
    throw new InvalidArgumentError(`NATS URL ${JSON.stringify(maskBusUrl(url))} has a ${what} that is not valid percent-encoding.`, { cause });
  }
}

function parseServer(url: string, raw: string): NatsServerAddress {
  const entry = raw.replace(/^(nats|tls):\/\//i, '');
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]*))(?::(\d{1,5}))?$/.exec(entry);
  if (!m) throw fail(url, `has a server ${JSON.stringify(entry)} that is not host:port`);
  const host = m[1] ?? (m[2] || '127.0.0.1');
  const port = m[3] === undefined ? DEFAULT_PORT : Number(m[3]);
  if (port < 1 || port > 65535) throw fail(url, `has port ${port}; use 1 to 65535`);
  return { host, port };
}

function flag(url: string, name: string, value: string): boolean {
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw fail(url, `has ${name}=${value}; use ${name}=1 or ${name}=0`);
}

function file(url: string, name: string, value: string): string {
  if (value === '') throw fail(url, `has ${name}= without a file`);
  return value;
}

function formatServer(s: NatsServerAddress): string {
  return s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

/**
 * Parses `nats://[user[:password]@]host1:4222,host2:4222,…[?options]` (also `tls://…`, which
 * asks for TLS). Options: `prefix=`, `token=`, `creds=<file>`, `nkey=<file>`, `tls=1`,
 * `ca=<file>`, `cert=<file>`, `key=<file>`. A user without a password takes it from
 * `FRAMEBUS_NATS_PASSWORD`; `token=` without a value, or a URL with no credentials while
 * `FRAMEBUS_NATS_TOKEN` is set, takes the token from there. Host defaults to 127.0.0.1, port
 * to 4222, prefix to `framebus`.
 * @param env where secrets missing from the URL come from. Default: `process.env`.
 * @throws InvalidArgumentError naming what is wrong (secrets masked) and what a good URL looks like.
 */
export function parseNatsUrl(url: string, env: SecretEnvironment = process.env): NatsUrl {
  if (typeof url !== 'string') throw new InvalidArgumentError('A NATS URL must be a string.');
  // Seed entries may carry their own scheme, as NATS tools write them: `nats://a:4222,nats://b:4222`.
  const m = /^(nats|tls):\/\/([^/?#]*)(\/)?(\?[^#]*)?$/i.exec(url.replace(/,(?:nats|tls):\/\//gi, ','));
  if (!m) {
    if (!/^(nats|tls):\/\//i.test(url)) throw fail(url, 'must start with nats:// or tls://');
    throw fail(url, 'may only have credentials, servers and ?options');
  }
  const scheme = m[1].toLowerCase();
  let authority = m[2];
  let user: string | undefined;
  let password: string | undefined;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = userinfo.indexOf(':');
    user = decode(url, colon < 0 ? userinfo : userinfo.slice(0, colon), 'user');
    if (colon >= 0) password = decode(url, userinfo.slice(colon + 1), 'password');
    if (user === '') throw fail(url, 'has credentials without a user name');
  }
  const servers = authority.split(',').map((s) => parseServer(url, s));
  const params = new URLSearchParams(m[4] ?? '');
  let prefix = DEFAULT_NATS_PREFIX;
  let token: string | undefined;
  let creds: string | undefined;
  let nkey: string | undefined;
  let tlsWanted = scheme === 'tls';
  let tlsOff = false;
  const tls: { caFile?: string; certFile?: string; keyFile?: string } = {};
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (!(OPTIONS as readonly string[]).includes(name)) throw fail(url, `has the unknown option ${JSON.stringify(name)} (known: ${OPTIONS.join(', ')})`);
    if (seen.has(name)) throw fail(url, `has option ${name} twice`);
    seen.add(name);
    if (name === 'prefix') {
      validateNatsPrefix(value);
      prefix = value;
    } else if (name === 'token') token = value;
    else if (name === 'creds') creds = file(url, name, value);
    else if (name === 'nkey') nkey = file(url, name, value);
    else if (name === 'tls') {
      tlsWanted = flag(url, name, value) || tlsWanted;
      tlsOff = !flag(url, name, value);
    } else if (name === 'ca') tls.caFile = file(url, name, value);
    else if (name === 'cert') tls.certFile = file(url, name, value);
    else tls.keyFile = file(url, name, value);
  }
  if (tlsOff && (scheme === 'tls' || Object.keys(tls).length > 0)) throw fail(url, 'has tls=0 with a tls:// scheme or TLS files');
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) throw fail(url, 'needs cert= and key= together');
  const kinds = [user !== undefined, token !== undefined, creds !== undefined, nkey !== undefined].filter(Boolean).length;
  if (kinds > 1) throw fail(url, 'has more than one kind of credentials; use one of user:password@, token=, creds= or nkey=');
  let auth: NatsAuth = { kind: 'none' };
  if (user !== undefined) {
    const pass = password ?? env[NATS_PASSWORD_ENV];
    if (pass === undefined) throw fail(url, `names user ${user} without a password; put it in ${NATS_PASSWORD_ENV} (or the URL)`);
    auth = { kind: 'user', user, password: new Secret(pass) };
  } else if (token !== undefined || (kinds === 0 && env[NATS_TOKEN_ENV])) {
    const value = token || env[NATS_TOKEN_ENV];
    if (!value) throw fail(url, `has token= without a value and ${NATS_TOKEN_ENV} is not set`);
    auth = { kind: 'token', token: new Secret(value) };
  } else if (creds !== undefined) auth = { kind: 'creds', file: creds };
  else if (nkey !== undefined) auth = { kind: 'nkey', file: nkey };
  const secure = tlsWanted || Object.keys(tls).length > 0;
  const query = new URLSearchParams();
  if (prefix !== DEFAULT_NATS_PREFIX) query.set('prefix', prefix);
  if (auth.kind === 'token') query.set('token', MASK);
  if (auth.kind === 'creds') query.set('creds', auth.file);
  if (auth.kind === 'nkey') query.set('nkey', auth.file);
  if (tls.caFile !== undefined) query.set('ca', tls.caFile);
  if (tls.certFile !== undefined) query.set('cert', tls.certFile);
  if (tls.keyFile !== undefined) query.set('key', tls.keyFile);
  const userPart = auth.kind === 'user' ? `${encodeURIComponent(auth.user)}:${MASK}@` : '';
  const search = query.toString().replaceAll('%2F', '/');
  const canonical = `${secure ? 'tls' : 'nats'}://${userPart}${servers.map(formatServer).join(',')}${search ? `?${search}` : ''}`;
  return { kind: 'nats', servers, host: servers[0].host, port: servers[0].port, prefix, auth, tls: secure ? tls : undefined, url: canonical };
}
