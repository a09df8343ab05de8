import type { TypedMcapRecord } from '@mcap/core';
import type { Coverage } from './byte-coverage.js';
import { SCAN_BLOCK, type FileBytes } from './file-bytes.js';
import { loadDecompression } from './mcap-decompression.js';
import {
  chunkMessages,
  CHUNK_OPCODE,
  COMPRESSION_LENGTH_AT,
  definitions,
  MAX_COMPRESSION_NAME,
  MAX_RECORD,
  merged,
  parseRecords,
  RECORD_HEADER,
  type Definitions,
  type PathResult,
} from './mcap-records.js';

/** A chunk's fixed fields: start and end time, uncompressed size, CRC, compression string length, records length. */
const CHUNK_FIXED = 8 + 8 + 8 + 4 + 4 + 8;

/**
 * Finds every intact chunk record anywhere in the file (a hand-written search for the chunk
 * opcode with a plausible length, each candidate parsed and CRC-checked by `@mcap/core`), so
 * damage before a chunk — a broken header, a wrong length — does not hide it. A chunk is
 * parsed first with the definitions of chunks before it, then with `fallback` (the summary's),
 * so one damaged chunk costs only its own messages. The inside of a chunk is its messages'
 * bytes, not the file's records: the search skips it, and so a recording whose messages carry
 * MCAP data (a nested recording, a relayed chunk) is not read as that data's messages. It
 * skips the inside of a damaged chunk too, when its records still chain to its end (or to the
 * file's end, for a chunk cut short): only then is it known to be one chunk.
 */
export async function scanChunks(
  file: FileBytes,
  fallback: Definitions,
  coverage: Coverage,
  onProgress?: (bytesRead: number, totalBytes: number) => void,
): Promise<PathResult & { ends: number[] }> {
  const own = definitions();
  const messages: PathResult['messages'] = [];
  const ends: number[] = [];
  const failed: [number, number][] = [];
  // The definitions as they are now, copied once per change: each chunk keeps the ones it parsed with.
  let current: Definitions | undefined;
  const snapshot = (): Definitions => (current ??= merged(definitions(), own));
  const take = ({ records, defs }: Parsed, at: number, end: number) => {
    for (const r of records) {
      if (r.type === 'Schema') own.schemas.set(r.id, r);
      else if (r.type === 'Channel') own.channels.set(r.id, r);
      else continue;
      current = undefined;
    }
    messages.push(...chunkMessages(records, { at, end, defs }));
    coverage.add(at, end);
    ends.push(end);
  };
  const size = file.size;
  /** Where the chunk found last ends: what lies before is inside it. */
  let insideTo = 0;
  const blockMemory = Buffer.alloc(SCAN_BLOCK + RECORD_HEADER);
  for (let blockStart = 0; blockStart < size; blockStart += SCAN_BLOCK) {
    if (blockStart + SCAN_BLOCK <= insideTo) {
      onProgress?.(Math.min(size, blockStart + SCAN_BLOCK), size);
      continue;
    }
    // Copied: reading the candidates below replaces what `file.read` returned.
    const block = blockMemory.subarray(0, (await file.read(blockStart, SCAN_BLOCK + RECORD_HEADER)).copy(blockMemory));
    const usable = Math.min(block.length, SCAN_BLOCK);
    for (let i = block.indexOf(CHUNK_OPCODE, Math.max(0, insideTo - blockStart)); i >= 0 && i < usable; i = block.indexOf(CHUNK_OPCODE, Math.max(i + 1, insideTo - blockStart))) {
      const at = blockStart + i;
      if (i + RECORD_HEADER > block.length) continue;
      const length = block.readBigUInt64LE(i + 1);
      if (length < BigInt(CHUNK_FIXED) || length > BigInt(MAX_RECORD)) continue;
      const shape = await chunkShape(file, at, length);
      if (!shape) continue;
      const end = at + RECORD_HEADER + Number(length);
      if (end > size) {
        if (!shape.compressed && (await recordsChain(file, shape.recordsAt, size)) !== 'broken') insideTo = size;
        continue;
      }
      if (shape.compressed) await loadDecompression();
      const parsed = parseChunk(await file.read(at, end - at), snapshot(), fallback);
      if (parsed) take(parsed, at, end);
      else failed.push([at, end]);
      if (parsed || (!shape.compressed && (await recordsChain(file, shape.recordsAt, end)) === 'whole')) insideTo = end;
    }
    onProgress?.(Math.min(size, blockStart + SCAN_BLOCK), size);
  }
  // A chunk whose channels a later chunk defines (chunks out of file order) parses once those are known.
  for (let progress = true; progress; ) {
    progress = false;
    for (const [k, [at, end]] of failed.entries()) {
      const parsed = parseChunk(await file.read(at, end - at), snapshot(), fallback);
      if (!parsed) continue;
      take(parsed, at, end);
      failed.splice(k, 1);
      progress = true;
      break;
    }
  }
  return { defs: own, messages, ends };
}

