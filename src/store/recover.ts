import { rename, rm, stat } from 'node:fs/promises';
import type { Channel, Schema } from '@mcap/core';
import { InvalidArgumentError } from '../core/errors.js';
import { checkOutputPath } from '../core/output-file.js';
import { messageDecoder, SCHEMA_NAMES, type MessageDecoder } from './foxglove-messages.js';
import { McapFileWriter } from './mcap-file-writer.js';
import { checkRecordingFile, scanMcap } from './mcap-source.js';
import { CHANNEL_METADATA } from './recording.js';
import { indexToMetadata, isStreamCodec, StreamIndexBuilder, STREAM_INDEX_METADATA, type StreamIndex } from './stream-index.js';
import { decodeItem, isKeyItem, payloadBytes, statedSize } from './stream-message.js';

/** How to recover a file. */
export interface RecoverOptions {
  /** Where to write the complete file. Default: replace `path` (only once the new file is complete). */
  output?: string;
  /** Called as the damaged file is read: bytes read so far and its size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** What `recover` found and wrote. */
export interface RecoverSummary {
  /** The complete file written. */
  output: string;
  /** True when the input was already a complete file (it is rewritten all the same). */
  wasComplete: boolean;
  /** Messages copied. */
  messages: number;
  /** Bytes of the input after the last complete record: what was lost. */
  lostBytes: number;
  /** Damaged chunks skipped, and why reading stopped, in words. */
  problems: string[];
  /** The rebuilt index of every video and image stream. */
  streams: StreamIndex[];
}

interface StreamTrack {
  builder: StreamIndexBuilder | undefined;
  decode: MessageDecoder;
  channel: Channel;
  last: bigint | undefined;
}

const STREAM_SCHEMAS = new Set<string>([SCHEMA_NAMES.video, SCHEMA_NAMES.image, SCHEMA_NAMES.raw]);

/**
 * Rewrites an unfinished or damaged MCAP file (a recorder killed mid-write, a truncated copy)
 * as a complete, indexed one: reads it from the start with a stream reader until the data
 * ends or breaks, copies every complete schema, channel, message and metadata record, and
 * writes fresh stream indexes, chunk indexes and summary. Chunks whose contents are damaged
 * are skipped; everything readable around them is kept.
 * @throws NotFoundError when `path` does not exist; MalformedDataError when it is not MCAP;
 *   InvalidArgumentError when `output` exists and is not `path`.
 */
export async function recover(path: string, options: RecoverOptions = {}): Promise<RecoverSummary> {
  await checkRecordingFile(path);
  if (options.output !== undefined && options.output !== path) await checkOutputPath(options.output, { inputs: [path] });
  const output = options.output ?? path;
  const inPlace = output === path;
  if (!inPlace && (await stat(output).catch(() => undefined))) {
    throw new InvalidArgumentError(`${output} already exists; choose another output path.`);
  }
  const temp = `${output}.recovering-${process.pid}`;
  const writer = await McapFileWriter.create(temp, { flushInterval: 3600, overwrite: true });
  const schemaIds = new Map<number, number>();
  const channelIds = new Map<number, number>();
  const tracks = new Map<number, StreamTrack>();
  let messages = 0;

  const schemaFor = async (schema: Schema): Promise<number> => {
    let id = schemaIds.get(schema.id);
    if (id === undefined) {
      id = await writer.registerSchema({ name: schema.name, encoding: schema.encoding, data: schema.data });
      schemaIds.set(schema.id, id);
    }
    return id;
  };

  const channelFor = async (channel: Channel, schemas: ReadonlyMap<number, Schema>): Promise<number> => {
    let id = channelIds.get(channel.id);
    if (id !== undefined) return id;
    const schema = schemas.get(channel.schemaId);
    const schemaId = schema ? await schemaFor(schema) : 0;
    id = await writer.registerChannel({ schemaId, topic: channel.topic, messageEncoding: channel.messageEncoding, metadata: channel.metadata });
    channelIds.set(channel.id, id);
    if (schema && STREAM_SCHEMAS.has(schema.name)) {
      try {
        const decode = messageDecoder(schema.name, schema.encoding, schema.data, channel.messageEncoding);
        tracks.set(channel.id, { builder: undefined, decode, channel, last: undefined });
      } catch {
        // A stream framebus cannot decode is copied but not indexed.
      }
    }
    return id;
  };

  try {
    const scan = await scanMcap(
      path,
      async (message, seen) => {
        const channel = seen.channels.get(message.channelId);
        if (!channel) return;
        const channelId = await channelFor(channel, seen.schemas);
        await writer.addMessages([{ ...message, channelId, publishTime: message.logTime }]);
        messages++;
        const track = tracks.get(message.channelId);
        if (track) indexMessage(track, message);
      },
      options.onProgress,
    );
    for (const record of scan.metadata) if (record.name !== STREAM_INDEX_METADATA) await writer.addMetadata(record);
    const streams = [...tracks.values()].flatMap((t) => (t.builder ? [t.builder.build()] : []));
    for (const index of streams) await writer.addMetadata(indexToMetadata(index));
    await writer.close();
    const inputSize = (await stat(path)).size;
    await rename(temp, output);
    return {
      output,
      wasComplete: scan.complete,
      messages,
      lostBytes: scan.complete ? 0 : inputSize - scan.bytesRead,
      problems: [...scan.skipped.map((s) => `skipped ${s}`), ...(scan.stoppedBy ? [`reading stopped: ${scan.stoppedBy}`] : [])],
      streams,
    };
  } catch (error) {
    await writer.abandon().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

function indexMessage(track: StreamTrack, message: { logTime: bigint; sequence: number; data: Uint8Array }): void {
  if (track.last !== undefined && message.logTime <= track.last) return;
  try {
    const decoded = track.decode(message.data);
    if (!track.builder) {
      const declared = track.channel.metadata.get(CHANNEL_METADATA.codec);
      const codec = isStreamCodec(declared) ? declared : isStreamCodec(decoded.format) ? decoded.format : decoded.encoding !== undefined ? 'raw' : undefined;
      if (!codec) return;
      track.builder = new StreamIndexBuilder(track.channel.topic, codec);
      track.builder.width = Number(track.channel.metadata.get(CHANNEL_METADATA.width) ?? decoded.width ?? 0);
      track.builder.height = Number(track.channel.metadata.get(CHANNEL_METADATA.height) ?? decoded.height ?? 0);
    }
    const builder = track.builder;
    const item = decodeItem(decoded, { codec: builder.codec, width: builder.width, height: builder.height, sequence: message.sequence, frameId: message.sequence, logTime: message.logTime });
    const size = builder.width === 0 ? statedSize(item) : undefined;
    if (size) Object.assign(builder, size);
    builder.add(message.logTime, message.sequence, isKeyItem(item), payloadBytes(item));
    track.last = message.logTime;
  } catch {
    // A message that does not decode is copied but left out of the index.
  }
}
