import type { DecompressHandlers } from '@mcap/core';
import { MissingDependencyError } from '../core/errors.js';

let handlers: DecompressHandlers | undefined;
let loading: Promise<DecompressHandlers> | undefined;

/**
 * Loads the zstd, lz4 and bz2 chunk decompressors (`@mcap/support`, WebAssembly; about 150 ms)
 * once, when a file's chunks are compressed: other tools (the Foxglove SDK, Python's `mcap`)
 * compress by default; framebus writes uncompressed chunks (video does not compress).
 */
export async function loadDecompression(): Promise<DecompressHandlers> {
  loading ??= import('@mcap/support')
    .then((m) => m.loadDecompressHandlers())
    .catch((cause: unknown) => {
      loading = undefined;
      throw new MissingDependencyError('Reading compressed MCAP chunks needs @mcap/support and its WebAssembly decompressors: npm install @mcap/support.', { cause });
    });
  return (handlers ??= await loading);
}

/** The decompressors once {@link loadDecompression} has run, for readers made synchronously; undefined before. */
export function decompression(): DecompressHandlers | undefined {
  return handlers;
}
