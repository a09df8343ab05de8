import { McapStreamReader, type IReadable, type McapTypes } from '@mcap/core';

/**
 * Earliest and latest log time, ns, of `channelId`'s messages in one chunk, from the chunk's
 * message index record (a small read; the chunk itself is not read). Undefined when the
 * chunk has no index record for the channel or the record is damaged.
 */
export async function channelTimesInChunk(readable: IReadable, chunk: McapTypes.ChunkIndex, channelId: number): Promise<{ start: bigint; end: bigint } | undefined> {
  const at = chunk.messageIndexOffsets.get(channelId);
  if (at === undefined) return undefined;
  try {
    // The record lies in the chunk's message index section, which follows the chunk.
    const end = chunk.chunkStartOffset + chunk.chunkLength + chunk.messageIndexLength;
    const reader = new McapStreamReader({ noMagicPrefix: true, validateCrcs: true });
    reader.append(await readable.read(at, end - at));
    const record = reader.nextRecord();
    if (record?.type !== 'MessageIndex' || record.channelId !== channelId || record.records.length === 0) return undefined;
    let start = record.records[0][0];
    let last = start;
    for (const [t] of record.records) {
      if (t < start) start = t;
      if (t > last) last = t;
    }
    return { start, end: last };
  } catch {
    return undefined;
  }
}
