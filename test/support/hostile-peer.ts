import dgram from 'node:dgram';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { encodeLcmChannel, lcmDatagrams, LCM_MAGIC_FRAGMENT } from '../../src/bus/lcm/lcm-datagram.js';
import { channelToSubject, DEFAULT_NATS_PREFIX } from '../../src/bus/nats/nats-subject.js';
import { FRAGMENT_HEADER } from '../../src/bus/nats/nats-transport.js';
import { videoPacketMessageType, type VideoPacketMessage } from '../../src/wire/messages.js';
import { seededRandom } from '../../src/source/synthetic-source.js';

/**
 * A peer on a bus's wire that sends whatever it likes: well-formed messages with forged
 * fields, and garbage. It speaks the wire directly (raw UDP datagrams, a plain NATS
 * connection), never through framebus's own publishing side.
 */
export interface HostilePeer {
  /** Sends `payload` as one well-formed message on `channel`. */
  send(channel: string, payload: Uint8Array): Promise<void>;
  /** Sends bytes that are not a valid message frame (a datagram, or a NATS message with a junk fragment header). */
  sendJunk(channel: string, bytes: Uint8Array): Promise<void>;
  /** Resolves once everything sent has left (NATS: the server has it). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** A peer that sends UDP datagrams to the LCM group of `url` (loopback only, like `ttl=0`). */
export async function lcmHostilePeer(url: string): Promise<HostilePeer> {
  const { hostname, port } = new URL(url);
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.setMulticastTTL(0);
  socket.setMulticastInterface('127.0.0.1');
  let sequence = 0;
  const datagram = (parts: Uint8Array[]) =>
    new Promise<void>((resolve, reject) => socket.send(parts, Number(port), hostname, (e) => (e ? reject(e) : resolve())));
  return {
    async send(channel, payload) {
      for (const parts of lcmDatagrams(sequence++, encodeLcmChannel(channel), payload)) await datagram(parts);
    },
    async sendJunk(channel, bytes) {
      // Every other one wears a fragment header, so the reassembler sees forged fragments too.
      if (sequence++ % 2 === 0) return datagram([bytes]);
      const fragment = bytes[0] % 4;
      const header = new Uint8Array(20);
      const view = new DataView(header.buffer);
      view.setUint32(0, LCM_MAGIC_FRAGMENT);
      view.setUint32(4, sequence);
      view.setUint32(8, 1 << 20);
      view.setUint32(12, fragment * 1000);
      view.setUint16(16, fragment);
      view.setUint16(18, 20);
      return datagram(fragment === 0 ? [header, encodeLcmChannel(channel), new Uint8Array(1), bytes] : [header, bytes]);
    },
    async flush() {},
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A peer with its own plain connection to the NATS server at `url`. */
export async function natsHostilePeer(url: string): Promise<HostilePeer> {
  const nc: NatsConnection = await connect({ servers: url.replace(/^nats:\/\//, '') });
  let n = 0;
  return {
    async send(channel, payload) {
      nc.publish(channelToSubject(DEFAULT_NATS_PREFIX, channel), payload);
    },
    async sendJunk(channel, bytes) {
      const h = headers();
      h.set(FRAGMENT_HEADER, n++ % 2 === 0 ? `junk ${n}` : `${n}/${bytes.byteLength}/0/7`);
      nc.publish(channelToSubject(DEFAULT_NATS_PREFIX, channel), bytes, { headers: h });
    },
    flush: () => nc.flush(),
    close: () => nc.close(),
  };
}

/** What `garbage` produced: how many well-formed video packets are among it. */
export interface GarbageCounts {
  messages: number;
  /** Well-formed `video_packet_t` messages with random fields: each reaches the packet guard. */
  videoPackets: number;
}

/**
 * Sends `count` garbage messages on `channel` spread over `seconds`, in four kinds: random
 * bytes, a video packet fingerprint followed by random bytes, junk frames (forged fragment
 * headers), and well-formed video packets with random codec, size, key flag, sequence,
 * timestamp and Annex B-looking data.
 */
export async function sendGarbage(peer: HostilePeer, channel: string, count: number, seconds: number, seed: number): Promise<GarbageCounts> {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = random() * 256;
    return out;
  };
  const counts: GarbageCounts = { messages: 0, videoPackets: 0 };
  const started = performance.now();
  const fingerprint = videoPacketMessageType.encode(randomPacket(() => 0, () => new Uint8Array(0))).subarray(0, 8);
  while (counts.messages < count) {
    const due = Math.min(count, Math.ceil((count * (performance.now() - started)) / (seconds * 1000)) + 1);
    for (; counts.messages < due; counts.messages++) {
      switch (counts.messages % 4) {
        case 0:
          await peer.send(channel, bytes(int(1400)));
          break;
        case 1:
          await peer.send(channel, Buffer.concat([fingerprint, bytes(int(400))]));
          break;
        case 2:
          await peer.sendJunk(channel, bytes(1 + int(1000)));
          break;
        default:
          await peer.send(channel, videoPacketMessageType.encode(randomPacket(int, bytes)));
          counts.videoPackets++;
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await peer.flush();
  return counts;
}

function randomPacket(int: (n: number) => number, bytes: (n: number) => Uint8Array): VideoPacketMessage {
  const big = (bits: number) => BigInt(int(2 ** 26)) * 2n ** BigInt(bits - 26) + BigInt(int(2 ** 26));
  const sameSize = int(2) === 0;
  return {
    codec: ['h264', 'h265', 'av1'][int(3)],
    key: int(2) === 0,
    sequence: BigInt(int(2 ** 32)),
    timestamp_ns: big(63),
    frame_id: BigInt(int(2 ** 31)),
    width: sameSize ? 320 : 1 + int(4096),
    height: sameSize ? 240 : 1 + int(4096),
    data: Buffer.concat([Uint8Array.of(0, 0, 0, 1), bytes(int(1000))]),
  };
}
