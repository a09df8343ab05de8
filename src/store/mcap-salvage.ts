import { open, type FileHandle } from 'node:fs/promises';
import { hasMcapPrefix, McapIndexedReader, type Channel, type IReadable, type Metadata, type Schema, type TypedMcapRecord } from '@mcap/core';
import { InvalidArgumentError, MalformedDataError, NotFoundError, TransportError } from '../core/errors.js';
import { Coverage } from './byte-coverage.js';
import { FileBytes } from './file-bytes.js';
import { loadDecompression } from './mcap-decompression.js';
import { scanChunks } from './mcap-chunk-scan.js';
import { chunkMessages, CHUNK_OPCODE, definitions, MAX_RECORD, merged, parseRecords, RECORD_HEADER, type ChunkPlace, type Definitions, type MessagePlace, type PathResult } from './mcap-records.js';
import { scanMcap } from './mcap-source.js';

/** One message found in a damaged file, with the channel and schema records that describe it; its bytes through {@link Salvage.data}. */
export interface SalvagedMessage {
  readonly channel: Channel;
  readonly schema: Schema | undefined;
  readonly sequence: number;
  /** MCAP log time, ns since the Unix epoch. */
  readonly logTime: bigint;
  readonly place: MessagePlace;
}

/** Distinct messages each way of reading a file could read. */
export interface ReadableCounts {
  /** Through the summary's chunk index (what `info`, `frames` and `export` read on a finished file); undefined when the summary is unusable. */
  summary: number | undefined;
  /** Reading records from the start, skipping damaged chunks (what they read on an unfinished file). */
  messageScan: number;
  /** Every intact chunk record found anywhere in the bytes, whatever lies around it. */
  chunkScan: number;
}

/** Everything readable in an MCAP file, by every way of reading it; the file stays open until `close()`. */
export interface Salvage {
  /** The union of what every way of reading found, one per (topic, log time, sequence), in log time order (file order on ties). */
  readonly messages: SalvagedMessage[];
  /**
   * A message's bytes, read again from its chunk (a few chunks are kept parsed, so reading the
   * messages in order reads each chunk about once).
   */
  data(message: SalvagedMessage): Promise<Uint8Array>;
  /** Closes the file. */
  close(): Promise<void>;
  /** Metadata records, each once. */
  readonly metadata: Metadata[];
  readonly readable: ReadableCounts;
  /** True when the file is whole: a valid summary, every chunk intact, every byte part of a record, every way of reading agreeing. */
  readonly complete: boolean;
  /** Bytes of the file that belong to no readable record. */
  readonly lostBytes: number;
  /** What is wrong, in words: an unusable summary, damaged chunks, unreadable byte ranges. */
  readonly problems: string[];
}

const FOOTER_OPCODE = 0x02;
/** Chunks kept parsed while messages are read back in log time order (chunks overlap in time at their edges). */
const PARSED_CHUNKS = 4;
const MAGIC_BYTES = 8;
/** Unreadable ranges listed one by one in `problems`; the rest are summed. */
const LISTED_GAPS = 8;

async function openInput(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`Recording not found: ${path}`);
    throw new TransportError(`Cannot open ${path}: ${(error as Error).message}`, { cause: error });
  }
  if ((await handle.stat()).isDirectory()) {
    await handle.close();
    throw new InvalidArgumentError(`${path} is a folder; give a recording file.`);
  }
  return handle;
}

/** A readable over the file that refuses reads past its end or absurdly large ones (a damaged length). */
function boundedReadable(file: FileBytes): IReadable {
  const size = file.size;
  return {
    size: async () => BigInt(size),
    read: async (offset, length) => {
      if (offset < 0n || length < 0n || offset + length > BigInt(size) || length > BigInt(MAX_RECORD)) {
        throw new Error(`a record claims bytes ${offset}..${offset + length}, beyond the file's ${size} bytes`);
      }
      // Copied: the reader may keep what it read, and `file` reuses its memory.
      return new Uint8Array(await file.read(Number(offset), Number(length)));
    },
  };
}

/**
 * Reads `path` the way a finished file is read: the summary's chunk index, then each chunk it
 * lists. Undefined when the summary is unusable.
 */
async function readThroughSummary(file: FileBytes, damaged: Map<number, string>): Promise<(PathResult & { metadata: Metadata[]; chunks: number }) | string> {
  let reader: McapIndexedReader;
  try {
    reader = await McapIndexedReader.Initialize({ readable: boundedReadable(file) });
  } catch (error) {
    return (error as Error).message;
  }
  if (reader.chunkIndexes.some((c) => c.compression !== '')) await loadDecompression();
  const defs: Definitions = { schemas: new Map(reader.schemasById), channels: new Map(reader.channelsById) };
  const messages: PathResult['messages'] = [];
  for (const chunk of reader.chunkIndexes) {
    const offset = Number(chunk.chunkStartOffset);
    try {
      if (chunk.chunkLength > BigInt(MAX_RECORD) || offset + Number(chunk.chunkLength) > file.size) throw new Error('it lies beyond the end of the file');
      const bytes = await file.read(offset, Number(chunk.chunkLength));
      if (bytes[0] !== CHUNK_OPCODE) throw new Error('no chunk record starts there');
      messages.push(...chunkMessages(parseRecords(bytes, defs), { at: offset, end: offset + Number(chunk.chunkLength), defs }));
    } catch (error) {
      if (!damaged.has(offset)) damaged.set(offset, (error as Error).message);
    }
  }
  const metadata: Metadata[] = [];
  try {
    for await (const m of reader.readMetadata()) metadata.push(m);
  } catch {
    // Metadata the summary cannot reach is still found by scanning.
  }
  return { defs, messages, metadata, chunks: reader.chunkIndexes.length };
}

