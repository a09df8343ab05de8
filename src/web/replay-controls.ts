import { SERVICES, type PlaybackState, type RecordingIndex } from '../server/replay-protocol.js';
import type { Connection } from './connection.js';
import type { ReplayHookState } from './page-hook.js';

/**
 * The page's side of framebus replay control (contract and types in src/server/replay-protocol.ts):
 * services `framebus/index|seek|play|pause`, state on `/framebus/playback`.
 */

const SPEEDS = [0.25, 0.5, 1, 2, 4, 8];

function button(label: string, title: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.title = title;
  return b;
}

/**
 * The replay bar: timeline with keyframe marks, play/pause, speed, frame step back and
 * forward. Scrubbing seeks to the exact frame at or before the pointer; while one seek is in
 * flight only the newest pointer position is kept.
 */
export class ReplayControls {
  readonly element: HTMLElement;
  readonly hook: ReplayHookState = { startNs: '0', endNs: '0', positionNs: '0', playing: false, speed: 1, seekId: 0 };
  private readonly timeline: HTMLInputElement;
  private readonly marks: HTMLElement;
  private readonly playButton: HTMLButtonElement;
  private readonly speed: HTMLSelectElement;
  private readonly clock: HTMLElement;
  private start = 0n;
  private end = 0n;
  private seeking = false;
  private queuedSeek: bigint | undefined;

  constructor(
    private readonly connection: Connection,
    private readonly onError: (message: string) => void,
  ) {
    this.element = document.createElement('footer');
    this.element.className = 'replay';
    const back = button('|◀', 'Previous frame');
    this.playButton = button('▶', 'Play / pause');
    const forward = button('▶|', 'Next frame');
    back.dataset.action = 'step-back';
    forward.dataset.action = 'step-forward';
    this.playButton.dataset.action = 'play-pause';
    this.speed = document.createElement('select');
    this.speed.title = 'Speed';
    for (const s of SPEEDS) this.speed.append(new Option(`${s}×`, String(s), s === 1, s === 1));
    const track = document.createElement('div');
    track.className = 'track';
    this.timeline = document.createElement('input');
    this.timeline.type = 'range';
    this.timeline.min = '0';
    this.timeline.step = 'any';
    this.timeline.className = 'timeline';
    this.marks = document.createElement('div');
    this.marks.className = 'marks';
    track.append(this.marks, this.timeline);
    this.clock = document.createElement('span');
    this.clock.className = 'clock';
    this.element.append(back, this.playButton, forward, this.speed, track, this.clock);

    back.addEventListener('click', () => void this.run(this.connection.call(SERVICES.seek, { step: -1 })));
    forward.addEventListener('click', () => void this.run(this.connection.call(SERVICES.seek, { step: 1 })));
    this.playButton.addEventListener('click', () =>
      void this.run(this.connection.call(this.hook.playing ? SERVICES.pause : SERVICES.play, { speed: Number(this.speed.value) })),
    );
    this.speed.addEventListener('change', () => {
      if (this.hook.playing) void this.run(this.connection.call(SERVICES.play, { speed: Number(this.speed.value) }));
    });
    const scrub = () => this.scrubTo(this.start + BigInt(Math.round(Number(this.timeline.value) * 1e6)));
    this.timeline.addEventListener('input', scrub);
    this.timeline.addEventListener('change', scrub);
  }

  /** Loads the recording's index (timeline range, keyframe marks) and shows its first frame. */
  async load(): Promise<void> {
    const index = await this.connection.call<RecordingIndex>(SERVICES.index, {});
    this.start = BigInt(index.start_ns);
    this.end = BigInt(index.end_ns);
    this.hook.startNs = index.start_ns;
    this.hook.endNs = index.end_ns;
    const spanMs = Number(this.end - this.start) / 1e6;
    this.timeline.max = String(spanMs);
    const first = index.streams.find((s) => s.kind === 'video') ?? index.streams[0];
    for (const k of first?.keyframes_ns ?? []) {
      const mark = document.createElement('span');
      mark.style.left = `${spanMs > 0 ? (Number(BigInt(k) - this.start) / 1e6 / spanMs) * 100 : 0}%`;
      this.marks.append(mark);
    }
    this.render();
    await this.run(this.connection.call(SERVICES.seek, { time_ns: index.start_ns }));
  }

  /** Takes a playback state message. */
  update(state: PlaybackState): void {
    Object.assign(this.hook, { positionNs: state.position_ns, playing: state.playing, speed: state.speed, seekId: state.seek_id });
    this.render();
  }

  private scrubTo(time: bigint): void {
    if (this.seeking) {
      this.queuedSeek = time;
      return;
    }
    this.seeking = true;
    void this.run(this.connection.call(SERVICES.seek, { time_ns: time.toString() })).finally(() => {
      this.seeking = false;
      const next = this.queuedSeek;
      this.queuedSeek = undefined;
      if (next !== undefined) this.scrubTo(next);
    });
  }

  private async run(call: Promise<unknown>): Promise<void> {
    try {
      await call;
    } catch (error) {
      this.onError((error as Error).message);
    }
  }

  private render(): void {
    const position = BigInt(this.hook.positionNs);
    const offsetMs = Number(position - this.start) / 1e6;
    if (!this.seeking && document.activeElement !== this.timeline) this.timeline.value = String(offsetMs);
    this.playButton.textContent = this.hook.playing ? '||' : '▶';
    this.clock.textContent = `${(Math.max(0, offsetMs) / 1000).toFixed(3)} s / ${(Number(this.end - this.start) / 1e9).toFixed(3)} s`;
  }
}
