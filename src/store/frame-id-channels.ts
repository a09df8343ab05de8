import type { Channel, Schema } from '@mcap/core';
import { messageDecoder, SCHEMA_NAMES, type MessageDecoder } from '../wire/foxglove-messages.js';
import { describeChannel } from './recording-format.js';

/**
 * framebus's frame-id side channels (`<stream>/framebus.frame_id`): a packet whose frame id
 * is not its sequence number has a `framebus.FrameId` message there, with the same log time.
 */
export class FrameIdChannels {
  /** Side channel id → the channel id of the stream it belongs to. */
  private readonly owners = new Map<number, number>();
  private readonly decoders = new Map<number, MessageDecoder>();

  constructor(schemas: ReadonlyMap<number, Schema>, channels: ReadonlyMap<number, Channel>) {
    const byTopic = new Map<string, number>();
    for (const channel of channels.values()) if (schemas.get(channel.schemaId)?.name !== SCHEMA_NAMES.frameId && !byTopic.has(channel.topic)) byTopic.set(channel.topic, channel.id);
    for (const channel of channels.values()) {
      const owner = byTopic.get(describeChannel(channel).frameIdsOf ?? '');
      const schema = schemas.get(channel.schemaId);
      if (owner === undefined || schema?.name !== SCHEMA_NAMES.frameId) continue;
      try {
        this.decoders.set(channel.id, messageDecoder(schema.name, schema.encoding, schema.data, channel.messageEncoding));
        this.owners.set(channel.id, owner);
      } catch {
        // An unreadable side channel: its stream's frame ids stay equal to sequence numbers.
      }
    }
  }

  /** The channel id of the stream whose frame ids side channel `channelId` carries; undefined for other channels. */
  streamOf(channelId: number): number | undefined {
    return this.owners.get(channelId);
  }

  /** The frame id a side message states for the packet with `sequence`; undefined when it does not decode. */
  decode(channelId: number, data: Uint8Array): { sequence: number; frameId: number } | undefined {
    try {
      const m = this.decoders.get(channelId)?.(data);
      return m && { sequence: Number(m.sequence ?? 0), frameId: Number(m.frame_id ?? 0) };
    } catch {
      return undefined;
    }
  }
}