/**
 * Walks the records that follow `from` one at a time (each parsed by `@mcap/core`), marking
 * them readable, until a chunk (found by the chunk scan), the footer or something unreadable.
 */
async function walkRecords(file: FileBytes, from: number, defs: Definitions, coverage: Coverage, metadata: Metadata[]): Promise<void> {
  const size = file.size;
  for (let at = from; at + RECORD_HEADER <= size; ) {
    const header = await file.read(at, RECORD_HEADER);
    const opcode = header[0];
    const length = header.readBigUInt64LE(1);
    if (opcode === CHUNK_OPCODE || length > BigInt(MAX_RECORD)) return;
    const end = at + RECORD_HEADER + Number(length);
    if (opcode === FOOTER_OPCODE) {
      if (end + MAGIC_BYTES !== size) return;
      const tail = await file.read(at, size - at);
      if (!hasMcapPrefix(new DataView(tail.buffer, tail.byteOffset + tail.length - MAGIC_BYTES, MAGIC_BYTES))) return;
      coverage.add(at, size);
      return;
    }
    if (end > size) return;
    let records: TypedMcapRecord[];
    try {
      records = parseRecords(await file.read(at, end - at), defs);
    } catch {
      return;
    }
    for (const r of records) if (r.type === 'Metadata') metadata.push(r);
    // An unknown opcode is how a damaged opcode byte reads: its bytes are not carried over.
    if (!records.some((r) => r.type === 'Unknown')) coverage.add(at, end);
    at = end;
  }
}

function messageKey(topic: string, logTime: bigint, sequence: number): string {
  return `${topic}\u0000${logTime}\u0000${sequence}`;
}

