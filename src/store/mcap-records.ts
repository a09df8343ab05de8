import { McapRecordBuilder, McapStreamReader, type Channel, type Schema, type TypedMcapRecord } from '@mcap/core';

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
 * given schema and channel records so messages on known channels parse.
 * @throws Error when the bytes are not exactly a sequence of valid records.
 */
export function parseRecords(bytes: Uint8Array, known: Definitions): TypedMcapRecord[] {
  const reader = new McapStreamReader({ noMagicPrefix: true, validateCrcs: true });
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
