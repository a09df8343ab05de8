import type { ChannelId } from '@foxglove/ws-protocol';
import type { WebSocket } from 'ws';
import type { Bus } from '../bus/bus.js';
import { nowNs } from '../core/time.js';
import { BusFeeds, type BusFeedsOptions } from './bus-feeds.js';
import { compressedImageMessage, imageChannel, jsonChannel, videoChannel } from './foxglove-channels.js';
import { FoxgloveSession } from './foxglove-session.js';
import type { LiveFeed, LiveFeeds, Unsubscribe } from './live-feeds.js';
import { VideoForwarder } from './video-forwarder.js';
import { busFmp4Source } from './bus-fmp4-source.js';
import { fmp4SocketRoute, liveMp4Route } from './fmp4-routes.js';
import { TeleopCommands } from './teleop-commands.js';
import { webrtcRoutes, type WebRtcEndpoints, type WebRtcRoutesOptions } from './webrtc-routes.js';
import { ViewerServer, type ViewerServerHandle, type ViewerServerOptions } from './viewer-server.js';

/**
 * Options of {@link serveLiveFeeds}. Above `maxBufferedBytes` unsent to a viewer, its video
 * skips to the next key packet and its images and messages are dropped, so a slow viewer
 * never holds up the others.
 */
export interface LiveFeedServerOptions extends ViewerServerOptions {
  /** WHEP/WHIP endpoints (see `webrtcRoutes`); `false` turns them off. Default on. */
  webrtc?: WebRtcRoutesOptions | false;
}

/** Options of {@link startLiveServer}. */
export interface LiveServerOptions extends LiveFeedServerOptions {
  /** The bus whose video, image and command topics are served. The caller keeps owning it. */
  bus: Bus;
  /** Serve only these topics (exact names); default every topic that appears. */
  topics?: readonly string[];
  /** Message types (e.g. `loadLcmTypes(…).types`) served as telemetry besides framebus's own. */
  types?: BusFeedsOptions['types'];
  /** At most this many topics are served; more are refused with a warning. Default 256. */
  maxFeeds?: number;
  /**
   * Publish operators' teleop commands (`framebus.twist_t` from WHEP players' DataChannels)
   * on this topic; default none (the viewer shows no teleop panel).
   */
  commands?: string;
}

/** A running live server. */
export interface LiveServerHandle extends ViewerServerHandle {
  /** The WHEP/WHIP endpoints and their open sessions; undefined with `webrtc: false`. */
  readonly webrtc: WebRtcEndpoints | undefined;
  /** The teleop command publisher, when `commands` names a topic. */
  readonly commands?: TeleopCommands;
}

const encoder = new TextEncoder();

/** Interval of the clock messages that let viewers compute latency, ms. */
const CLOCK_INTERVAL_MS = 1000;
/** Extra clock samples after a viewer connects, ms after. */
const CLOCK_WARMUP_MS = [100, 250, 500];

/** The state of one connected viewer. */
class LiveViewer {
  private readonly session: FoxgloveSession;
  private readonly feedOf = new Map<ChannelId, LiveFeed>();
  private readonly active = new Map<ChannelId, Unsubscribe>();
  private readonly warmup: NodeJS.Timeout[];

  constructor(ws: WebSocket, label: string, feeds: readonly LiveFeed[], options: LiveFeedServerOptions, onClose: () => void) {
    this.session = new FoxgloveSession(
      ws,
      label,
      { serverName: 'framebus live', metadata: { mode: 'live' }, limits: options, log: options.log },
      {
        onSubscribe: (channel) => this.start(channel),
        onUnsubscribe: (channel) => this.stop(channel),
        onClose: () => {
          for (const timer of this.warmup) clearTimeout(timer);
          for (const channel of [...this.active.keys()]) this.stop(channel);
          onClose();
        },
      },
    );
    this.tick();
    // The page estimates the server clock from the largest (least delayed) time sample; the
    // first one often waits while the page is still starting, so a few quick ones follow
    // before the steady ticks (else the first second's latencies read up to ~100 ms low).
    this.warmup = CLOCK_WARMUP_MS.map((ms) => setTimeout(() => this.tick(), ms).unref());
    for (const feed of feeds) this.advertise(feed);
  }

  /** Sends the server clock. */
  tick(): void {
    this.session.sendTime(nowNs());
  }

  advertise(feed: LiveFeed): void {
    const channel =
      feed.kind === 'video' ? videoChannel(feed.topic) : feed.kind === 'image' ? imageChannel(feed.topic) : jsonChannel(feed.topic, feed.schemaName, feed.schema);
    this.feedOf.set(this.session.addChannel(channel), feed);
  }

