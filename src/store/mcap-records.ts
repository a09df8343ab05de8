import { McapRecordBuilder, McapStreamReader, type Channel, type Schema, type TypedMcapRecord } from '@mcap/core';

/** Schema and channel records by id, as the summary or chunks define them. */
export interface Definitions {
  schemas: Map<number, Schema>;
  channels: Map<number, Channel>;
}

/** Messages and definitions one way of reading found. */
export interface PathResult {
  defs: Definitions;
  /** Messages with the channel ids of the file. */
  messages: { channelId: number; sequence: number; logTime: bigint; data: Uint8Array }[];
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