function metadataKey(m: Metadata): string {
  return JSON.stringify([m.name, [...m.metadata].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
}

/**
 * Reads everything that can be read from an MCAP file, however damaged, by every way of
 * reading it: the summary and its chunk index, a record-by-record scan from the start, and a
 * search for intact chunks anywhere in the bytes. Schemas and channels come from the summary
 * or any chunk that has them. Holds where each message is, not its bytes: a message in a
 * chunk is read again from the file when asked for; only messages found outside any chunk
 * (a file written without chunks) are held in memory.
 * @throws NotFoundError or TransportError when the file cannot be opened; MalformedDataError
 *   when nothing in it is MCAP.
 */
export async function salvageMcap(path: string, onProgress?: (bytesRead: number, totalBytes: number) => void): Promise<Salvage> {
  const handle = await openInput(path);
  try {
    const file = new FileBytes(handle, (await handle.stat()).size);
    const found = await salvageFile(path, file, onProgress);
    const parsed = new Map<ChunkPlace, Uint8Array[]>();
    return {
      ...found,
      data: async (message) => {
        const { place } = message;
        if ('data' in place) return place.data;
        let messages = parsed.get(place.chunk);
        if (!messages) {
          const { at, end, defs } = place.chunk;
          messages = parseRecords(await file.read(at, end - at), defs).flatMap((r) => (r.type === 'Message' ? [r.data] : []));
          if (parsed.size >= PARSED_CHUNKS) parsed.delete(parsed.keys().next().value!);
          parsed.set(place.chunk, messages);
        }
        const data = messages[place.index];
        if (!data) throw new MalformedDataError(`${path}: the chunk at byte ${place.chunk.at} read differently the second time; was the file changed while it was recovered?`);
        return data;
      },
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function salvageFile(path: string, file: FileBytes, onProgress?: (bytesRead: number, totalBytes: number) => void): Promise<Omit<Salvage, 'data' | 'close'>> {
  const damaged = new Map<number, string>();
  const coverage = new Coverage();
  const metadata: Metadata[] = [];
  const head = await file.read(0, MAGIC_BYTES);
  const magic = head.length === MAGIC_BYTES && hasMcapPrefix(new DataView(head.buffer, head.byteOffset, MAGIC_BYTES));
  if (magic) coverage.add(0, MAGIC_BYTES);
  const summary = await readThroughSummary(file, damaged);
  const summaryDefs = typeof summary === 'string' ? definitions() : summary.defs;
  const chunks = await scanChunks(file, summaryDefs, coverage, onProgress);
  const all = merged(summaryDefs, chunks.defs);
  for (const from of [MAGIC_BYTES, ...chunks.ends]) if (!coverage.covers(from)) await walkRecords(file, from, all, coverage, metadata);

  const union = new Map<string, SalvagedMessage>();
  /** Adds a message unless a way of reading before found it; its key. */
  const addOne = (channel: Channel, schema: Schema | undefined, sequence: number, logTime: bigint, place: () => MessagePlace): string => {
    const key = messageKey(channel.topic, logTime, sequence);
    if (!union.has(key)) union.set(key, { channel, schema, sequence, logTime, place: place() });
    return key;
  };
  const add = (found: PathResult): number => {
    const keys = new Set<string>();
    for (const m of found.messages) {
      const channel = found.defs.channels.get(m.channelId);
      if (channel) keys.add(addOne(channel, found.defs.schemas.get(channel.schemaId), m.sequence, m.logTime, () => m.place));
    }
    return keys.size;
  };
  // Chunks found by the chunk scan passed their CRC check: their copy of a message wins.
  const chunkScan = add({ defs: all, messages: chunks.messages });
  const summaryCount = typeof summary === 'string' ? undefined : add(summary);
  // The record scan comes last: what it finds the chunk paths did not (records outside any
  // chunk) is held, copied out of the scan's buffers.
  const scannedKeys = new Set<string>();
  const scan = magic
    ? await scanMcap(path, (m, seen) => {
        const channel = seen.channels.get(m.channelId);
        if (channel) scannedKeys.add(addOne(channel, seen.schemas.get(channel.schemaId), m.sequence, m.logTime, () => ({ data: m.data.slice() })));
      })
    : undefined;
  const readable: ReadableCounts = { chunkScan, summary: summaryCount, messageScan: scannedKeys.size };
  if (!magic && union.size === 0) {
    throw new MalformedDataError(`${path} is not an MCAP file (it does not start with the MCAP magic bytes, and no intact chunk was found in it).`);
  }

  const seen = new Set<string>();
  const allMetadata: Metadata[] = [];
  for (const m of [...(typeof summary === 'string' ? [] : summary.metadata), ...(scan?.metadata ?? []), ...metadata]) {
    const key = metadataKey(m);
    if (seen.has(key)) continue;
    seen.add(key);
    allMetadata.push(m);
  }

  const gaps = coverage.gaps(file.size);
  const problems: string[] = [];
  if (typeof summary === 'string') problems.push(`its summary cannot be used (${summary})`);
  if (scan && !scan.complete && readable.messageScan < union.size) problems.push(`reading from the start finds only ${readable.messageScan} messages: ${scan.stoppedBy ?? 'damaged chunks'}`);
  for (const [offset, reason] of damaged) {
    if (coverage.covers(offset)) problems.push(`the summary's chunk index is wrong about byte ${offset} (${reason}); the chunk was found by scanning`);
  }
  const lostBytes = gaps.reduce((sum, [s, e]) => sum + e - s, 0);
  for (const [s, e] of gaps.slice(0, LISTED_GAPS)) problems.push(await describeGap(file, s, e, damaged, all));
  if (gaps.length > LISTED_GAPS) problems.push(`${gaps.length - LISTED_GAPS} more unreadable ranges`);

  const messages = [...union.values()].map((m, i) => ({ m, i }));
  messages.sort((a, b) => (a.m.logTime < b.m.logTime ? -1 : a.m.logTime > b.m.logTime ? 1 : a.i - b.i));
  const counts = [readable.summary, readable.messageScan, readable.chunkScan];
  return {
    messages: messages.map(({ m }) => m),
    metadata: allMetadata,
    readable,
    complete: typeof summary !== 'string' && damaged.size === 0 && lostBytes === 0 && scan?.complete === true && counts.every((n) => n === union.size),
    lostBytes,
    problems,
  };
}

/** Says what an unreadable byte range is: a damaged chunk (and why), a cut-off record, or unrecognisable bytes. */
async function describeGap(file: FileBytes, start: number, end: number, damaged: ReadonlyMap<number, string>, defs: Definitions): Promise<string> {
  const known = damaged.get(start);
  if (known !== undefined) return `skipped the chunk at byte ${start} (${known})`;
  const header = await file.read(start, RECORD_HEADER);
  if (header.length === RECORD_HEADER && header[0] === CHUNK_OPCODE) {
    const length = header.readBigUInt64LE(1);
    const recordEnd = start + RECORD_HEADER + Number(length);
    if (length <= BigInt(MAX_RECORD) && recordEnd <= file.size) {
      try {
        parseRecords(await file.read(start, recordEnd - start), defs);
      } catch (error) {
        return `skipped the chunk at byte ${start} (${(error as Error).message})`;
      }
    }
  }
  if (end === file.size) return `the last ${end - start} bytes, from byte ${start}, are no complete record (the file is cut short or its end is damaged)`;
  return `${end - start} bytes from byte ${start} are unreadable`;
}
