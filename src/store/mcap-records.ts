import { McapRecordBuilder, McapStreamReader, type Channel, type Schema, type TypedMcapRecord } from '@mcap/core';
import { decompression } from './mcap-decompression.js';

/** Schema and channel records by id, as the summary or chunks define them. */
export interface Definitions {
  schemas: Map<number, Schema>;
  channels: Map<number, Channel>;
}

/** A chunk record of a file: its bytes `[at, end)` and the definitions its messages parse with. */
export interface ChunkPlace {
  readonly at: number;
  readonly end: number;
  readonly defs: Definitions;
}

/**
 * Where a found message's bytes are: the `index`-th message of a chunk (read again when
 * needed, so a whole file's messages are never held at once), or held in memory.
 */
export type MessagePlace = { readonly chunk: ChunkPlace; readonly index: number } | { readonly data: Uint8Array };

/** A message one way of reading found, with the channel id of the file. */
export interface FoundMessage {
  channelId: number;
  sequence: number;
  logTime: bigint;
  place: MessagePlace;
}

/** Messages and definitions one way of reading found. */
export interface PathResult {
  defs: Definitions;
  messages: FoundMessage[];
}

/** The places of the messages of a chunk parsed into `records`. */
export function chunkMessages(records: readonly TypedMcapRecord[], chunk: ChunkPlace): FoundMessage[] {
  const out: FoundMessage[] = [];
  for (const r of records) {
    if (r.type === 'Message') out.push({ channelId: r.channelId, sequence: r.sequence, logTime: r.logTime, place: { chunk, index: out.length } });
  }
  return out;
}

/** The opcode of a chunk record. */
export const CHUNK_OPCODE = 0x06;
/** A record's opcode byte and 8-byte length. */
export const RECORD_HEADER = 9;
/** A claimed record length beyond this is damage, not data. */
export const MAX_RECORD = 1 << 30;

/** An empty set of definitions. */
export function definitions(): Definitions {
  return { schemas: new Map(), channels: new Map() };
}

/** `base` with the records of `over` added, `over` winning where both define an id. */
export function merged(base: Definitions, over: Definitions): Definitions {
  return { schemas: new Map([...base.schemas, ...over.schemas]), channels: new Map([...base.channels, ...over.channels]) };
}

/**
 * Parses `bytes` as whole records with `@mcap/core`'s stream reader (CRCs checked), after the
 * given schema and channel records so messages on known channels parse. A compressed chunk
 * needs `loadDecompression()` to have run.
 * @throws Error when the bytes are not exactly a sequence of valid records.
 */
export function parseRecords(bytes: Uint8Array, known: Definitions): TypedMcapRecord[] {
  const reader = new McapStreamReader({ noMagicPrefix: true, validateCrcs: true, decompressHandlers: decompression() });
  const builder = new McapRecordBuilder();
  for (const s of known.schemas.values()) builder.writeSchema(s);
  for (const c of known.channels.values()) builder.writeChannel(c);
  const preamble = known.schemas.size + known.channels.size;
  reader.append(builder.buffer.slice());
  reader.append(bytes);
  const out: TypedMcapRecord[] = [];
  for (let r: TypedMcapRecord | undefined; (r = reader.nextRecord()); ) out.push(r);
  if (reader.bytesRemaining() !== 0) throw new Error(`${reader.bytesRemaining()} bytes do not form a record`);
  return out.slice(preamble);
}

/** Where a chunk record's compression name length sits: after its record header, times, uncompressed size and CRC. */
export const COMPRESSION_LENGTH_AT = RECORD_HEADER + 8 + 8 + 8 + 4;
/** Where the compression name itself starts. */
const COMPRESSION_NAME_AT = COMPRESSION_LENGTH_AT + 4;
/** Longer than any compression name MCAP knows ("zstd", "lz4", "bz2"). */
export const MAX_COMPRESSION_NAME = 32;

/** A message record: outside a chunk, it means the file's messages are not chunked. */
const MESSAGE_OPCODE = 0x05;
/** Records walked before the first chunk at most: a header, attachments, schemas and channels. */
const LEADING_RECORDS = 4096;

/**
 * The compression of a file's first chunk, found by walking the records after the magic
 * (header, schemas, channels) with `read(offset, length)`; '' when it has none, its messages
 * are not in chunks, or the records cannot be walked. Writers compress every chunk alike, so
 * it tells a scan whether to load the decompressors before it starts.
 */
export async function firstChunkCompression(read: (offset: number, length: number) => Promise<Uint8Array>, size: number): Promise<string> {
  for (let at = 8, walked = 0; at + RECORD_HEADER <= size && walked < LEADING_RECORDS; walked++) {
    const header = await read(at, RECORD_HEADER);
    if (header.length < RECORD_HEADER || header[0] === MESSAGE_OPCODE) return '';
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const length = view.getBigUint64(1, true);
    if (length > BigInt(MAX_RECORD)) return '';
    if (header[0] === CHUNK_OPCODE) {
      const fields = await read(at, COMPRESSION_NAME_AT);
      if (fields.length < COMPRESSION_NAME_AT) return '';
      const nameLength = new DataView(fields.buffer, fields.byteOffset, fields.byteLength).getUint32(COMPRESSION_LENGTH_AT, true);
      if (nameLength > MAX_COMPRESSION_NAME) return '';
      return new TextDecoder().decode(await read(at + COMPRESSION_NAME_AT, nameLength));
    }
    at += RECORD_HEADER + Number(length);
  }
  return '';
}
