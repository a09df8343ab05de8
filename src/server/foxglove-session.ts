import foxglove, { type ChannelId, type IWebSocket } from '@foxglove/ws-protocol';
import type { WebSocket } from 'ws';
import type { ChannelDefinition } from './foxglove-channels.js';
import { SendGate, CLOSE_NOT_READING, type SendLimits } from './send-gate.js';

const { FoxgloveServer, ServerCapability, StatusLevel } = foxglove;

const STATUS_LEVELS = { info: StatusLevel.INFO, warning: StatusLevel.WARNING, error: StatusLevel.ERROR } as const;

/** WebSocket close code for a client message that does not follow the protocol. */
export const CLOSE_PROTOCOL_ERROR = 1008;

/** A JSON service a viewer can call, e.g. `seek` on a replay. */
export interface JsonService {
  /** Service name as advertised, e.g. `framebus/seek`. */
  readonly name: string;
  /** JSON Schema of the request object. */
  readonly requestSchema: object;
  /**
   * Handles one call. Its answer is sent as soon as it resolves, so a call with a large answer
   * should wait for {@link FoxgloveSession.room} first. A thrown error is sent back as a call
   * failure with its message while the socket has room (dropped otherwise); the client stays
   * connected.
   */
  call(request: unknown): Promise<unknown>;
}

/** What a session reports to its owner. */
export interface FoxgloveSessionEvents {
  /** The client subscribed to `channel` (once per channel until it unsubscribes). */
  onSubscribe?(channel: ChannelId): void;
  /** The client unsubscribed from `channel`, or left while subscribed. */
  onUnsubscribe?(channel: ChannelId): void;
  /** The connection closed, for whatever reason. */
  onClose?(): void;
}

/** How a session presents itself in the protocol's `serverInfo`. */
export interface FoxgloveSessionOptions {
  /** Server name shown by the Foxglove app. */
  readonly serverName: string;
  /** `serverInfo` metadata, e.g. `{ mode: 'live' }`. */
  readonly metadata: Record<string, string>;
  /** Offer JSON services (the `services` capability). */
  readonly services?: boolean;
  /** How much this viewer may leave unread, and for how long; defaults as in {@link SendLimits}. */
  readonly limits?: SendLimits;
  /** Receives one line when the session closes the viewer for not reading. */
  readonly log?: (message: string) => void;
}

/**
 * One viewer connected over the Foxglove WebSocket protocol. Each connection gets its own
 * `FoxgloveServer` from `@foxglove/ws-protocol`, so subscription events, late-join packets,
 * replay position and backpressure are per viewer. A client message the protocol library
 * cannot parse closes this connection only. Every send goes through a {@link SendGate}:
 * clock and status lines are dropped while the socket is over its limit, callers check
 * {@link hasRoom} or await {@link room} for the rest, and a viewer that stops reading is
 * closed with {@link CLOSE_NOT_READING}.
 */
export class FoxgloveSession {
  private readonly server: InstanceType<typeof FoxgloveServer>;
  private readonly subscriptions = new Set<ChannelId>();
  private readonly services = new Map<number, JsonService>();
  private readonly gate: SendGate;
  private open = true;

  constructor(
    private readonly ws: WebSocket,
    label: string,
    options: FoxgloveSessionOptions,
    private readonly events: FoxgloveSessionEvents = {},
  ) {
    this.server = new FoxgloveServer({
      name: options.serverName,
      capabilities: [ServerCapability.time, ...(options.services ? [ServerCapability.services] : [])],
      metadata: options.metadata,
    });
    this.gate = new SendGate(ws, options.limits ?? {}, (reason) => {
      options.log?.(`framebus: closed viewer ${label}: ${reason}`);
      this.close(CLOSE_NOT_READING, reason);
    });
    this.server.on('subscribe', (channel) => {
      this.subscriptions.add(channel);
      this.events.onSubscribe?.(channel);
    });
    this.server.on('unsubscribe', (channel) => {
      if (this.subscriptions.delete(channel)) this.events.onUnsubscribe?.(channel);
    });
    this.server.on('error', (error) => this.close(CLOSE_PROTOCOL_ERROR, `Bad client message: ${error.message}`));
    this.server.on('serviceCallRequest', (request) => void this.handleCall(request));
    ws.on('close', () => {
      this.open = false;
      this.gate.dispose();
      this.events.onClose?.();
    });
    ws.on('error', () => this.close(CLOSE_PROTOCOL_ERROR, 'WebSocket error'));
    this.server.handleConnection(ws as unknown as IWebSocket, label);
    this.gate.afterWrite();
    // Runs after the protocol library's handler, which may have answered (a status line).
    ws.on('message', () => this.gate.afterWrite());
  }

