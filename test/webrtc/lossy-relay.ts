import { createSocket, type RemoteInfo } from 'node:dgram';

/** A UDP relay between a WebRTC player and the server that drops a share of the server's RTP packets. */
export interface LossyRelay {
  /** The port the player sends to (put in the answer's candidate instead of the server's). */
  readonly port: number;
  readonly stats: { rtp: number; dropped: number };
  close(): void;
}

/** True for an RTP packet (not STUN, DTLS or RTCP; RFC 7983 and RFC 5761 demultiplexing). */
function isRtp(packet: Buffer): boolean {
  return packet.length >= 12 && packet[0] >> 6 === 2 && (packet[1] < 192 || packet[1] > 223);
}

/**
 * Relays UDP between one player and `serverPort` on 127.0.0.1, dropping about `lossRate` of
 * the RTP packets towards the player (a seeded generator, so a run can be repeated).
 */
export async function startLossyRelay(serverPort: number, lossRate: number, seed = 1): Promise<LossyRelay> {
  const outside = createSocket('udp4');
  const inside = createSocket('udp4');
  await Promise.all([new Promise<void>((ok) => outside.bind(0, '127.0.0.1', ok)), new Promise<void>((ok) => inside.bind(0, '127.0.0.1', ok))]);
  let player: RemoteInfo | undefined;
  let state = seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const stats = { rtp: 0, dropped: 0 };
  outside.on('message', (message, from) => {
    player = from;
    inside.send(message, serverPort, '127.0.0.1');
  });
  inside.on('message', (message) => {
    if (!player) return;
    if (isRtp(message)) {
      stats.rtp++;
      if (random() < lossRate) {
        stats.dropped++;
        return;
      }
    }
    outside.send(message, player.port, player.address);
  });
  return {
    port: outside.address().port,
    stats,
    close() {
      outside.close();
      inside.close();
    },
  };
}
