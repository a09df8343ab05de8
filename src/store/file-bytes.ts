import type { FileHandle } from 'node:fs/promises';

/** The chunk search's step through a file, in bytes; `FileBytes` caches two of them per read. */
export const SCAN_BLOCK = 1 << 20;

/**
 * Positioned reads of one file through a block cache: salvage's searches read a few bytes at
 * many nearby places, and one file read per block keeps them from waiting on I/O each time.
 */
export class FileBytes {
  private block: { start: number; bytes: Buffer } | undefined;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** Up to `length` bytes at `offset` (fewer at the end of the file). */
  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, offset + length);
    const cached = this.block;
    if (cached && offset >= cached.start && end <= cached.start + cached.bytes.length) return cached.bytes.subarray(offset - cached.start, end - cached.start);
    if (end - offset > SCAN_BLOCK) return this.readDirect(offset, end - offset);
    this.block = { start: offset, bytes: await this.readDirect(offset, Math.min(SCAN_BLOCK * 2, this.size - offset)) };
    return this.block.bytes.subarray(0, end - offset);
  }

  private async readDirect(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(Math.max(0, length));
    const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, offset);
    return buffer.subarray(0, bytesRead);
  }
}
