import type { Channel } from '@mcap/core';
import { SCHEMA_NAMES, type MessageDecoder } from '../wire/foxglove-messages.js';
import { describeChannel } from './recording-format.js';
import { isStreamCodec, StreamIndexBuilder, type StreamCodec, type StreamIndex } from './stream-index.js';
import { decodeItem, isKeyItem, payloadBytes, statedSize } from './stream-message.js';

/** A stored message as the indexer needs it. */
export interface IndexedMessage {
  /** MCAP log time, ns since the Unix epoch. */
  readonly logTime: bigint;
  readonly sequence: number;
  readonly data: Uint8Array;
}

/**
 * The codec of a stream channel: the one framebus declared on it, else what its messages
 * say (Foxglove's `format`; `RawImage` holds raw pixels). Undefined when neither names one
 * framebus reads.
 */
export function streamCodecOf(channel: Channel, schemaName: string, message?: Record<string, unknown>): StreamCodec | undefined {
  const declared = describeChannel(channel).codec;
  if (isStreamCodec(declared)) return declared;
  if (schemaName === SCHEMA_NAMES.raw) return 'raw';
  const format = message?.format;
  return isStreamCodec(format) && format !== 'raw' ? format : undefined;
}

/**
 * Builds one stream's index from its stored messages in time order: the reader's rebuild of
 * a missing or untrustworthy index and `recover` index the same way. A message that does not
 * decode, or whose time does not rise, is left out.
 */
export class StreamIndexer {
  private builder: StreamIndexBuilder | undefined;
  private last: bigint | undefined;

  /** @param codec The stream's codec when known; else taken from its first decodable message. */
  constructor(
    private readonly channel: Channel,
    private readonly schemaName: string,
    private readonly decode: MessageDecoder,
    codec?: StreamCodec,
  ) {
    if (codec) this.builder = this.start(codec);
  }

  private start(codec: StreamCodec): StreamIndexBuilder {
    const builder = new StreamIndexBuilder(this.channel.topic, codec);
    const { width = 0, height = 0 } = describeChannel(this.channel);
    Object.assign(builder, { width, height });
    return builder;
  }

  /** Adds the next message; returns whether it was indexed. */
  add(message: IndexedMessage): boolean {
    if (this.last !== undefined && message.logTime <= this.last) return false;
    try {
      const decoded = this.decode(message.data);
      if (!this.builder) {
        const codec = streamCodecOf(this.channel, this.schemaName, decoded);
        if (!codec) return false;
        this.builder = this.start(codec);
      }
      const builder = this.builder;
      const item = decodeItem(decoded, { codec: builder.codec, width: builder.width, height: builder.height, sequence: message.sequence, frameId: message.sequence, logTime: message.logTime });
      const size = builder.width === 0 ? statedSize(item) : undefined;
      if (size) Object.assign(builder, size);
      builder.add(message.logTime, message.sequence, isKeyItem(item), payloadBytes(item));
      this.last = message.logTime;
      return true;
    } catch {
      return false;
    }
  }

  /** The index so far; undefined while no message named the stream's codec. */
  build(): StreamIndex | undefined {
    return this.builder?.build();
  }
}
