import type { FileHandle } from 'node:fs/promises';

/** The chunk search's step through a file, in bytes; `FileBytes` caches two of them per read. */
export const SCAN_BLOCK = 1 << 20;
/**
 * Reads up to this many bytes reuse one buffer (framebus writes chunks of at most 8 MiB);
 * larger ones (a damaged record's length, a writer's huge chunk) get memory of their own, so
 * one of them is not held for the rest of the salvage.
 */
const KEPT_READ = 64 << 20;

/**
 * Positioned reads of one file through a block cache: salvage's searches read a few bytes at
 * many nearby places, and one file read per block keeps them from waiting on I/O each time.
 * The bytes returned are a view of memory this reuses: valid until the next read (a chunk
 * read afresh every time made gigabytes of garbage on a large file, and the process's peak
 * memory grew with it).
 */
export class FileBytes {
  private block: { start: number; bytes: Buffer } | undefined;
  private readonly blockMemory: Buffer;
  private scratch = Buffer.alloc(0);

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {
    this.blockMemory = Buffer.alloc(Math.min(SCAN_BLOCK * 2, size));
  }

  /** Up to `length` bytes at `offset` (fewer at the end of the file), valid until the next read. */
  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, offset + length);
    const cached = this.block;
    if (cached && offset >= cached.start && end <= cached.start + cached.bytes.length) return cached.bytes.subarray(offset - cached.start, end - cached.start);
    if (end - offset > KEPT_READ) return this.readInto(Buffer.allocUnsafe(end - offset), offset, end - offset);
    if (end - offset > SCAN_BLOCK) {
      if (this.scratch.length < end - offset) this.scratch = Buffer.alloc(end - offset);
      return this.readInto(this.scratch, offset, end - offset);
    }
    // Forgotten first: a read that fails half-way leaves the block memory overwritten.
    this.block = undefined;
    this.block = { start: offset, bytes: await this.readInto(this.blockMemory, offset, Math.min(this.blockMemory.length, this.size - offset)) };
    return this.block.bytes.subarray(0, end - offset);
  }

  private async readInto(buffer: Buffer, offset: number, length: number): Promise<Buffer> {
    const { bytesRead } = await this.handle.read(buffer, 0, Math.max(0, length), offset);
    return buffer.subarray(0, bytesRead);
  }
}
