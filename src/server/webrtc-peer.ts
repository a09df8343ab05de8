import type { PeerConnection } from 'node-datachannel';
import { MalformedDataError, TransportError } from '../core/errors.js';

/** Longest wait for the local ICE candidates before answering, ms (host candidates take a few). */
const GATHER_TIMEOUT_MS = 5000;

/**
 * Makes the local answer to the remote offer already set and resolves with it once ICE
 * gathering is complete, so the answer carries every candidate (WHEP/WHIP without trickle).
 * @throws TransportError when gathering does not finish in time.
 */
export function answerWhenGathered(peer: PeerConnection): Promise<string> {
  return new Promise((resolveAnswer, reject) => {
    const timer = setTimeout(() => reject(new TransportError('ICE gathering did not finish in time.')), GATHER_TIMEOUT_MS);
    const finish = () => {
      clearTimeout(timer);
      const local = peer.localDescription();
      if (local) resolveAnswer(local.sdp);
      else reject(new TransportError('The WebRTC library made no answer.'));
    };
    peer.onGatheringStateChange((state) => {
      if (state === 'complete') finish();
    });
    peer.setLocalDescription('answer');
    if (peer.gatheringState() === 'complete') finish();
  });
}

/**
 * Builds a session for a WHEP or WHIP offer and answers it with every local candidate. A
 * session that cannot answer is closed before the error is passed on.
 * @throws MalformedDataError when `create` refuses the offer or the library rejects it;
 *   TransportError when gathering does not finish in time.
 */
export async function answerOffer<S extends { close(): unknown }>(create: () => S, peerOf: (session: S) => PeerConnection): Promise<{ session: S; sdp: string }> {
  let session: S;
  try {
    session = create();
  } catch (error) {
    if (error instanceof MalformedDataError) throw error;
    throw new MalformedDataError(`The SDP offer was rejected: ${(error as Error).message}`, { cause: error });
  }
  try {
    return { session, sdp: await answerWhenGathered(peerOf(session)) };
  } catch (error) {
    await session.close();
    throw error;
  }
}

/** Longest time from the answer to a connected peer, ms; a client that never connects is dropped. */
const CONNECT_TIMEOUT_MS = 20_000;

/**
 * Calls `onGone` once when the peer connection fails, disconnects or closes, or is not
 * connected within 20 s of this call (a client that posted an offer and vanished).
 */
export function watchPeer(peer: PeerConnection, onGone: () => void): void {
  let gone = false;
  const leave = () => {
    if (gone) return;
    gone = true;
    clearTimeout(timer);
    // Out of the library's callback: closing the peer from inside it is not allowed.
    setImmediate(onGone);
  };
  const timer = setTimeout(leave, CONNECT_TIMEOUT_MS);
  timer.unref();
  peer.onStateChange((state) => {
    if (state === 'connected') clearTimeout(timer);
    if (state === 'failed' || state === 'disconnected' || state === 'closed') leave();
  });
}

/**
 * Adds the `a=candidate:` lines of a trickle-ICE SDP fragment (RFC 8840), each for the media
 * section of the `a=mid:` line before it.
 */
export function addTrickledCandidates(peer: PeerConnection, fragment: string): void {
  let mid = '0';
  for (const line of fragment.split(/\r?\n/)) {
    if (line.startsWith('a=mid:')) mid = line.slice(6).trim();
    else if (line.startsWith('a=candidate:')) peer.addRemoteCandidate(line.slice(2).trim(), mid);
  }
}

/**
 * Ends a session whose peer went quiet: `touch()` on every packet from it (RTCP reports from
 * a player, RTP from a publisher); after `timeoutMs` without one, `onSilent` runs once. A
 * peer that closes without a word (a killed process, a lost network) is otherwise only
 * noticed much later by ICE.
 */
export class PeerLiveness {
  private last = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(timeoutMs: number, onSilent: () => void) {
    this.timer = setInterval(() => {
      if (performance.now() - this.last < timeoutMs) return;
      this.stop();
      onSilent();
    }, Math.min(1000, timeoutMs / 2));
    this.timer.unref();
  }

  /** Records that the peer sent something now. */
  touch(): void {
    this.last = performance.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
