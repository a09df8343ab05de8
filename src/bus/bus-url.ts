import { InvalidArgumentError } from '../core/errors.js';
import { DEFAULT_LCM_URL, parseLcmUrl, type LcmUrl } from './lcm/lcm-url.js';
import { DEFAULT_NATS_URL, maskBusUrl, parseNatsUrl, type NatsUrl } from './nats/nats-url.js';

export { DEFAULT_NATS_URL, parseNatsUrl, type NatsUrl } from './nats/nats-url.js';

/** The kinds of URL `Bus.open` takes, with an example of each, for error messages. */
export const BUS_URL_EXAMPLES = `memory: (or memory:<name>), ${DEFAULT_LCM_URL}, ${DEFAULT_NATS_URL}`;

/** An in-process bus: every `Bus` opened with the same name in one process shares it. */
export interface MemoryUrl {
  readonly kind: 'memory';
  /** Empty for the default bus. */
  readonly name: string;
  readonly url: string;
}

/** A parsed bus URL; `kind` says which transport it names. */
export type BusUrl = MemoryUrl | NatsUrl | (LcmUrl & { readonly kind: 'lcm' });

function badUrl(url: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`Bus URL ${JSON.stringify(maskBusUrl(url))} ${why}; expected one of ${BUS_URL_EXAMPLES}.`);
}

/**
 * Parses a bus URL: `memory:` or `memory:<name>`, `lcm://group:port?ttl=N` (also liblcm's
 * `udpm://`), or `nats://[user@]host:port,…` / `tls://…` (see `parseNatsUrl`).
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
    case 'tls':
      return parseNatsUrl(url);
    default:
      throw badUrl(url, scheme ? `has the unknown scheme ${scheme}:` : 'has no scheme');
  }
}
