import { open, type FileHandle } from 'node:fs/promises';
import {
  hasMcapPrefix,
  McapIndexedReader,
  McapRecordBuilder,
  McapStreamReader,
  type Channel,
  type Metadata,
  type Schema,
  type TypedMcapRecord,
} from '@mcap/core';
import { MalformedDataError, NotFoundError, TransportError } from '../core/errors.js';
import { checkInputFile } from '../core/input-file.js';
import { partialFilesOf } from '../core/output-file.js';
import { BoundedReadable } from './bounded-readable.js';
import { decompression, loadDecompression } from './mcap-decompression.js';
import { firstChunkCompression } from './mcap-records.js';
import { channelTimesInChunk } from './message-index.js';

/** One message as stored. */
export interface StoredMessage {
  readonly channelId: number;
  readonly sequence: number;
  /** MCAP log time, ns since the Unix epoch. */
  readonly logTime: bigint;
  readonly data: Uint8Array;
}

/** A group of messages that is read as one unit (an MCAP chunk). */
export interface ChunkRef {
  /** Position in `McapSource.chunks`. */
  readonly position: number;
  /** Earliest and latest log time of any message inside, ns. */
  readonly start: bigint;
  readonly end: bigint;
  /** Channels with messages inside. */
  readonly channels: ReadonlySet<number>;
  /** Bytes the chunk occupies in the file. */
  readonly bytes: number;
  /** Where the chunk starts in the file. */
  readonly offset: bigint;
}

/**
 * The messages of an MCAP file, read a chunk at a time. A finished file is read through
 * `McapIndexedReader` (summary, chunk and metadata indexes) and only the chunks asked for are
 * read; an unfinished or damaged file is scanned once from the start with `McapStreamReader`.
 */
export interface McapSource {
  readonly path: string;
  /** True when the file has a valid summary; false when it was scanned. */
  readonly indexed: boolean;
  /** For a scanned file: why it has no usable index and where the scan stopped, if it did. */
  readonly problem: string | undefined;
  readonly schemas: ReadonlyMap<number, Schema>;
  readonly channels: ReadonlyMap<number, Channel>;
  /** Chunks in file order. */
  readonly chunks: readonly ChunkRef[];
  /** Every metadata record. */
  metadata(): Promise<Metadata[]>;
  /**
   * Messages of `channelId` in the whole file as the file itself counts them (the summary's
   * statistics, or the scan), or undefined when it does not say.
   */
  messageCount(channelId: number): number | undefined;
  /**
   * Earliest and latest log time, ns, of `channelId`'s messages in chunk `position`: exact
   * where the file tells (message index, scan), else the chunk's range, which holds them.
   * Undefined when the chunk holds none of them.
   */
  channelTimes(position: number, channelId: number): Promise<{ start: bigint; end: bigint } | undefined>;
  /**
   * The messages of one chunk in file order.
   * @throws MalformedDataError when the chunk is damaged (CRC, framing, length).
   */
  loadChunk(position: number): Promise<StoredMessage[]>;
  close(): Promise<void>;
}

function damaged(path: string, what: string, error: unknown): MalformedDataError {
  if (error instanceof MalformedDataError) return error;
  return new MalformedDataError(`${path}: ${what} is damaged (${(error as Error).message}).`, { cause: error });
}

/**
 * Checks that `path` is a regular file before it is opened (a folder fails with EISDIR, a pipe
 * blocks). A missing recording whose unfinished (killed) partial file lies beside it is named.
 * @throws NotFoundError, InvalidArgumentError or FileSystemError as `checkInputFile`.
 */
export async function checkRecordingFile(path: string): Promise<void> {
  try {
    await checkInputFile(path, 'Recording');
  } catch (error) {
    const partial = error instanceof NotFoundError ? await partialFilesOf(path) : [];
    if (partial.length === 0) throw error;
    throw new NotFoundError(
      `Recording not found: ${path}; ${partial.join(', ')} ${partial.length > 1 ? 'are unfinished recordings' : 'is an unfinished recording'} of it (the recorder was killed): recover it with framebus recover ${partial[0]} --out ${path}`,
    );
  }
}

