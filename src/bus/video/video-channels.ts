import { InvalidArgumentError } from '../../core/errors.js';

/** Requester ids a publisher answers: they become part of a channel name. */
export const REQUESTER_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** Length of the requester ids framebus subscribers make (6 random bytes, base64url). */
export const FRAMEBUS_REQUESTER_LENGTH = 8;

/** The channels one video topic uses. */
export interface VideoChannels {
  /** The topic's name: live `video_packet_t` messages. */
  readonly packets: string;
  /** `<name>/ctl`: `keyframe_request_t` messages from subscribers to the publisher. */
  readonly control: string;
  /** `<name>/gop/<requester>`: the cached GOP, sent to one late joiner. */
  reply(requester: string): string;
}

/** True for a GOP reply channel (`<name>/gop/<requester>`): one late joiner's copy of a topic, not a topic of its own. */
export function isGopReplyChannel(channel: string): boolean {
  const at = channel.lastIndexOf('/gop/');
  return at > 0 && REQUESTER_ID.test(channel.slice(at + '/gop/'.length));
}

/**
 * The channel names of video topic `name`.
 * @throws InvalidArgumentError for an empty name.
 */
export function videoChannels(name: string): VideoChannels {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError('A video topic name must be a non-empty string, e.g. "camera/front".');
  }
  return { packets: name, control: `${name}/ctl`, reply: (requester) => `${name}/gop/${requester}` };
}

/**
 * Checks that every channel of video topic `name` fits a transport's channel-name limit
 * (LCM: 63 bytes), counting the reply channel with a framebus requester id.
 * @throws InvalidArgumentError naming the longest name the topic may have.
 */
export function checkVideoTopicFits(name: string, maxChannelBytes: number | undefined, transport: string): void {
  if (maxChannelBytes === undefined) return;
  const nameBytes = Buffer.byteLength(name);
  const replyBytes = Buffer.byteLength(videoChannels(name).reply('x'.repeat(FRAMEBUS_REQUESTER_LENGTH)));
  if (replyBytes > maxChannelBytes) {
    throw new InvalidArgumentError(
      `Video topic "${name}" is ${nameBytes} bytes; on ${transport} it may have at most ${maxChannelBytes - (replyBytes - nameBytes)}, ` +
        `because it also uses "<name>/gop/<id>" for late joiners and channel names there are at most ${maxChannelBytes} bytes.`,
    );
  }
}
