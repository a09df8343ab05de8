import { FoxgloveClient, type Channel, type Service } from '@foxglove/ws-protocol';
import { adoptSocket } from './early-socket.js';
import { ServerClock } from './server-clock.js';

/** One message as delivered on a subscribed channel. */
export interface ChannelMessage {
  readonly channel: Channel;
  /** Log time: when the server received the message (live) or recorded it (replay), ns since the Unix epoch. */
  readonly logTime: bigint;
  readonly data: Uint8Array;
}

/** What the page hears from the server. */
export interface ConnectionEvents {
  /** The server said who it is; `metadata.mode` is `'live'` or `'replay'`. */
  onServerInfo?(metadata: Record<string, string>): void;
  /** A new channel is available. */
  onChannel?(channel: Channel): void;
  /** A message on a channel this page subscribed to. */
  onMessage?(message: ChannelMessage): void;
  /** The server reports a problem (e.g. a damaged recording). */
  onProblem?(message: string): void;
  /** The connection closed; `reason` says why when the server gave one. */
  onClose?(code: number, reason: string): void;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Current time on this machine's wall clock, ns since the Unix epoch (sub-ms precision). */
export function localNowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

/**
 * The page's side of the Foxglove WebSocket protocol (`FoxgloveClient` from
 * `@foxglove/ws-protocol`): channels, subscriptions, JSON service calls, and the protocol's
 * time messages as samples of the server clock. It adopts the socket `index.html` opened
 * while the page loaded when that one went to `url`.
 */
export class Connection {
  private readonly client: FoxgloveClient;
  private readonly channels = new Map<number, Channel>();
  private readonly bySubscription = new Map<number, Channel>();
  private readonly services = new Map<string, Service>();
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextCallId = 1;
  /** The server's clock as the time messages (and, in live mode, the viewer's round trips) bound it. */
  readonly clock = new ServerClock();

  constructor(url: string, events: ConnectionEvents) {
    const socket = adoptSocket(url, FoxgloveClient.SUPPORTED_SUBPROTOCOL);
    this.client = new FoxgloveClient({ ws: socket.ws });
    this.client.on('close', (e) => events.onClose?.(e.code, e.reason));
    this.client.on('serverInfo', (info) => events.onServerInfo?.(info.metadata ?? {}));
    this.client.on('advertise', (channels) => {
      for (const channel of channels) {
        this.channels.set(channel.id, channel);
        events.onChannel?.(channel);
      }
    });
    this.client.on('status', (status) => {
      if (status.level >= 2) events.onProblem?.(status.message);
    });
    this.client.on('advertiseServices', (services) => {
      for (const service of services) this.services.set(service.name, service);
    });
    this.client.on('time', ({ timestamp }) => this.clock.heard(timestamp, localNowNs()));
    this.client.on('message', ({ subscriptionId, timestamp, data }) => {
      const channel = this.bySubscription.get(subscriptionId);
      if (channel) events.onMessage?.({ channel, logTime: timestamp, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    });
    this.client.on('serviceCallResponse', ({ callId, data }) => {
      const call = this.pending.get(callId);
      if (!call) return;
      this.pending.delete(callId);
      try {
        call.resolve(JSON.parse(decoder.decode(data)));
      } catch (error) {
        call.reject(error as Error);
      }
    });
    this.client.on('serviceCallFailure', ({ callId, message }) => {
      this.pending.get(callId)?.reject(new Error(message));
      this.pending.delete(callId);
    });
    // Events that arrived while the page loaded are delivered once the caller holds this
    // Connection (a microtask: no newer socket event can run before it).
    queueMicrotask(() => socket.replay());
  }

  /** Closes the connection (no `onClose` reason beyond the code). */
  close(): void {
    this.client.close();
  }

  /** Starts receiving messages of `channel`. */
  subscribe(channel: Channel): void {
    this.bySubscription.set(this.client.subscribe(channel.id), channel);
  }

  /** True once the server offered a service of this name. */
  hasService(name: string): boolean {
    return this.services.has(name);
  }

  /**
   * Calls a JSON service and resolves with its response.
   * @throws Error with the server's message when the call fails or the service is unknown.
   */
  async call<T>(name: string, request: object): Promise<T> {
    const service = this.services.get(name);
    if (!service) throw new Error(`The server offers no service ${name}.`);
    const callId = this.nextCallId++;
    const result = new Promise<T>((resolve, reject) => this.pending.set(callId, { resolve: resolve as (v: unknown) => void, reject }));
    this.client.sendServiceCallRequest({ serviceId: service.id, callId, encoding: 'json', data: encoder.encode(JSON.stringify(request)) });
    return result;
  }
}
