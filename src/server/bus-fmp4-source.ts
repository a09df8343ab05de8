import type { Fmp4Receiver, Fmp4Source } from '../media/fmp4-source.js';
import { PacketFmp4Stream } from '../media/packet-fmp4.js';
import type { LiveFeeds, LiveVideoFeed } from './live-feeds.js';

/**
 * Every live video topic as fMP4, remuxed from its packets without re-encoding: each
 * receiver gets its own remuxer starting at the topic's cached GOP, then live packets.
 */
export function busFmp4Source(feeds: LiveFeeds): Fmp4Source {
  const videoFeeds = () => feeds.list().filter((f): f is LiveVideoFeed => f.kind === 'video');
  return {
    names: () => videoFeeds().map((f) => f.topic),
    subscribe(name: string, receiver: Fmp4Receiver) {
      const feed = videoFeeds().find((f) => f.topic === name);
      if (!feed) return undefined;
      const stream = new PacketFmp4Stream((kind, bytes, mimeType) => (kind === 'init' ? receiver.init(bytes, mimeType) : receiver.fragment(bytes)));
      let failed = false;
      const push = (packet: Parameters<PacketFmp4Stream['push']>[0]) => {
        if (failed) return;
        try {
          stream.push(packet);
        } catch (error) {
          failed = true;
          receiver.end(error as Error);
        }
      };
      // The cached GOP and the subscription in one tick: no packet lost or doubled.
      for (const packet of feed.cachedGop()) push(packet);
      const unsubscribe = feed.subscribe((packet) => push(packet));
      return () => {
        unsubscribe();
        stream.close();
      };
    },
  };
}
