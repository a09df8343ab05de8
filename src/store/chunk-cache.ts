import { ByteLru } from './byte-lru.js';
import type { FrameIdChannels } from './frame-id-channels.js';
import type { McapSource } from './mcap-source.js';

/** One stored message of a stream, not yet decoded. */
export interface Entry {
  /** MCAP log time, ns since the Unix epoch: the item's timestamp. */
  readonly logTime: bigint;
  readonly sequence: number;
  readonly data: Uint8Array;
  /** From the frame-id side channel when it states one, else the sequence number. */
  readonly frameId: number;
}

const byTime = (a: Entry, b: Entry) => (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0);

/**
 * Parsed chunks of a recording, each as its streams' entries in time order, kept in one
 * byte-bounded LRU so nearby reads skip the file. A chunk being read is read once however
 * many requests want it at the same time.
 */
export class ChunkCache {
  /** By chunk position (one chunk, every channel) or `channel:positions` (several chunks merged). */
  private readonly lru: ByteLru<string, Map<number, Entry[]>>;
  private readonly loading = new Map<string, Promise<Map<number, Entry[]>>>();

  /** @param limit Bytes of message payload held at most. */
  constructor(
    private readonly source: McapSource,
    private readonly frameIds: FrameIdChannels,
    limit: number,
  ) {
    this.lru = new ByteLru(limit);
  }

  /** Payload bytes held now, never above the limit. */
  get bytes(): number {
    return this.lru.bytes;
  }

  /**
   * Entries of `channelId` in the chunks at `positions`, merged in time order.
   * @throws MalformedDataError when one of the chunks is damaged.
   */
  async entries(positions: readonly number[], channelId: number): Promise<Entry[]> {
    if (positions.length === 1) return (await this.load(String(positions[0]), () => this.parse(positions[0]))).get(channelId) ?? [];
    const key = `${channelId}:${positions.join(',')}`;
    return (await this.load(key, () => this.merge(positions, channelId))).get(channelId) ?? [];
  }

  private async load(key: string, make: () => Promise<{ byChannel: Map<number, Entry[]>; bytes: number }>): Promise<Map<number, Entry[]>> {
    const cached = this.lru.get(key);
    if (cached) return cached;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = make().then(
        ({ byChannel, bytes }) => {
          this.loading.delete(key);
          this.lru.set(key, byChannel, bytes);
          return byChannel;
        },
        (error: unknown) => {
          this.loading.delete(key);
          throw error;
        },
      );
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async merge(positions: readonly number[], channelId: number): Promise<{ byChannel: Map<number, Entry[]>; bytes: number }> {
    const merged: Entry[] = [];
    for (const p of positions) merged.push(...(await this.entries([p], channelId)));
    merged.sort(byTime);
    return { byChannel: new Map([[channelId, merged]]), bytes: merged.reduce((n, e) => n + e.data.byteLength, 0) };
  }

  private async parse(position: number): Promise<{ byChannel: Map<number, Entry[]>; bytes: number }> {
    const messages = await this.source.loadChunk(position);
    /** Frame ids stated by side messages, by stream channel, keyed `logTime/sequence`. */
    const stated = new Map<number, Map<string, number>>();
    for (const m of messages) {
      const stream = this.frameIds.streamOf(m.channelId);
      const decoded = stream !== undefined ? this.frameIds.decode(m.channelId, m.data) : undefined;
      if (stream === undefined || !decoded) continue;
      let ids = stated.get(stream);
      if (!ids) stated.set(stream, (ids = new Map()));
      ids.set(`${m.logTime}/${decoded.sequence}`, decoded.frameId);
    }
    const byChannel = new Map<number, Entry[]>();
    let bytes = 0;
    for (const m of messages) {
      if (this.frameIds.streamOf(m.channelId) !== undefined) continue;
      let list = byChannel.get(m.channelId);
      if (!list) byChannel.set(m.channelId, (list = []));
      const frameId = stated.get(m.channelId)?.get(`${m.logTime}/${m.sequence}`) ?? m.sequence;
      list.push({ logTime: m.logTime, sequence: m.sequence, data: m.data, frameId });
      bytes += m.data.byteLength;
    }
    for (const list of byChannel.values()) list.sort(byTime);
    return { byChannel, bytes };
  }

  clear(): void {
    this.lru.clear();
  }
}
