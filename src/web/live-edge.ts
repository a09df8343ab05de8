/**
 * Holds an MSE `<video>` a set distance behind the live edge by nudging `playbackRate`.
 *
 * What it controls is the trough of the buffer: how far the buffered media reaches past the
 * playhead just before the next fragment lands, the lowest it gets (over the last second). With audio this must stay
 * above what Chromium's audio path holds beyond `currentTime` (about 0.1 s headless): when
 * the audio renderer runs dry it stalls, and then it waits for twice as much audio as before
 * it resumes (200 ms, then 400, 800…), which is what put 0.5–0.6 s of latency on a stream
 * that chased the edge at a fixed 1.25x. So the rate eases the trough down to the target and
 * slows below 1x when it falls under it, and a stall raises the target rather than repeating.
 * Video alone has no such penalty: it chases the edge at 1.25x.
 */

/** How long troughs are remembered, ms: their median over several fragments is steered, so one early or late fragment moves nothing. */
const WINDOW_MS = 1000;
/** Playback rates used: small steps that Chromium's time-stretching keeps unobtrusive. */
const MIN_RATE = 0.95;
const MAX_RATE = 1.25;
const RATE_STEP = 0.05;
/** Rate above 1 per second of excess trough. */
const GAIN = 2;
/** Seconds added to the target after a stall, and the most it grows to. */
const STALL_STEP_S = 0.05;
const MAX_TARGET_S = 1;

export class LiveEdgeControl {
  private readonly troughs: { at: number; ahead: number }[] = [];

  /**
   * @param target seconds of media buffered past the playhead at the lowest, just before a fragment lands.
   * @param audio the stream has audio: only then does a stall cost more than the wait itself (video alone resumes at once).
   */
  constructor(
    private readonly video: HTMLVideoElement,
    private target: number,
    private readonly audio: boolean,
  ) {}

  /** The seconds it currently aims for (grows after stalls). */
  get targetS(): number {
    return this.target;
  }

  /** A fragment is about to be appended; `end` is the buffered end (s) before it. */
  beforeAppend(end: number): void {
    // Before the first frame plays and while it rebuffers there is nothing to steer.
    if (!this.audio || this.video.paused || this.video.readyState < HTMLMediaElement.HAVE_FUTURE_DATA) return;
    const now = performance.now();
    this.troughs.push({ at: now, ahead: end - this.video.currentTime });
    while (this.troughs.length > 0 && this.troughs[0].at < now - WINDOW_MS) this.troughs.shift();
    const sorted = this.troughs.map((t) => t.ahead).sort((a, b) => a - b);
    const typical = sorted[Math.floor(sorted.length / 2)] - this.target;
    // Faster only while even the lowest recent trough is above the target, so a late fragment
    // costs no stall; proportional (50 ms too much → 1.1x); slower than real time below it.
    const spare = sorted[0] - this.target;
    const wanted = typical < -RATE_STEP / 2 ? MIN_RATE : Math.min(MAX_RATE, 1 + GAIN * Math.max(0, spare));
    this.setRate(Math.round(wanted / RATE_STEP) * RATE_STEP);
  }

  /**
   * A fragment was appended; `end` is the buffered end (s) now. Video alone resumes as soon as
   * the next frame lands when it runs dry, so it simply plays at 1.25x while more than the
   * target is buffered.
   */
  appended(end: number): void {
    if (!this.audio) this.setRate(end - this.video.currentTime > this.target ? MAX_RATE : 1);
  }

  private setRate(rate: number): void {
    if (Math.abs(rate - this.video.playbackRate) > 1e-6) this.video.playbackRate = rate;
  }

  /** The element ran dry while playing: with audio, hold more from now on. */
  stalled(): void {
    if (!this.audio) return;
    this.target = Math.min(MAX_TARGET_S, this.target + STALL_STEP_S);
    this.troughs.length = 0;
  }
}
