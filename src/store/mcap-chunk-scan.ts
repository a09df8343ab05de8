import type { TypedMcapRecord } from '@mcap/core';
import type { Coverage } from './byte-coverage.js';
import { SCAN_BLOCK, type FileBytes } from './file-bytes.js';
import { chunkMessages, CHUNK_OPCODE, definitions, MAX_RECORD, merged, parseRecords, RECORD_HEADER, type Definitions, type PathResult } from './mcap-records.js';

/** A chunk's fixed fields: start and end time, uncompressed size, CRC, compression string length, records length. */
const CHUNK_FIXED = 8 + 8 + 8 + 4 + 4 + 8;
/** Where the compression string's length sits in a chunk record (after the record header, times, size and CRC). */
const COMPRESSION_LENGTH_AT = RECORD_HEADER + 8 + 8 + 8 + 4;
/** Longer than any compression name MCAP knows ("zstd", "lz4"). */
const MAX_COMPRESSION_NAME = 32;

/**
 * Finds every intact chunk record anywhere in the file (a hand-written search for the chunk
 * opcode with a plausible length, each candidate parsed and CRC-checked by `@mcap/core`), so
 * damage before a chunk — a broken header, a wrong length — does not hide it. A chunk is
 * parsed first with the definitions of chunks before it, then with `fallback` (the summary's),
 * so one damaged chunk costs only its own messages.
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
  const blockMemory = Buffer.alloc(SCAN_BLOCK + RECORD_HEADER);
  for (let blockStart = 0; blockStart < size; blockStart += SCAN_BLOCK) {
    // Copied: reading the candidates below replaces what `file.read` returned.
    const block = blockMemory.subarray(0, (await file.read(blockStart, SCAN_BLOCK + RECORD_HEADER)).copy(blockMemory));
    const usable = Math.min(block.length, SCAN_BLOCK);
    for (let i = block.indexOf(CHUNK_OPCODE, 0); i >= 0 && i < usable; i = block.indexOf(CHUNK_OPCODE, i + 1)) {
      const at = blockStart + i;
      if (i + RECORD_HEADER > block.length) continue;
      const length = block.readBigUInt64LE(i + 1);
      if (length < BigInt(CHUNK_FIXED) || length > BigInt(MAX_RECORD) || at + RECORD_HEADER + Number(length) > size) continue;
      if (!(await lengthsAgree(file, at, length))) continue;
      const end = at + RECORD_HEADER + Number(length);
      const parsed = parseChunk(await file.read(at, end - at), snapshot(), fallback);
      if (parsed) take(parsed, at, end);
      else failed.push([at, end]);
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

/**
 * Whether the candidate at `at` has a chunk's shape: a short compression name, and a records
 * length that fills the record's length exactly. Checked before the candidate is read whole:
 * the byte 0x06 before a message record's header reads as a chunk a hundred megabytes long,
 * and reading each such one made the search slow and its read buffer that large.
 */
async function lengthsAgree(file: FileBytes, at: number, length: bigint): Promise<boolean> {
  const fixed = await file.read(at, COMPRESSION_LENGTH_AT + 4);
  if (fixed.length < COMPRESSION_LENGTH_AT + 4) return false;
  const nameLength = fixed.readUInt32LE(COMPRESSION_LENGTH_AT);
  if (nameLength > MAX_COMPRESSION_NAME || BigInt(CHUNK_FIXED + nameLength) > length) return false;
  const recordsAt = at + COMPRESSION_LENGTH_AT + 4 + nameLength;
  const records = await file.read(recordsAt, 8);
  return records.length === 8 && BigInt(CHUNK_FIXED + nameLength) + records.readBigUInt64LE(0) === length;
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

