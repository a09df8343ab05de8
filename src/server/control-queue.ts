import { FramebusError, InvalidArgumentError, TransportError } from '../core/errors.js';

/** A queued call that a later one made pointless (an older seek) and that therefore never ran. */
export class SupersededError extends FramebusError {
  constructor(message = 'Superseded by a later seek before it ran.') {
    super('superseded', message);
  }
}

/** How a call relates to the calls waiting before it. */
export interface QueueMode {
  /** A later superseding call may drop this one while it waits (a seek). */
  readonly supersedable?: boolean;
  /** Drops the supersedable calls waiting at the end of the queue (an absolute seek). */
  readonly supersedes?: boolean;
}

interface Job {
  readonly call: () => Promise<unknown>;
  readonly mode: QueueMode;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * One viewer's control calls (seek, play, pause…), run one at a time in arrival order, each
 * only once the viewer's socket has room for its answer. While calls wait, a superseding call
 * drops the supersedable ones queued right before it, so a burst of seeks costs one answer
 * (the latest); other calls wait in a queue of bounded length.
 */
export class ControlQueue {
  private readonly waiting: Job[] = [];
  private running = false;
  private closed = false;

  /**
   * @param room resolves true when the socket has room for an answer, false when the viewer left.
   * @param maxWaiting most calls waiting at once; more are refused.
   */
  constructor(
    private readonly room: () => Promise<boolean>,
    private readonly maxWaiting = 16,
  ) {}

  /**
   * Queues `call`; the result settles as the call does once it has run.
   * @throws (rejects) SupersededError when a later call dropped it, InvalidArgumentError when
   *   too many calls wait, TransportError when the viewer left first.
   */
  push<T>(call: () => Promise<T>, mode: QueueMode = {}): Promise<T> {
    if (this.closed) return Promise.reject(new TransportError('The viewer has left.'));
    if (mode.supersedes) {
      while (this.waiting.at(-1)?.mode.supersedable) this.waiting.pop()!.reject(new SupersededError());
    }
    if (this.waiting.length >= this.maxWaiting) {
      return Promise.reject(new InvalidArgumentError(`Too many requests at once (${this.maxWaiting} waiting); wait for the answers.`));
    }
    const result = new Promise<T>((resolve, reject) => this.waiting.push({ call, mode, resolve: resolve as (v: unknown) => void, reject }));
    void this.drain();
    return result;
  }

  /** Refuses new calls and rejects the waiting ones; a running call finishes. */
  close(): void {
    this.closed = true;
    for (const job of this.waiting.splice(0)) job.reject(new TransportError('The viewer left before the call ran.'));
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        // Room is awaited before a call leaves the queue, so newer calls can still supersede it.
        if (!(await this.room())) {
          this.close();
          break;
        }
        const job = this.waiting.shift();
        if (!job) break;
        try {
          job.resolve(await job.call());
        } catch (error) {
          job.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      this.running = false;
    }
  }
}