/** Where a candidate chunk's records start, and whether they are compressed. */
interface ChunkShape {
  recordsAt: number;
  compressed: boolean;
}

/**
 * The candidate at `at` if it has a chunk's shape: a short compression name, and a records
 * length that fills the record's length exactly. Checked before the candidate is read whole:
 * the byte 0x06 before a message record's header reads as a chunk a hundred megabytes long,
 * and reading each such one made the search slow and its read buffer that large.
 */
async function chunkShape(file: FileBytes, at: number, length: bigint): Promise<ChunkShape | undefined> {
  const fixed = await file.read(at, COMPRESSION_LENGTH_AT + 4);
  if (fixed.length < COMPRESSION_LENGTH_AT + 4) return undefined;
  const nameLength = fixed.readUInt32LE(COMPRESSION_LENGTH_AT);
  if (nameLength > MAX_COMPRESSION_NAME || BigInt(CHUNK_FIXED + nameLength) > length) return undefined;
  const recordsLengthAt = at + COMPRESSION_LENGTH_AT + 4 + nameLength;
  const recordsLength = await file.read(recordsLengthAt, 8);
  if (recordsLength.length !== 8 || BigInt(CHUNK_FIXED + nameLength) + recordsLength.readBigUInt64LE(0) !== length) return undefined;
  return { recordsAt: recordsLengthAt + 8, compressed: nameLength > 0 };
}

/** The records a chunk holds: schemas, channels and messages. */
const CHUNK_RECORD_OPCODES = new Set([0x03, 0x04, 0x05]);

/**
 * How the records of an uncompressed chunk from `from` fit before `limit`: `whole` when they
 * end exactly there, `cut` when the last one runs past it, `broken` when a byte that should
 * start a record starts none a chunk holds.
 */
async function recordsChain(file: FileBytes, from: number, limit: number): Promise<'whole' | 'cut' | 'broken'> {
  let at = from;
  while (at + RECORD_HEADER <= limit) {
    const header = await file.read(at, RECORD_HEADER);
    const length = header.readBigUInt64LE(1);
    if (!CHUNK_RECORD_OPCODES.has(header[0]) || length > BigInt(MAX_RECORD)) return 'broken';
    at += RECORD_HEADER + Number(length);
  }
  return at === limit ? 'whole' : 'cut';
}

interface Parsed {
  records: TypedMcapRecord[];
  /** The definitions it parsed with, as they were then: what reading it again needs. */
  defs: Definitions;
}

/** Parses a chunk candidate with the definitions found so far, then with `fallback` added; undefined when neither parses it. */
function parseChunk(bytes: Uint8Array, own: Definitions, fallback: Definitions): Parsed | undefined {
  for (const known of [own, merged(fallback, own)]) {
    try {
      return { records: parseRecords(bytes, known), defs: known };
    } catch {
      // Not a chunk, damaged, or on channels defined elsewhere: try the next definitions.
    }
  }
  return undefined;
}

