import type { ChannelId } from '@foxglove/ws-protocol';
import { readTelemetry, type RecordedTelemetry } from '../store/telemetry-channel.js';
import { jsonChannel } from './foxglove-channels.js';
import type { FoxgloveSession } from './foxglove-session.js';

/** Messages sent per channel after a seek: enough history for the viewer's plot. */
const HISTORY = 300;

interface Lane {
  readonly channel: ChannelId;
  readonly recorded: RecordedTelemetry;
  /** Index of the first message not sent yet. */
  next: number;
}

/** Index of the first message after `t`. */
function after(messages: RecordedTelemetry['messages'], t: bigint): number {
  let lo = 0;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (messages[mid].logTime <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The typed telemetry channels of a recording in a replay session: advertised as JSON
 * channels with their JSON Schema, the recent history sent on a seek, and the messages up to
 * the playback position sent while playing.
 */
export class ReplayTelemetry {
  private constructor(
    private readonly session: FoxgloveSession,
    private readonly lanes: Lane[],
  ) {}

  /** Reads the telemetry of the recording at `path` and advertises its channels; none when unreadable. */
  static async open(path: string, session: FoxgloveSession): Promise<ReplayTelemetry> {
    const recorded = await readTelemetry(path).catch(() => []);
    const lanes = recorded.map((r) => ({ channel: session.addChannel(jsonChannel(r.topic, r.typeName, r.schema)), recorded: r, next: 0 }));
    return new ReplayTelemetry(session, lanes);
  }

  /** After a seek to `t`: each channel's last messages at or before `t`. */
  seek(t: bigint): void {
    for (const lane of this.lanes) {
      const end = after(lane.recorded.messages, t);
      lane.next = Math.max(0, end - HISTORY);
      this.advance(t, lane);
    }
  }

  /** While playing at `t`: the messages up to `t` not sent yet. */
  advance(t: bigint, only?: Lane): void {
    for (const lane of only ? [only] : this.lanes) {
      const { messages } = lane.recorded;
      while (lane.next < messages.length && messages[lane.next].logTime <= t) {
        const m = messages[lane.next++];
        this.session.send(lane.channel, m.logTime, Buffer.from(m.json));
      }
    }
  }
}
