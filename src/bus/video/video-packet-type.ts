import type { VideoPacket } from '../../core/packet.js';
import { fromVideoPacket, toVideoPacket } from '../../wire/core-conversion.js';
import type { MessageType } from '../../wire/message-type.js';
import { videoPacketMessageType } from '../../wire/messages.js';

/**
 * `framebus.video_packet_t` with `VideoPacket` as its value, so video topics publish and
 * receive core packets directly (on `memory:` the packet object itself travels). Same name
 * and fingerprint as `videoPacketMessageType`: the two interoperate on every bus.
 */
export const videoPacketType: MessageType<VideoPacket> = {
  name: videoPacketMessageType.name,
  fingerprint: videoPacketMessageType.fingerprint,
  encode: (packet) => videoPacketMessageType.encode(fromVideoPacket(packet)),
  decode: (bytes) => toVideoPacket(videoPacketMessageType.decode(bytes)),
};
