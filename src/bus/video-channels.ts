import { InvalidArgumentError } from '../core/errors.js';

/** Requester ids a publisher answers: they become part of a channel name. */
export const REQUESTER_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** The channels one video topic uses. */
export interface VideoChannels {
  /** The topic's name: live `video_packet_t` messages. */
  readonly packets: string;
  /** `<name>/ctl`: `keyframe_request_t` messages from subscribers to the publisher. */
  readonly control: string;
  /** `<name>/gop/<requester>`: the cached GOP, sent to one late joiner. */
  reply(requester: string): string;
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
