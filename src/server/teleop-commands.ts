import type { Bus } from '../bus/bus.js';
import type { Topic } from '../bus/topic.js';
import { nowNs } from '../core/time.js';
import { twistMessageType, type TwistMessage } from '../wire/messages.js';

/** Counters of a {@link TeleopCommands}. */
export interface TeleopCommandStats {
  /** Commands received from players. */
  received: number;
  /** Commands published on the bus, zero commands for dropped sessions included. */
  published: number;
  /** Messages dropped: not a `twist_t` (wrong size or fingerprint) or not finite numbers. */
  malformed: number;
  /** Zero commands published because a session that was moving ended (dead-man). */
  deadman: number;
}

/** Where a WHEP session hands the operator's messages. */
export interface CommandSink {
  /** One DataChannel message of session `sessionId`. */
  accept(sessionId: string, message: Uint8Array): void;
  /** Session `sessionId` ended (DELETE, ICE failure, disconnect). */
  ended(sessionId: string): void;
}

const ZERO = [0, 0, 0];

/**
 * Publishes operators' `framebus.twist_t` commands (LCM encoding, from the viewer's teleop
 * panel) on a bus topic, restamped with the server's receive time so a robot can judge their
 * age on one clock. A session that ends while its last command was moving gets a zero
 * command published for it (the dead-man the browser cannot send once it is gone).
 */
export class TeleopCommands implements CommandSink {
  readonly stats: TeleopCommandStats = { received: 0, published: 0, malformed: 0, deadman: 0 };
  private readonly out: Topic<TwistMessage>;
  private readonly moving = new Set<string>();

  constructor(
    bus: Bus,
    /** The topic the commands are published on. */
    readonly topic: string,
  ) {
    this.out = bus.topic(topic, twistMessageType);
  }

  accept(sessionId: string, message: Uint8Array): void {
    this.stats.received++;
    let twist: TwistMessage;
    try {
      twist = twistMessageType.decode(message);
    } catch {
      this.stats.malformed++;
      return;
    }
    if (![...twist.linear, ...twist.angular].every(Number.isFinite)) {
      this.stats.malformed++;
      return;
    }
    if ([...twist.linear, ...twist.angular].some((v) => v !== 0)) this.moving.add(sessionId);
    else this.moving.delete(sessionId);
    this.publish(twist.linear, twist.angular);
  }

  ended(sessionId: string): void {
    if (!this.moving.delete(sessionId)) return;
    this.stats.deadman++;
    this.publish(ZERO, ZERO);
  }

  private publish(linear: number[], angular: number[]): void {
    this.stats.published++;
    this.out.publish({ timestamp_ns: nowNs(), linear, angular }).catch(() => undefined);
  }
}
