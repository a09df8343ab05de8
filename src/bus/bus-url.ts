import { InvalidArgumentError } from '../core/errors.js';
import { DEFAULT_LCM_URL, parseLcmUrl, type LcmUrl } from './lcm/lcm-url.js';
import { DEFAULT_NATS_PREFIX, validateNatsPrefix } from './nats/nats-subject.js';
import { parseWebRtcUrl, WEBRTC_LOOPBACK_URL, type WebRtcUrl } from './webrtc/webrtc-url.js';

/** The NATS server framebus connects to when the URL names no host or port. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** The kinds of URL `Bus.open` takes, with an example of each, for error messages. */
export const BUS_URL_EXAMPLES = `memory: (or memory:<name>), ${DEFAULT_LCM_URL}, ${DEFAULT_NATS_URL}, ${WEBRTC_LOOPBACK_URL}, webrtc://host:port`;

/** An in-process bus: every `Bus` opened with the same name in one process shares it. */
export interface MemoryUrl {
  readonly kind: 'memory';
  /** Empty for the default bus. */
  readonly name: string;
  readonly url: string;
}

/** A NATS server, and the subject prefix framebus's channels live under. */
export interface NatsUrl {
  readonly kind: 'nats';
  readonly host: string;
  /** TCP port, 1–65535. */
  readonly port: number;
  /** Channel `c` travels on subject `<prefix>.<escaped c>`. */
  readonly prefix: string;
  /** Canonical form, e.g. `nats://127.0.0.1:4222` (with `?prefix=` when not the default). */
  readonly url: string;
}

/** A parsed bus URL; `kind` says which transport it names. */
export type BusUrl = MemoryUrl | NatsUrl | (LcmUrl & { readonly kind: 'lcm' }) | { readonly kind: 'webrtc'; readonly webrtc: WebRtcUrl; readonly url: string };

function badUrl(url: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`Bus URL ${JSON.stringify(url)} ${why}; expected one of ${BUS_URL_EXAMPLES}.`);
}

/**
 * Parses `nats://host:port?prefix=p`. Host defaults to 127.0.0.1, port to 4222, prefix to
 * `framebus`.
 * @throws InvalidArgumentError naming what is wrong and what a good URL looks like.
 */
export function parseNatsUrl(url: string): NatsUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new InvalidArgumentError(`${JSON.stringify(url)} is not a URL; expected e.g. ${DEFAULT_NATS_URL}.`, { cause });
  }
  if (parsed.protocol !== 'nats:') throw new InvalidArgumentError(`NATS URL ${JSON.stringify(url)} must start with nats://, e.g. ${DEFAULT_NATS_URL}.`);
  if (parsed.username || parsed.password || (parsed.pathname !== '' && parsed.pathname !== '/') || parsed.hash) {
    throw new InvalidArgumentError(`NATS URL ${JSON.stringify(url)} may only have a host, a port and ?prefix=, like ${DEFAULT_NATS_URL}.`);
  }
  const port = parsed.port ? Number(parsed.port) : 4222;
  if (port < 1) throw new InvalidArgumentError(`NATS URL ${JSON.stringify(url)} has port ${port}; use 1 to 65535, e.g. ${DEFAULT_NATS_URL}.`);
  let prefix = DEFAULT_NATS_PREFIX;
  for (const [name, value] of parsed.searchParams) {
    if (name !== 'prefix') throw new InvalidArgumentError(`Unknown NATS URL option ${JSON.stringify(name)}; the only one is prefix, e.g. ${DEFAULT_NATS_URL}?prefix=lab.robot1.`);
    validateNatsPrefix(value);
    prefix = value;
  }
  const host = parsed.hostname || '127.0.0.1';
  const hostPort = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  const canonical = `nats://${hostPort}${prefix === DEFAULT_NATS_PREFIX ? '' : `?prefix=${prefix}`}`;
  return { kind: 'nats', host, port, prefix, url: canonical };
}

/**
 * Parses a bus URL: `memory:` or `memory:<name>`, `lcm://group:port?ttl=N` (also liblcm's
 * `udpm://`), `nats://host:port`, `webrtc:loopback` or `webrtc://host:port`.
 * @throws InvalidArgumentError naming what is wrong and what a good URL looks like.
 */
export function parseBusUrl(url: string): BusUrl {
  if (typeof url !== 'string' || url.trim() === '') throw badUrl(String(url), 'is empty');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory': {
      const name = url.slice('memory:'.length).replace(/^\/\//, '');
      if (!/^[A-Za-z0-9_.\-/]*$/.test(name)) throw badUrl(url, 'has a memory bus name with characters other than letters, digits, _ . - /');
      return { kind: 'memory', name, url: `memory:${name}` };
    }
    case 'lcm':
    case 'udpm':
      return { kind: 'lcm', ...parseLcmUrl(url) };
    case 'nats':
      return parseNatsUrl(url);
    case 'webrtc': {
      const webrtc = parseWebRtcUrl(url);
      return { kind: 'webrtc', webrtc, url: webrtc.url };
    }
    default:
      throw badUrl(url, scheme ? `has the unknown scheme ${scheme}:` : 'has no scheme');
  }
}