async function openFile(path: string): Promise<{ handle: FileHandle; size: bigint }> {
  if (typeof path !== 'string' || path.length === 0) throw new NotFoundError('Recording path must be a non-empty string.');
  await checkRecordingFile(path);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`Recording not found: ${path}`);
    throw new TransportError(`Cannot open ${path}: ${(error as Error).message}`, { cause: error });
  }
  const size = BigInt((await handle.stat()).size);
  return { handle, size };
}

class IndexedSource implements McapSource {
  readonly indexed = true;
  readonly problem = undefined;
  readonly schemas: ReadonlyMap<number, Schema>;
  readonly channels: ReadonlyMap<number, Channel>;
  readonly chunks: ChunkRef[];
  private preamble: Uint8Array | undefined;
  private readonly times = new Map<string, { start: bigint; end: bigint } | undefined>();

  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly readable: BoundedReadable,
    private readonly reader: McapIndexedReader,
  ) {
    this.schemas = reader.schemasById;
    this.channels = reader.channelsById;
    this.chunks = reader.chunkIndexes.map((c, position) => ({
      position,
      start: c.messageStartTime,
      end: c.messageEndTime,
      channels: new Set(c.messageIndexOffsets.keys()),
      bytes: Number(c.chunkLength),
      offset: c.chunkStartOffset,
    }));
  }

  async metadata(): Promise<Metadata[]> {
    const out: Metadata[] = [];
    try {
      for await (const m of this.reader.readMetadata()) out.push(m);
    } catch (error) {
      throw damaged(this.path, 'a metadata record', error);
    }
    return out;
  }

  messageCount(channelId: number): number | undefined {
    const count = this.reader.statistics?.channelMessageCounts.get(channelId);
    return count === undefined ? undefined : Number(count);
  }

  async channelTimes(position: number, channelId: number): Promise<{ start: bigint; end: bigint } | undefined> {
    const key = `${position}/${channelId}`;
    if (!this.times.has(key)) {
      const chunk = this.chunks[position];
      // Without a readable message index, the chunk's own range still bounds the channel's times.
      const whole = chunk.channels.has(channelId) ? { start: chunk.start, end: chunk.end } : undefined;
      this.times.set(key, (await channelTimesInChunk(this.readable, this.reader.chunkIndexes[position], channelId)) ?? whole);
    }
    return this.times.get(key);
  }

  /** Schema and channel records to put in front of a chunk, so a stream reader knows its channels. */
  private channelRecords(): Uint8Array {
    if (this.preamble) return this.preamble;
    const builder = new McapRecordBuilder();
    for (const s of this.schemas.values()) builder.writeSchema(s);
    for (const c of this.channels.values()) builder.writeChannel(c);
    this.preamble = builder.buffer.slice();
    return this.preamble;
  }

  async loadChunk(position: number): Promise<StoredMessage[]> {
    const chunk = this.chunks[position];
    try {
      const bytes = await this.readable.read(chunk.offset, BigInt(chunk.bytes));
      const reader = new McapStreamReader({ noMagicPrefix: true, validateCrcs: true, decompressHandlers: decompression() });
      reader.append(this.channelRecords());
      reader.append(bytes);
      const out: StoredMessage[] = [];
      for (let r: TypedMcapRecord | undefined; (r = reader.nextRecord()); ) {
        if (r.type === 'Message') out.push({ channelId: r.channelId, sequence: r.sequence, logTime: r.logTime, data: r.data });
      }
      if (reader.bytesRemaining() !== 0) throw new Error(`${reader.bytesRemaining()} bytes of the chunk do not form a record`);
      return out;
    } catch (error) {
      throw damaged(this.path, `the chunk at byte ${chunk.offset}`, error);
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * Messages per pseudo-chunk of a scanned file: the unit its reader caches. Messages with the
 * same log time are never split (a frame-id message stays with its packet).
 */
const SCAN_GROUP = 256;

class ScannedSource implements McapSource {
  readonly indexed = false;
  readonly chunks: ChunkRef[] = [];

  constructor(
    readonly path: string,
    readonly problem: string | undefined,
    readonly schemas: ReadonlyMap<number, Schema>,
    readonly channels: ReadonlyMap<number, Channel>,
    private readonly groups: StoredMessage[][],
    private readonly metadataRecords: Metadata[],
  ) {
    this.chunks = groups.map((g, position) => {
      let start = g[0].logTime;
      let end = g[0].logTime;
      for (const m of g) {
        if (m.logTime < start) start = m.logTime;
        if (m.logTime > end) end = m.logTime;
      }
      return {
        position,
        start,
        end,
        channels: new Set(g.map((m) => m.channelId)),
        bytes: g.reduce((s, m) => s + m.data.byteLength, 0),
        offset: -1n,
      };
    });
  }

  async metadata(): Promise<Metadata[]> {
    return this.metadataRecords;
  }

  messageCount(channelId: number): number {
    return this.groups.reduce((n, g) => n + g.filter((m) => m.channelId === channelId).length, 0);
  }

  async channelTimes(position: number, channelId: number): Promise<{ start: bigint; end: bigint } | undefined> {
    const times = this.groups[position].filter((m) => m.channelId === channelId).map((m) => m.logTime);
    return times.length ? { start: times.reduce((a, b) => (b < a ? b : a)), end: times.reduce((a, b) => (b > a ? b : a)) } : undefined;
  }

  async loadChunk(position: number): Promise<StoredMessage[]> {
    return this.groups[position];
  }

  async close(): Promise<void> {}
}

/** What a streaming scan of a file found. */
export interface ScanResult {
  schemas: Map<number, Schema>;
  channels: Map<number, Channel>;
  metadata: Metadata[];
  /** True when the scan reached the footer: the file ends properly. */
  complete: boolean;
  /** Why the scan stopped early, when it did. */
  stoppedBy: string | undefined;
  /** Damaged chunks that were skipped, by file offset. */
  skipped: string[];
  /** File bytes up to the end of the last complete record. */
  bytesRead: number;
}

const CHUNK_OPCODE = 0x06;
const RECORD_HEADER = 9;

/**
 * Reads `path` from the start with `McapStreamReader`, handing every complete message to
 * `onMessage` (with the schemas and channels seen so far), until the file ends or stops making sense (truncation, damage). A chunk whose
 * contents are damaged is skipped and reading resumes after it, with a fresh stream reader
 * that is told the schemas and channels seen so far.
 * @throws MalformedDataError when the file does not start with the MCAP magic.
 */
export async function scanMcap(
  path: string,
  onMessage: (message: StoredMessage, seen: Pick<ScanResult, 'schemas' | 'channels'>) => void | Promise<void>,
  onProgress?: (bytesRead: number, totalBytes: number) => void,
): Promise<ScanResult> {
  const { handle, size } = await openFile(path);
  const total = Number(size);
  const result: ScanResult = { schemas: new Map(), channels: new Map(), metadata: [], complete: false, stoppedBy: undefined, skipped: [], bytesRead: 0 };
  try {
    const head = Buffer.alloc(8);
    await handle.read(head, 0, 8, 0);
    if (!hasMcapPrefix(new DataView(head.buffer, head.byteOffset, head.byteLength))) {
      throw new MalformedDataError(`${path} is not an MCAP file (it does not start with the MCAP magic bytes).`);
    }
    const readAt = async (offset: number, length: number) => {
      const bytes = Buffer.alloc(length);
      return bytes.subarray(0, (await handle.read(bytes, 0, length, offset)).bytesRead);
    };
    if ((await firstChunkCompression(readAt, total)) !== '') await loadDecompression();
    const block = Buffer.alloc(1 << 20);
    let segmentStart = 0;
    for (;;) {
      const reader = new McapStreamReader({ validateCrcs: true, noMagicPrefix: segmentStart > 0, decompressHandlers: decompression() });
      if (segmentStart > 0) {
        const builder = new McapRecordBuilder();
        for (const s of result.schemas.values()) builder.writeSchema(s);
        for (const c of result.channels.values()) builder.writeChannel(c);
        reader.append(builder.buffer);
      }
      let position = segmentStart;
      let failure: string | undefined;
      let recordEnd = segmentStart;
      read: while (position < total) {
        const { bytesRead } = await handle.read(block, 0, block.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        reader.append(block.subarray(0, bytesRead));
        for (;;) {
          let record: TypedMcapRecord | undefined;
          try {
            record = reader.nextRecord();
          } catch (error) {
            failure = (error as Error).message;
            break read;
          }
          if (!record) break;
          recordEnd = Math.max(segmentStart, position - reader.bytesRemaining());
          if (record.type === 'Schema') result.schemas.set(record.id, record);
          else if (record.type === 'Channel') result.channels.set(record.id, record);
          else if (record.type === 'Metadata') result.metadata.push(record);
          else if (record.type === 'Message') await onMessage({ channelId: record.channelId, sequence: record.sequence, logTime: record.logTime, data: record.data }, result);
        }
        if (reader.done()) {
          result.complete = true;
          break;
        }
        onProgress?.(position, total);
      }
      result.bytesRead = recordEnd;
      if (result.complete) break;
      if (failure === undefined) {
        result.stoppedBy =
          recordEnd === total
            ? `the file ends at byte ${total} without its summary (the writer did not finish)`
            : `the file ends in the middle of a record after byte ${recordEnd}`;
        break;
      }
      const header = Buffer.alloc(RECORD_HEADER);
      await handle.read(header, 0, RECORD_HEADER, recordEnd);
      const length = header.readBigUInt64LE(1);
      const next = BigInt(recordEnd) + BigInt(RECORD_HEADER) + length;
      if (header[0] !== CHUNK_OPCODE || next > size) {
        result.stoppedBy = `${failure} (at byte ${recordEnd})`;
        break;
      }
      result.skipped.push(`the chunk at byte ${recordEnd} (${failure})`);
      segmentStart = Number(next);
    }
    return result;
  } finally {
    await handle.close();
  }
}

/**
 * Opens an MCAP file: through its index when it has a valid one, otherwise by scanning it.
 * @throws NotFoundError when the file does not exist; MalformedDataError when it is not MCAP.
 */
export async function openMcapSource(path: string): Promise<McapSource> {
  const { handle, size } = await openFile(path);
  let indexProblem: string;
  try {
    const readable = new BoundedReadable(handle, size, path);
    const reader = await McapIndexedReader.Initialize({ readable });
    if (reader.chunkIndexes.some((c) => c.compression !== '')) await loadDecompression();
    return new IndexedSource(path, handle, readable, reader);
  } catch (error) {
    indexProblem = (error as Error).message;
    await handle.close();
  }
  const groups: StoredMessage[][] = [];
  let group: StoredMessage[] = [];
  const scan = await scanMcap(path, (m) => {
    if (group.length >= SCAN_GROUP && group[group.length - 1].logTime !== m.logTime) {
      groups.push(group);
      group = [];
    }
    group.push(m);
  });
  if (group.length > 0) groups.push(group);
  const problem = [
    `${scan.complete ? 'its index is unusable' : 'it is not finished'} (${indexProblem})`,
    ...scan.skipped.map((s) => `skipped ${s}`),
    ...(scan.stoppedBy ? [`reading stopped: ${scan.stoppedBy}`] : []),
  ].join('; ');
  return new ScannedSource(path, problem, scan.schemas, scan.channels, groups, scan.metadata);
}
