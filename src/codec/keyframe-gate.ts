/** Why a decoder is waiting for a key packet. */
export type WaitReason = 'start' | 'gap' | 'corrupt';

/** What a gate reports when it closes. */
export interface WaitingEvent {
  readonly reason: WaitReason;
  /** Sequence of the packet that closed the gate (or the first packet seen). */
  readonly sequence: number;
  /** For `gap`: the sequence that was expected instead. */
  readonly expected?: number;
  /** For `corrupt`: what was wrong. */
  readonly error?: Error;
}

/**
 * Decides which packets may reach a decoder so that it never shows a broken picture: from
 * the start, after a sequence gap, and after a corrupt packet, nothing passes until the next
 * key packet. Pure logic, no codec inside.
 */
export class KeyframeGate {
  private open = false;
  private lastSequence: number | undefined;
  private reported = false;
  private readonly listeners = new Set<(event: WaitingEvent) => void>();

  /** True while packets are held back until a key packet arrives. */
  get waiting(): boolean {
    return !this.open;
  }

  /** Calls `listener` each time the gate closes (once per wait). Returns an unsubscribe function. */
  onWaiting(listener: (event: WaitingEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private close(event: WaitingEvent): void {
    this.open = false;
    if (this.reported) return;
    this.reported = true;
    for (const l of this.listeners) l(event);
  }

  /**
   * Decides whether `packet` may be decoded, updating the gate.
   * @returns true to decode it; false to drop it.
   */
  admit(packet: { key: boolean; sequence: number }): boolean {
    const expected = this.lastSequence === undefined ? undefined : this.lastSequence + 1;
    this.lastSequence = packet.sequence;
    if (this.open && expected !== undefined && packet.sequence !== expected) {
      this.close({ reason: 'gap', sequence: packet.sequence, expected });
    }
    if (!this.open) {
      if (!packet.key) {
        this.close({ reason: expected === undefined && !this.reported ? 'start' : 'gap', sequence: packet.sequence, expected });
        return false;
      }
      this.open = true;
      this.reported = false;
    }
    return true;
  }

  /** Closes the gate because a packet turned out to be corrupt. */
  reject(sequence: number, error: Error): void {
    this.close({ reason: 'corrupt', sequence, error });
  }

  /** Forgets the stream position, as after a seek: the next key packet opens the gate. */
  reset(): void {
    this.open = false;
    this.lastSequence = undefined;
    this.reported = false;
  }
}
