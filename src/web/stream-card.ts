import type { StreamState } from './stream-state.js';

function formatBitrate(bps: number): string {
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${(bps / 1e3).toFixed(0)} kbit/s`;
}

/** One tile of the grid: the stream's name, its canvas, a stats line and a status overlay. */
export class StreamCard {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly context: CanvasRenderingContext2D;
  private readonly stats: HTMLElement;
  private readonly overlay: HTMLElement;
  private message = '';

  constructor(topic: string) {
    this.element = document.createElement('section');
    this.element.className = 'stream';
    this.element.dataset.topic = topic;
    const title = document.createElement('h2');
    title.textContent = topic;
    const frame = document.createElement('div');
    frame.className = 'frame';
    this.canvas = document.createElement('canvas');
    this.canvas.width = 640;
    this.canvas.height = 360;
    const context = this.canvas.getContext('2d');
    if (!context) throw new Error('This browser has no 2D canvas.');
    this.context = context;
    this.overlay = document.createElement('div');
    this.overlay.className = 'overlay';
    frame.append(this.canvas, this.overlay);
    this.stats = document.createElement('p');
    this.stats.className = 'stats';
    this.element.append(title, frame, this.stats);
  }

  /** Draws a decoded picture, resizing the canvas to it. */
  draw(image: CanvasImageSource, width: number, height: number): void {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.context.drawImage(image, 0, 0, width, height);
  }

  /** Shows a lasting notice over the picture (e.g. an unsupported codec). */
  notice(message: string): void {
    this.message = message;
  }

  /** Rewrites the stats line and the overlay from the stream's state. */
  update(state: StreamState): void {
    const parts = [
      state.codec || '—',
      state.width ? `${state.width}×${state.height}` : '',
      `${state.fps.toFixed(0)} fps`,
      formatBitrate(state.bitrate),
      state.latencyMs !== null ? `latency ${state.latencyMs.toFixed(0)} ms` : '',
    ];
    this.stats.textContent = parts.filter(Boolean).join(' · ');
    const status = this.message || (state.waiting ? 'waiting for a keyframe…' : '');
    this.overlay.textContent = status;
    this.overlay.hidden = status === '';
  }
}
