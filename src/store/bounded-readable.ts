import type { FileHandle } from 'node:fs/promises';
import type { IReadable } from '@mcap/core';
import { MalformedDataError } from '../core/errors.js';

/** Reads at most this much at once: a claimed length beyond it is damage, not data. */
const MAX_READ = 1 << 30;

/**
 * Reads a file for `McapIndexedReader`, refusing reads outside the file or larger than any
 * sane record, so a damaged length field cannot make the process allocate gigabytes. Every
 * read gets its own buffer: `@mcap/nodejs`'s `FileHandleReadable` reuses one, so two reads
 * in flight at once (concurrent requests) overwrote each other's bytes.
 */
export class BoundedReadable implements IReadable {
  constructor(
    private readonly handle: FileHandle,
    private readonly fileSize: bigint,
    private readonly path: string,
  ) {}

  async size(): Promise<bigint> {
    return this.fileSize;
  }

  async read(offset: bigint, length: bigint): Promise<Uint8Array> {
    if (offset < 0n || length < 0n || offset + length > this.fileSize || length > BigInt(MAX_READ)) {
      throw new MalformedDataError(`${this.path}: a record claims bytes ${offset}..${offset + length}, beyond the file's ${this.fileSize} bytes.`);
    }
    const buffer = new Uint8Array(Number(length));
    const { bytesRead } = await this.handle.read(buffer, 0, buffer.byteLength, Number(offset));
    if (bytesRead !== buffer.byteLength) throw new MalformedDataError(`${this.path}: read ${bytesRead} of ${length} bytes at byte ${offset}; the file changed while open.`);
    return buffer;
  }
}
