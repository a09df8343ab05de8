import { TransportError } from '../../core/errors.js';
import type { DataChannelPair } from './datachannel-port.js';
import { isRetryable, NdcPeer, type PeerOptions } from './ndc-peer.js';
import type { WebRtcUrl } from './webrtc-url.js';

/** Options of dialing a `framebus serve` over WebRTC. */
export type DialOptions = PeerOptions;

/** Largest SDP answer read from the signaling response, bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Offers a peer connection to the server of `target`: POSTs the SDP offer
 * (`Content-Type: application/sdp`, the token as `Authorization: Bearer` when the URL has
 * one) to `http://host:port/webrtc/bus`, applies the SDP answer of a 200/201 response and
 * waits for both DataChannels to open.
 * @throws TransportError when the server is unreachable, refuses, or the connection does not open.
 */
export async function dialAnswerer(target: Extract<WebRtcUrl, { kind: 'remote' }>, options: DialOptions = {}, attempts = 3): Promise<{ peer: NdcPeer; pair: DataChannelPair }> {
  try {
    return await dialOnce(target, options);
  } catch (error) {
    if (attempts > 1 && isRetryable(error)) return dialAnswerer(target, options, attempts - 1);
    throw error;
  }
}

async function dialOnce(target: Extract<WebRtcUrl, { kind: 'remote' }>, options: DialOptions): Promise<{ peer: NdcPeer; pair: DataChannelPair }> {
  const { peer, offerSdp } = await NdcPeer.offer(options);
  try {
    const headers: Record<string, string> = { 'Content-Type': 'application/sdp' };
    if (target.token !== undefined) headers.Authorization = `Bearer ${target.token}`;
    let response: Response;
    try {
      response = await fetch(target.signalingUrl, { method: 'POST', headers, body: offerSdp, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    } catch (cause) {
      throw new TransportError(`Cannot reach ${target.signalingUrl} to open ${target.url}: ${(cause as Error).message}. Is \`framebus serve\` running there?`, { cause });
    }
    const body = await response.text();
    if (response.status !== 200 && response.status !== 201) {
      const hint = response.status === 401 || response.status === 403 ? ' Add the server\'s token: webrtc://host:port?token=…' : '';
      throw new TransportError(`${target.signalingUrl} refused the WebRTC offer: HTTP ${response.status} ${body.slice(0, 200).trim()}.${hint}`);
    }
    if (body.length > MAX_ANSWER_BYTES || !body.startsWith('v=0')) {
      throw new TransportError(`${target.signalingUrl} did not answer with an SDP answer (got ${body.length} bytes starting ${JSON.stringify(body.slice(0, 40))}).`);
    }
    peer.accept(body);
    return { peer, pair: await peer.ready() };
  } catch (error) {
    peer.close();
    throw error;
  }
}
