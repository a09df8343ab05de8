/** A WHEP or WHIP session the page opened: its resource URL, for DELETE. */
export interface WebRtcResource {
  readonly location: string;
}

function authorization(): Record<string, string> {
  const token = new URL(location.href).searchParams.get('token');
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/**
 * Sends `pc`'s offer to a WHEP or WHIP endpoint and applies the answer (no trickle: the
 * server's answer carries its candidates, and it learns ours from the connectivity checks).
 * @throws Error with the server's message for any status but 201.
 */
export async function negotiate(pc: RTCPeerConnection, endpoint: string): Promise<WebRtcResource> {
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', ...authorization() },
    body: pc.localDescription?.sdp ?? '',
  });
  const body = await response.text();
  if (response.status !== 201) throw new Error(`${endpoint} answered ${response.status}: ${body.trim()}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: body });
  return { location: new URL(response.headers.get('Location') ?? endpoint, location.href).toString() };
}

/**
 * Ends a session: DELETE its resource, then close `pc` once the server answered (or the request
 * failed). Closing first would race the DELETE: the server ends the session as soon as the
 * peer goes, and the DELETE then meets a 404.
 */
export function endSession(resource: WebRtcResource | undefined, pc: RTCPeerConnection | undefined): void {
  if (!resource) {
    pc?.close();
    return;
  }
  fetch(resource.location, { method: 'DELETE', headers: authorization(), keepalive: true })
    .catch(() => undefined)
    .finally(() => pc?.close());
}

/** The server-clock capture time of a frame from its RTP timestamp (90 kHz, no offset, see the server's WHEP session), ns. */
export function captureTimeNs(rtpTimestamp: number, serverNowNs: bigint): bigint {
  const nowTicks = (serverNowNs * 9n) / 100_000n;
  // The age mod 2^32, read as signed: a frame stamped a little after the page's estimate of
  // the server's clock (its offset is only estimated) is a small negative age, not 13 hours.
  let age = (nowTicks - BigInt(rtpTimestamp)) % 2n ** 32n;
  if (age < 0n) age += 2n ** 32n;
  if (age >= 2n ** 31n) age -= 2n ** 32n;
  return ((nowTicks - age) * 100_000n) / 9n;
}
