import type { Channel } from '@mcap/core';
import type { Entry } from './chunk-cache.js';
import type { MessageDecoder } from '../wire/foxglove-messages.js';
import type { McapSource } from './mcap-source.js';
import type { StreamCursor } from './stream-cursor.js';
import { indexFromMetadata, type StreamCodec, type StreamIndex } from './stream-index.js';
import { indexDisagreement } from './stream-index-check.js';
import { StreamIndexer } from './stream-indexer.js';

/** One stream of a recording: its index plus where that index came from. */
export interface StreamInfo extends StreamIndex {
  /** True when the index was read from the file (and agrees with it); false when it was rebuilt by scanning. */
  readonly indexed: boolean;
}

/** What indexing a stream needs to know of it. */
export interface IndexableStream {
  readonly name: string;
  readonly channel: Channel;
  readonly schemaName: string;
  readonly decode: MessageDecoder;
  readonly cursor: StreamCursor;
  /** The stream's codec as its channel or first message states it. */
  codec(): Promise<StreamCodec>;
}

/**
 * The index of every stream of a recording, found once per stream however many requests ask
 * at the same time: the one stored in the file when it agrees with the file, else rebuilt by
 * reading the stream (files from other tools, unfinished, damaged or altered files).
 */
export class StreamIndexes {
  private stored: Promise<Map<string, StreamIndex>> | undefined;
  private readonly found = new Map<string, Promise<StreamInfo>>();

  constructor(
    private readonly source: McapSource,
    private readonly warn: (message: string) => void,
  ) {}

  /**
   * The stream's index. A failure (a stream with no readable message) is not remembered: the
   * next request tries again.
   * @throws MalformedDataError when the stream has no message framebus can read.
   */
  of(stream: IndexableStream): Promise<StreamInfo> {
    let info = this.found.get(stream.name);
    if (!info) {
      info = this.resolve(stream);
      this.found.set(stream.name, info);
      info.catch(() => this.found.delete(stream.name));
    }
    return info;
  }

  /**
   * Replaces a stored index found wrong while used (`why`, in words) by one rebuilt from the
   * stream, with a warning; the rebuilt index is returned as is.
   */
  async distrust(stream: IndexableStream, info: StreamInfo, why: string): Promise<StreamInfo> {
    const current = this.found.get(stream.name);
    // Concurrent requests may all find the same fault: the first one rebuilds.
    if (current && (await current.catch(() => undefined)) === info && this.found.get(stream.name) === current) {
      this.warn(`${why} Rebuilding the stream's index by reading it; \`framebus recover\` rewrites the index.`);
      const rebuilt = this.rebuild(stream);
      this.found.set(stream.name, rebuilt);
      rebuilt.catch(() => this.found.delete(stream.name));
    }
    return this.of(stream);
  }

  private async resolve(stream: IndexableStream): Promise<StreamInfo> {
    const stored = (await this.loadStored()).get(stream.name);
    if (stored) {
      const why =
        stored.codec !== (await stream.codec())
          ? `it names codec ${stored.codec} where the stream holds ${await stream.codec()}`
          : await indexDisagreement(stored, {
              messages: this.source.messageCount(stream.cursor.channelId),
              span: await stream.cursor.span(),
              covers: (t) => stream.cursor.covers(t),
            });
      if (why === undefined) return { ...stored, indexed: true };
      this.warn(`Stream ${stream.name}: its stored index disagrees with the file (${why}); rebuilding it by reading the stream. \`framebus recover\` rewrites the index.`);
    }
    return this.rebuild(stream);
  }

  /** Reads the stream indexes stored in the file once; a damaged record counts as absent. */
  private loadStored(): Promise<Map<string, StreamIndex>> {
    this.stored ??= (async () => {
      const out = new Map<string, StreamIndex>();
      try {
        for (const record of await this.source.metadata()) {
          const index = indexFromMetadata(record);
          if (index) out.set(index.name, index);
        }
      } catch (error) {
        this.warn(`${this.source.path}: stream indexes are unreadable (${(error as Error).message}); rebuilding them by scanning.`);
      }
      return out;
    })();
    return this.stored;
  }

  /** Reads all of a stream's packets; a damaged chunk's packets are left out, with a warning. */
  private async rebuild(stream: IndexableStream): Promise<StreamInfo> {
    const indexer = new StreamIndexer(stream.channel, stream.schemaName, stream.decode, await stream.codec());
    const segments = (await stream.cursor.segments()).length;
    for (let g = 0; g < segments; g++) {
      let list: Entry[];
      try {
        list = await stream.cursor.entries(g);
      } catch (error) {
        this.warn(`Stream ${stream.name}: ${(error as Error).message} Its packets there are left out.`);
        continue;
      }
      for (const e of list) indexer.add(e);
    }
    return { ...indexer.build()!, indexed: false };
  }
}