  close(): void {
    this.session.close(1001, 'Server is shutting down');
  }

  private start(channel: ChannelId): void {
    const feed = this.feedOf.get(channel);
    if (!feed || this.active.has(channel)) return;
    const session = this.session;
    if (feed.kind === 'video') {
      const forwarder = new VideoForwarder(session, channel, feed.topic);
      // Late join: the cached GOP first, then live packets; both in this tick, so none is lost or doubled.
      const now = nowNs();
      for (const packet of feed.cachedGop()) forwarder.push(packet, now);
      this.active.set(channel, feed.subscribe((packet, receivedAt) => forwarder.push(packet, receivedAt)));
    } else if (feed.kind === 'image') {
      const latest = feed.latest();
      if (latest && session.hasRoom) session.send(channel, nowNs(), compressedImageMessage(latest, feed.topic));
      this.active.set(
        channel,
        feed.subscribe((image, receivedAt) => {
          if (session.hasRoom) session.send(channel, receivedAt, compressedImageMessage(image, feed.topic));
        }),
      );
    } else {
      this.active.set(
        channel,
        feed.subscribe((message, receivedAt) => {
          if (session.hasRoom) session.send(channel, receivedAt, encoder.encode(JSON.stringify(message)));
        }),
      );
    }
  }

  private stop(channel: ChannelId): void {
    this.active.get(channel)?.();
    this.active.delete(channel);
  }
}

/**
 * Serves live feeds to viewers over the Foxglove WebSocket protocol, with the viewer page
 * on the same port. A viewer that subscribes to a video topic gets the cached GOP first, so
 * it draws the current picture at once. The caller keeps owning `feeds`.
 */
export async function serveLiveFeeds(feeds: LiveFeeds, options: LiveFeedServerOptions = {}): Promise<LiveServerHandle> {
  const viewers = new Set<LiveViewer>();
  const fmp4 = busFmp4Source(feeds);
  const webrtc = options.webrtc === false ? undefined : webrtcRoutes(feeds, { bindAddress: options.host ?? '127.0.0.1', ...options.webrtc });
  const server = await ViewerServer.listen(options, {
    http: [liveMp4Route(fmp4)],
    sockets: [fmp4SocketRoute(fmp4)],
    methods: webrtc?.routes,
    // `clock`: the server's clock for the page's round trips (its latency figures need the offset).
    api: async (path) =>
      path === 'info'
        ? { mode: 'live', topics: feeds.list().map((f) => ({ topic: f.topic, kind: f.kind })), commands: (options.webrtc && options.webrtc.commandsTopic) ?? null }
        : path === 'clock'
          ? { now_ns: nowNs().toString() }
          : undefined,
    connect: (ws, _url, label) => {
      const viewer = new LiveViewer(ws, label, feeds.list(), options, () => viewers.delete(viewer));
      viewers.add(viewer);
    },
  });
  const stopFeeds = feeds.onFeed((feed) => {
    for (const viewer of viewers) viewer.advertise(feed);
  });
  const clock = setInterval(() => {
    for (const viewer of viewers) viewer.tick();
  }, CLOCK_INTERVAL_MS);
  clock.unref();
  return {
    url: server.url,
    token: server.token,
    webrtc,
    close: async () => {
      clearInterval(clock);
      stopFeeds();
      webrtc?.close();
      for (const viewer of viewers) viewer.close();
      await server.close();
    },
  };
}

/**
 * Serves every video, image and command topic of `bus` (or only `topics`) to viewers:
 * the viewer page at the returned URL, the Foxglove WebSocket protocol on the same port (the
 * Foxglove app connects to `ws://host:port`). Listens on 127.0.0.1 unless `host` says
 * otherwise; a non-loopback host requires the returned token. `close()` stops the server
 * and its bus subscriptions, not the bus.
 */
export async function startLiveServer(options: LiveServerOptions): Promise<LiveServerHandle> {
  const feeds = new BusFeeds(options.bus, { topics: options.topics, types: options.types, maxFeeds: options.maxFeeds });
  const commands = options.commands !== undefined && options.webrtc !== false ? new TeleopCommands(options.bus, options.commands) : undefined;
  try {
    const webrtc = options.webrtc === false ? false : { publishTo: options.bus, ...options.webrtc, ...(commands ? { commands, commandsTopic: commands.topic } : {}) };
    const handle = await serveLiveFeeds(feeds, { ...options, webrtc });
    return {
      url: handle.url,
      token: handle.token,
      webrtc: handle.webrtc,
      commands,
      close: async () => {
        await handle.close();
        await feeds.close();
      },
    };
  } catch (error) {
    await feeds.close();
    throw error;
  }
}
