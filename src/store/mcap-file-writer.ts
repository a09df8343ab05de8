import { open, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { McapWriter, type Channel, type Message, type Metadata, type Schema } from '@mcap/core';
import { FileHandleWritable } from '@mcap/nodejs';
import { fileSystemError, InvalidArgumentError, NotFoundError, TransportError, type FramebusError } from '../core/errors.js';

/** How an MCAP file is chunked. */
export interface McapFileWriterOptions {
  /**
   * Longest time, seconds, a written message may wait in memory before its chunk goes to the
   * file: what a crash (even SIGKILL) can lose. Default 1. The chunk is closed by the first
   * message after half this time, so the promise holds while messages come at least every
   * half interval (McapWriter cannot close a chunk without a message).
   */
  flushInterval?: number;
  /** A chunk is also closed when it grows past this many bytes. Default 8 MiB. */
  maxChunkBytes?: number;
  /** Replace an existing file. Default false: an existing file is an error. */
  overwrite?: boolean;
}

/**
 * McapWriter closes a chunk only when, after a message, the chunk's bytes exceed its
 * `chunkSize`; it has no flush(). This limit reads as 0 once the open chunk is older than half
 * the flush interval, so the next message closes the chunk and it reaches the file: the half
 * left is the margin for the wait until that message and the write itself.
 */
class ChunkLimit {
  openedAt: number | undefined;
  /** While set, the chunk stays open: messages that belong together share a chunk. */
  hold = false;

  constructor(
    /** Age, ms, at which the open chunk is closed. */
    private readonly intervalMs: number,
    private readonly maxBytes: number,
  ) {}

  valueOf(): number {
    if (this.hold) return Number.MAX_SAFE_INTEGER;
    return this.openedAt !== undefined && performance.now() - this.openedAt >= this.intervalMs ? 0 : this.maxBytes;
  }
}

/** A failed write as a typed error: a file-system one by its reason (a full disk), anything else a TransportError. */
function writeFailure(error: unknown, path: string, then: string | undefined): FramebusError {
  const doing = `Writing ${path} failed`;
  if (typeof (error as NodeJS.ErrnoException)?.code === 'string') return fileSystemError(error, doing, then);
  return new TransportError(`${doing}: ${(error as Error).message}${then ? ` ${then}` : ''}`, { cause: error });
}

/**
 * An MCAP file written through `@mcap/core`'s McapWriter: chunked, uncompressed (video
 * does not compress again), with message, chunk and metadata indexes, and chunks flushed at
 * least every `flushInterval` while messages arrive. Calls may overlap: they run one at a time
 * in call order, as McapWriter requires.
 */
export class McapFileWriter {
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    private readonly writer: McapWriter,
    private readonly limit: ChunkLimit,
    /** The file's path. */
    readonly path: string,
    private readonly afterFailure: string | undefined,
  ) {}

  /**
   * Creates the file and writes its header. `afterFailure`, a sentence, ends the message of
   * any write that fails (what the caller keeps, how to use it).
   * @throws InvalidArgumentError for bad options or an existing file without `overwrite`;
   *   NotFoundError when the folder does not exist; FileSystemError when the header cannot be
   *   written (a full disk).
   */
  static async create(path: string, options: McapFileWriterOptions = {}, afterFailure?: string): Promise<McapFileWriter> {
    if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('Recording path must be a non-empty string.');
    const interval = options.flushInterval ?? 1;
    if (!(Number.isFinite(interval) && interval > 0)) {
      throw new InvalidArgumentError(`flushInterval must be a positive number of seconds, got ${String(options.flushInterval)}.`);
    }
    const maxBytes = options.maxChunkBytes ?? 8 * 1024 * 1024;
    if (!(Number.isInteger(maxBytes) && maxBytes > 0)) {
      throw new InvalidArgumentError(`maxChunkBytes must be a positive whole number, got ${String(options.maxChunkBytes)}.`);
    }
    let handle: FileHandle;
    try {
      handle = await open(path, options.overwrite ? 'w' : 'wx');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new InvalidArgumentError(`${path} already exists; choose another path or allow overwriting.`);
      if (code === 'ENOENT') throw new NotFoundError(`Cannot create ${path}: its folder does not exist.`);
      throw new TransportError(`Cannot create ${path}: ${(error as Error).message}`, { cause: error });
    }
    const limit = new ChunkLimit((interval * 1000) / 2, maxBytes);
    const writer = new McapWriter({
      writable: new FileHandleWritable(handle),
      chunkSize: limit as unknown as number,
    });
    try {
      await writer.start({ profile: '', library: 'framebus' });
    } catch (error) {
      await handle.close();
      throw writeFailure(error, path, afterFailure);
    }
    return new McapFileWriter(handle, writer, limit, path, afterFailure);
  }

  private run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      if (this.failure) throw this.failure;
      if (this.closed) throw new InvalidArgumentError(`${this.path} is closed.`);
      try {
        return await task();
      } catch (error) {
        this.failure = writeFailure(error, this.path, this.afterFailure);
        throw this.failure;
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Registers a schema; returns its id. */
  registerSchema(schema: Omit<Schema, 'id'>): Promise<number> {
    return this.run(() => this.writer.registerSchema(schema));
  }

  /** Registers a channel; returns its id. */
  registerChannel(channel: Omit<Channel, 'id'>): Promise<number> {
    return this.run(() => this.writer.registerChannel(channel));
  }

  /**
   * Adds messages to the open chunk, all in the same chunk, then closes the chunk when it is
   * full or older than the flush interval.
   */
  addMessages(messages: readonly Message[]): Promise<void> {
    return this.run(async () => {
      const chunks = this.writer.statistics?.chunkCount ?? 0;
      this.limit.openedAt ??= performance.now();
      for (let i = 0; i < messages.length; i++) {
        this.limit.hold = i < messages.length - 1;
        await this.writer.addMessage(messages[i]);
      }
      this.limit.hold = false;
      if ((this.writer.statistics?.chunkCount ?? 0) !== chunks) this.limit.openedAt = undefined;
    });
  }

  /** Writes a metadata record (outside chunks) and indexes it. */
  addMetadata(metadata: Metadata): Promise<void> {
    return this.run(() => this.writer.addMetadata(metadata));
  }

  /** Writes the last chunk, the summary and the footer, and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.run(async () => {
        await this.writer.end();
        this.closed = true;
      });
    } finally {
      this.closed = true;
      await this.handle.close();
    }
  }

  /** Closes the file without finishing it (after a failure), leaving what reached it. */
  async abandon(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.handle.close();
  }
}
