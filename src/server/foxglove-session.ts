import foxglove, { type ChannelId, type IWebSocket } from '@foxglove/ws-protocol';
import type { WebSocket } from 'ws';
import type { ChannelDefinition } from './foxglove-channels.js';

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
   * Handles one call. A thrown error is sent back as a call failure with its message; the
   * client stays connected.
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
}

/**
 * One viewer connected over the Foxglove WebSocket protocol. Each connection gets its own
 * `FoxgloveServer` from `@foxglove/ws-protocol`, so subscription events, late-join packets,
 * replay position and backpressure are per viewer. A client message the protocol library
 * cannot parse closes this connection only.
 */
export class FoxgloveSession {
  private readonly server: InstanceType<typeof FoxgloveServer>;
  private readonly subscriptions = new Set<ChannelId>();
  private readonly services = new Map<number, JsonService>();
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
      this.events.onClose?.();
    });
    ws.on('error', () => this.close(CLOSE_PROTOCOL_ERROR, 'WebSocket error'));
    this.server.handleConnection(ws as unknown as IWebSocket, label);
  }

  /** False once the connection is closing or closed. */
  get isOpen(): boolean {
    return this.open && this.ws.readyState === this.ws.OPEN;
  }

  /** Bytes queued on the socket and not yet handed to the network. */
  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /** Advertises a channel to this viewer. */
  addChannel(channel: ChannelDefinition): ChannelId {
    return this.server.addChannel(channel);
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
  }

  /** True while the viewer is subscribed to `channel`. */
  isSubscribed(channel: ChannelId): boolean {
    return this.subscriptions.has(channel);
  }

  /**
   * Sends one message on `channel` if the viewer subscribes to it.
   * @param logTime the message's log time, ns since the Unix epoch (for live: when the
   *   server received it from the bus).
   */
  send(channel: ChannelId, logTime: bigint, payload: Uint8Array): void {
    if (this.isOpen) this.server.sendMessage(channel, logTime, payload as Uint8Array<ArrayBuffer>);
  }

  /** Tells the viewer the server's current time, ns since the Unix epoch. */
  sendTime(now: bigint): void {
    if (this.isOpen) this.server.broadcastTime(now);
  }

  /** Shows the viewer a status line (the Foxglove app lists these in its problems panel). */
  status(level: keyof typeof STATUS_LEVELS, message: string): void {
    if (this.isOpen) this.server.sendStatus({ level: STATUS_LEVELS[level], message });
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
      if (!this.isOpen) return;
      const message = error instanceof Error ? error.message : String(error);
      this.server.sendServiceCallFailure({ op: 'serviceCallFailure', serviceId: request.serviceId, callId: request.callId, message }, connection);
    }
  }
}
