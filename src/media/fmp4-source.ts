import type { SegmentStreamer } from './segment-streamer.js';
import type { SegmentTimings } from './segment-types.js';

/** Receives one live fMP4 stream: the init segment once, then fragments, each starting decodable from the first. */
export interface Fmp4Receiver {
  init(bytes: Uint8Array, mimeType: string): void;
  fragment(bytes: Uint8Array): void;
  /** Timings of a packaged segment (generated streams only). */
  timings?(segment: number, timings: SegmentTimings): void;
  /** The stream ended, with the cause when it failed. */
  end(error?: Error): void;
}

/** Live fMP4 streams by name (a bus topic, a generated stream). */
export interface Fmp4Source {
  /** The names a receiver can subscribe to now. */
  names(): string[];
  /** Starts `receiver` at the newest key frame of stream `name`; undefined when there is no such stream. Returns the unsubscribe function. */
  subscribe(name: string, receiver: Fmp4Receiver): (() => void) | undefined;
}

/**
 * Serves a `SegmentStreamer`'s output to any number of late-joining receivers: it keeps the
 * init segment and the fragments of the current segment only (each segment starts with a key
 * frame), so a receiver that joins starts at the current segment and memory stays bounded.
 */
export class SegmentFeed implements Fmp4Source {
  private init: { bytes: Uint8Array; mimeType: string } | undefined;
  private current: Uint8Array[] = [];
  private currentSegment = -1;
  private readonly receivers = new Set<Fmp4Receiver>();
  private ended: { error?: Error } | undefined;

  constructor(
    private readonly name: string,
    streamer: SegmentStreamer,
  ) {
    streamer.on('init', (e) => {
      this.init = { bytes: e.bytes, mimeType: e.mimeType };
      for (const r of this.receivers) r.init(e.bytes, e.mimeType);
    });
    streamer.on('chunk', (e) => {
      if (e.segment !== this.currentSegment) {
        this.currentSegment = e.segment;
        this.current = [];
      }
      this.current.push(e.bytes);
      for (const r of this.receivers) r.fragment(e.bytes);
    });
    streamer.on('complete', (e) => {
      for (const r of this.receivers) r.timings?.(e.segment, e.timings);
    });
    streamer.on('error', (e) => this.finish(new Error(e.message)));
  }

  names(): string[] {
    return [this.name];
  }

  subscribe(name: string, receiver: Fmp4Receiver): (() => void) | undefined {
    if (name !== this.name) return undefined;
    if (this.ended) {
      receiver.end(this.ended.error);
      return () => {};
    }
    if (this.init) {
      receiver.init(this.init.bytes, this.init.mimeType);
      for (const bytes of this.current) receiver.fragment(bytes);
    }
    this.receivers.add(receiver);
    return () => this.receivers.delete(receiver);
  }

  /** Ends every receiver's stream (after the streamer closed). */
  finish(error?: Error): void {
    if (this.ended) return;
    this.ended = { error };
    for (const r of this.receivers) r.end(error);
    this.receivers.clear();
  }
}
