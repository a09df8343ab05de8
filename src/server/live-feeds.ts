import type { CompressedImage } from '../core/compressed-image.js';
import type { VideoPacket } from '../core/packet.js';

/** Stops a feed subscription. */
export type Unsubscribe = () => void;

/** A live video topic as the server sees it. */
export interface LiveVideoFeed {
  readonly kind: 'video';
  readonly topic: string;
  /**
   * Calls `onPacket` for every packet published from now on, in order.
   * @param onPacket receives the packet and when it reached this process, ns since the Unix epoch.
   */
  subscribe(onPacket: (packet: VideoPacket, receivedAt: bigint) => void): Unsubscribe;
  /**
   * The packets from the newest key packet up to the newest packet, oldest first (empty
   * before the first key packet), so a new viewer can draw the current picture at once.
   */
  cachedGop(): readonly VideoPacket[];
  /**
   * Asks the topic's publisher for a key packet (a WebRTC player lost pictures); the
   * publisher forces at most one per its keyframe interval. Absent: nothing to ask.
   */
  requestKeyframe?(): void;
}

/** A live topic of JPEG/PNG images. */
export interface LiveImageFeed {
  readonly kind: 'image';
  readonly topic: string;
  /** Calls `onImage` for every image published from now on. */
  subscribe(onImage: (image: CompressedImage, receivedAt: bigint) => void): Unsubscribe;
  /** The newest image, for a viewer that joins late. */
  latest(): CompressedImage | undefined;
}

/** A live topic of other messages (commands such as velocity), forwarded as JSON. */
export interface LiveMessageFeed {
  readonly kind: 'message';
  readonly topic: string;
  /** Schema name shown to viewers, e.g. `framebus.twist_t`. */
  readonly schemaName: string;
  /** JSON Schema of the messages. */
  readonly schema: object;
  /** Calls `onMessage` with every message as a JSON-serialisable object. */
  subscribe(onMessage: (message: unknown, receivedAt: bigint) => void): Unsubscribe;
}

export type LiveFeed = LiveVideoFeed | LiveImageFeed | LiveMessageFeed;

/** The topics a live server publishes; new ones may appear while it runs. */
export interface LiveFeeds {
  /** The feeds known now. */
  list(): readonly LiveFeed[];
  /** Calls `onFeed` for every feed that appears from now on. */
  onFeed(onFeed: (feed: LiveFeed) => void): Unsubscribe;
  /** Releases what the feeds hold (subscriptions on the bus). */
  close(): Promise<void>;
}
