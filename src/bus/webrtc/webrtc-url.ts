import { InvalidArgumentError } from '../../core/errors.js';

/** The URL of two WebRTC peer connections inside this process. */
export const WEBRTC_LOOPBACK_URL = 'webrtc:loopback';
/** The HTTP path a `framebus serve` answers SDP offers for the bus on. */
export const WEBRTC_BUS_PATH = '/webrtc/bus';

/** A parsed `webrtc:` bus URL. */
export type WebRtcUrl =
  | { readonly kind: 'loopback'; readonly url: string }
  | {
      readonly kind: 'remote';
      readonly host: string;
      /** TCP port of the answering server's HTTP listener, 1–65535. */
      readonly port: number;
      /** Where the SDP offer is POSTed, e.g. `http://127.0.0.1:8765/webrtc/bus`. */
      readonly signalingUrl: string;
      /** The server's access token (from `?token=`), sent as `Authorization: Bearer`. */
      readonly token: string | undefined;
      /** Canonical form, without the token, e.g. `webrtc://127.0.0.1:8765`. */
      readonly url: string;
    };

const EXAMPLE = `${WEBRTC_LOOPBACK_URL} or webrtc://127.0.0.1:8765 (optionally ?token=…)`;

/**
 * Parses `webrtc:loopback` or `webrtc://host:port[?token=T]` (port defaults to 8765, the
 * `framebus serve` default).
 * @throws InvalidArgumentError naming the part that is wrong.
 */
export function parseWebRtcUrl(url: string): WebRtcUrl {
  if (typeof url !== 'string') throw new InvalidArgumentError('A WebRTC URL must be a string.');
  if (url === WEBRTC_LOOPBACK_URL || url === 'webrtc://loopback') return { kind: 'loopback', url: WEBRTC_LOOPBACK_URL };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new InvalidArgumentError(`${JSON.stringify(url)} is not a WebRTC URL; expected ${EXAMPLE}.`, { cause });
  }
  if (parsed.protocol !== 'webrtc:' || !url.startsWith('webrtc://') || !parsed.hostname) {
    throw new InvalidArgumentError(`WebRTC URL ${JSON.stringify(url)} must be ${EXAMPLE}.`);
  }
  if (parsed.username || parsed.password || (parsed.pathname !== '' && parsed.pathname !== '/') || parsed.hash) {
    throw new InvalidArgumentError(`WebRTC URL ${JSON.stringify(url)} may only have a host, a port and ?token=, like ${EXAMPLE}.`);
  }
  let token: string | undefined;
  for (const [name, value] of parsed.searchParams) {
    if (name !== 'token') throw new InvalidArgumentError(`Unknown WebRTC URL option ${JSON.stringify(name)}; the only one is token.`);
    token = value;
  }
  const port = parsed.port ? Number(parsed.port) : 8765;
  const host = parsed.hostname;
  const hostPort = `${host}:${port}`;
  return { kind: 'remote', host, port, token, signalingUrl: `http://${hostPort}${WEBRTC_BUS_PATH}`, url: `webrtc://${hostPort}` };
}
