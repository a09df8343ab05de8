import { DATA_CHANNELS, messageBytes, type DataChannelPair, type DataChannelPort } from '../bus/webrtc/datachannel-port.js';

/** The part of werift's RTCDataChannel the bench uses. */
interface WeriftChannel {
  label: string;
  readyState: string;
  bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  send(data: Buffer): void;
  close(): void;
  bufferedAmountLow: { subscribe(cb: () => void): void };
  onMessage: { subscribe(cb: (m: string | Buffer) => void): void };
  stateChanged: { subscribe(cb: (s: string) => void): void };
}

interface WeriftPeer {
  createDataChannel(label: string, options: object): WeriftChannel;
  onDataChannel: { subscribe(cb: (dc: WeriftChannel) => void): void };
  createOffer(): Promise<object>;
  createAnswer(): Promise<object>;
  setLocalDescription(d: object): Promise<unknown>;
  setRemoteDescription(d: object): Promise<unknown>;
  localDescription: object | undefined;
  close(): Promise<void>;
}

function port(dc: WeriftChannel): DataChannelPort {
  const closed: (() => void)[] = [];
  dc.stateChanged.subscribe((s) => {
    if (s === 'closed') for (const h of closed) h();
  });
  return {
    label: dc.label,
    maxMessageSize: 262_144,
    bufferedAmount: () => dc.bufferedAmount,
    send: (m) => dc.send(Buffer.from(m.buffer, m.byteOffset, m.byteLength)),
    onBufferedAmountLow: (threshold, onLow) => {
      dc.bufferedAmountLowThreshold = threshold;
      dc.bufferedAmountLow.subscribe(onLow);
    },
    onMessage: (handler) => dc.onMessage.subscribe((m) => handler(messageBytes(m))),
    onClosed: (handler) => void closed.push(handler),
    close: () => dc.close(),
  };
}

function opened(dc: WeriftChannel): Promise<void> {
  return new Promise((resolve) => {
    if (dc.readyState === 'open') resolve();
    else dc.stateChanged.subscribe((s) => s === 'open' && resolve());
  });
}

/**
 * Two werift peer connections in this process with framebus's two DataChannels, for the
 * bench only (werift is a devDependency). `undefined` when werift is not installed.
 */
export async function weriftPair(): Promise<{ a: DataChannelPair; b: DataChannelPair; close: () => Promise<void> } | undefined> {
  let werift: { RTCPeerConnection: new (config: object) => WeriftPeer };
  try {
    werift = (await import('werift')) as unknown as typeof werift;
  } catch {
    return undefined;
  }
  // Both advertise 256 KiB, as node-datachannel does, so both libraries carry the same frames.
  const pa = new werift.RTCPeerConnection({ maxMessageSize: 262_144 });
  const pb = new werift.RTCPeerConnection({ maxMessageSize: 262_144 });
  const remote = new Map<string, WeriftChannel>();
  const both = new Promise<void>((resolve) => {
    pb.onDataChannel.subscribe((dc) => {
      remote.set(dc.label, dc);
      if (remote.size === 2) resolve();
    });
  });
  const rel = pa.createDataChannel(DATA_CHANNELS.reliable.label, { ordered: true });
  const unrel = pa.createDataChannel(DATA_CHANNELS.unreliable.label, { ordered: false, maxRetransmits: 0 });
  await pa.setLocalDescription(await pa.createOffer());
  await pb.setRemoteDescription(pa.localDescription!);
  await pb.setLocalDescription(await pb.createAnswer());
  await pa.setRemoteDescription(pb.localDescription!);
  await Promise.all([opened(rel), opened(unrel), both]);
  const rb = remote.get(DATA_CHANNELS.reliable.label)!;
  const ub = remote.get(DATA_CHANNELS.unreliable.label)!;
  await Promise.all([opened(rb), opened(ub)]);
  return {
    a: { reliable: port(rel), unreliable: port(unrel) },
    b: { reliable: port(rb), unreliable: port(ub) },
    close: async () => {
      await Promise.all([pa.close(), pb.close()]);
    },
  };
}