  /** False once the connection is closing or closed. */
  get isOpen(): boolean {
    return this.open && this.ws.readyState === this.ws.OPEN;
  }

  /** True while the viewer's socket holds no more than its limit of unsent bytes. */
  get hasRoom(): boolean {
    return this.isOpen && this.gate.hasRoom;
  }

  /** Resolves true once the socket has room for more (at once if it has), false if the viewer left first. */
  room(): Promise<boolean> {
    return this.isOpen ? this.gate.room() : Promise.resolve(false);
  }

  /** Advertises a channel to this viewer. */
  addChannel(channel: ChannelDefinition): ChannelId {
    const id = this.server.addChannel(channel);
    this.gate.afterWrite();
    return id;
  }

  /** Offers a JSON service to this viewer (needs `services: true`). */
  addService(service: JsonService): void {
    const json = (schema: object) => ({ encoding: 'json', schemaName: service.name, schemaEncoding: 'jsonschema', schema: JSON.stringify(schema) });
    const id = this.server.addService({
      name: service.name,
      type: service.name,
      request: json(service.requestSchema),
      response: json({ type: 'object' }),
    });
    this.services.set(id, service);
    this.gate.afterWrite();
  }

  /** True while the viewer is subscribed to `channel`. */
  isSubscribed(channel: ChannelId): boolean {
    return this.subscriptions.has(channel);
  }

  /**
   * Sends one message on `channel` if the viewer subscribes to it, whatever the socket holds:
   * callers check {@link hasRoom} first for what may be dropped, and await {@link room}
   * before an answer that may not.
   * @param logTime the message's log time, ns since the Unix epoch (for live: when the
   *   server received it from the bus).
   */
  send(channel: ChannelId, logTime: bigint, payload: Uint8Array): void {
    if (!this.isOpen) return;
    this.server.sendMessage(channel, logTime, payload as Uint8Array<ArrayBuffer>);
    this.gate.afterWrite();
  }

  /** Tells the viewer the server's current time, ns since the Unix epoch (dropped while the socket has no room). */
  sendTime(now: bigint): void {
    if (!this.hasRoom) return;
    this.server.broadcastTime(now);
    this.gate.afterWrite();
  }

  /**
   * Shows the viewer a status line (the Foxglove app lists these in its problems panel);
   * dropped while the socket has no room.
   */
  status(level: keyof typeof STATUS_LEVELS, message: string): void {
    if (!this.hasRoom) return;
    this.server.sendStatus({ level: STATUS_LEVELS[level], message });
    this.gate.afterWrite();
  }

  /** Closes the connection with a WebSocket close code and a short reason. */
  close(code = 1000, reason = ''): void {
    if (!this.open) return;
    this.open = false;
    // Close reasons are limited to 123 bytes by the WebSocket protocol.
    this.ws.close(code, Buffer.from(reason).subarray(0, 120).toString());
  }

  private async handleCall(request: { serviceId: number; callId: number; data: ArrayBufferView }): Promise<void> {
    const service = this.services.get(request.serviceId);
    if (!service) return;
    const connection = this.ws as unknown as IWebSocket;
    try {
      const text = Buffer.from(request.data.buffer, request.data.byteOffset, request.data.byteLength).toString();
      const response = await service.call(JSON.parse(text) as unknown);
      if (!this.isOpen) return;
      this.server.sendServiceCallResponse(
        { serviceId: request.serviceId, callId: request.callId, encoding: 'json', data: Buffer.from(JSON.stringify(response)) },
        connection,
      );
    } catch (error) {
      // A client flooding calls it does not read the answers to gets no failures either.
      if (!this.hasRoom) return;
      const message = error instanceof Error ? error.message : String(error);
      this.server.sendServiceCallFailure({ op: 'serviceCallFailure', serviceId: request.serviceId, callId: request.callId, message }, connection);
    }
    this.gate.afterWrite();
  }
}
