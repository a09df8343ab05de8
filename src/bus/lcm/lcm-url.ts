import { isIPv4 } from 'node:net';
import { InvalidArgumentError } from '../../core/errors.js';

/** LCM's own default: multicast group 239.255.76.67, port 7667, packets never leave the host. */
export const DEFAULT_LCM_URL = 'lcm://239.255.76.67:7667?ttl=0';

const DEFAULT_GROUP = '239.255.76.67';
const DEFAULT_PORT = 7667;
const OPTIONS = ['ttl', 'recv_buf_size'] as const;

/** Where an LCM transport sends and listens, parsed from `lcm://group:port?ttl=N`. */
export interface LcmUrl {
  /** IPv4 multicast group, 224.0.0.0–239.255.255.255. */
  readonly group: string;
  /** UDP port, 1–65535. */
  readonly port: number;
  /** Multicast TTL, 0–255. 0 keeps every packet on this host (loopback only). */
  readonly ttl: number;
  /** Requested kernel receive buffer in bytes, if the URL asks for one (liblcm's option). */
  readonly recvBufSize: number | undefined;
  /** The URL in canonical form, e.g. `lcm://239.255.76.67:7667?ttl=0`. */
  readonly url: string;
}

function integerOption(name: string, raw: string, min: number, max: number): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`LCM URL option ${name}=${raw} must be an integer from ${min} to ${max}.`);
  }
  return n;
}

/**
 * Parses an LCM URL. Accepts liblcm's `udpm://` spelling too, so an `LCM_DEFAULT_URL` can be
 * pasted as is; group and port default to LCM's, `ttl` to 0.
 * @throws InvalidArgumentError naming the part that is wrong.
 */
export function parseLcmUrl(url: string): LcmUrl {
  if (typeof url !== 'string') throw new InvalidArgumentError('LCM URL must be a string.');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new InvalidArgumentError(
      `${JSON.stringify(url)} is not an LCM URL; expected lcm://group:port?ttl=N, e.g. ${DEFAULT_LCM_URL}.`,
      { cause },
    );
  }
  if (parsed.protocol !== 'lcm:' && parsed.protocol !== 'udpm:') {
    throw new InvalidArgumentError(`LCM URL ${JSON.stringify(url)} must start with lcm:// (or udpm://).`);
  }
  if (parsed.username || parsed.password || (parsed.pathname !== '' && parsed.pathname !== '/') || parsed.hash) {
    throw new InvalidArgumentError(
      `LCM URL ${JSON.stringify(url)} may only have a group, a port and options, like ${DEFAULT_LCM_URL}.`,
    );
  }
  const group = parsed.hostname || DEFAULT_GROUP;
  const first = Number(group.split('.')[0]);
  if (!isIPv4(group) || first < 224 || first > 239) {
    throw new InvalidArgumentError(
      `LCM URL group ${JSON.stringify(group)} must be an IPv4 multicast address (224.0.0.0 to 239.255.255.255).`,
    );
  }
  const port = parsed.port ? integerOption('port', parsed.port, 1, 65535) : DEFAULT_PORT;
  let ttl = 0;
  let recvBufSize: number | undefined;
  for (const [name, value] of parsed.searchParams) {
    if (name === 'ttl') ttl = integerOption(name, value, 0, 255);
    else if (name === 'recv_buf_size') recvBufSize = integerOption(name, value, 1, 2 ** 31 - 1);
    else {
      throw new InvalidArgumentError(`Unknown LCM URL option ${JSON.stringify(name)}; known: ${OPTIONS.join(', ')}.`);
    }
  }
  const canonical = `lcm://${group}:${port}?ttl=${ttl}${recvBufSize === undefined ? '' : `&recv_buf_size=${recvBufSize}`}`;
  return { group, port, ttl, recvBufSize, url: canonical };
}
