import { openMcapSource, type McapSource } from '../../src/store/mcap-source.js';

/** The MCAP source of `path`, with the positions of the chunks it loads, in order: a test's I/O count. */
export async function countingSource(path: string): Promise<{ source: McapSource; reads: number[] }> {
  const inner = await openMcapSource(path);
  const reads: number[] = [];
  const source = Object.create(inner) as McapSource;
  source.loadChunk = (position: number) => {
    reads.push(position);
    return inner.loadChunk(position);
  };
  return { source, reads };
}
