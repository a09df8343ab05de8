/** What tests read of one telemetry card from `window.framebus.telemetry`. */
export interface TelemetryHookState {
  topic: string;
  /** The message type, e.g. `robot.imu_t`. */
  schemaName: string;
  /** Messages received on the channel. */
  messages: number;
  /** The newest message's fields as shown in the table: dotted path → text. */
  fields: Record<string, string>;
  /** The numeric fields drawn in the plot, by path, with the samples each holds. */
  plotted: Record<string, number>;
}

/** Samples kept per plotted field. */
const HISTORY = 300;
/** Fields plotted at most, the first numeric ones in message order. */
const MAX_SERIES = 6;
/** Table rows at most. */
const MAX_ROWS = 48;
const COLORS = ['#4e9af1', '#f1a84e', '#5ec27a', '#e0645c', '#b07fe0', '#d5c94a'];
const SVG = 'http://www.w3.org/2000/svg';

/** Leaves of a JSON message as dotted paths (`linear[0]`, `pose.xyz[2]`), in message order. */
function flatten(value: unknown, path: string, out: [string, unknown][]): void {
  if (out.length >= 4 * MAX_ROWS) return;
  if (Array.isArray(value)) value.forEach((v, i) => flatten(v, `${path}[${i}]`, out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out);
  else out.push([path, value]);
}

/** A numeric reading of a leaf: numbers, and int64 decimal strings. */
function numeric(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?[0-9]{1,20}$/.test(value)) return Number(value);
  return undefined;
}

/**
 * A card for a typed telemetry channel (JSON messages with a JSON Schema, e.g. LCM types the
 * server loaded): a table of the newest message's fields and a small plot of its numeric
 * fields over the last {@link HISTORY} messages.
 */
export class TelemetryView {
  readonly element: HTMLElement;
  readonly state: TelemetryHookState;
  private readonly table: HTMLTableSectionElement;
  private readonly svg: SVGSVGElement;
  private readonly series = new Map<string, number[]>();
  private latest: [string, unknown][] = [];
  private dirty = false;

  constructor(topic: string, schemaName: string) {
    this.state = { topic, schemaName, messages: 0, fields: {}, plotted: {} };
    this.element = document.createElement('section');
    this.element.className = 'stream telemetry';
    this.element.dataset.topic = topic;
    const title = document.createElement('h2');
    title.textContent = `${topic} · ${schemaName}`;
    this.svg = document.createElementNS(SVG, 'svg');
    this.svg.setAttribute('viewBox', '0 0 640 160');
    this.svg.setAttribute('class', 'plot');
    this.svg.style.cssText = 'width:100%;height:160px;background:#111;display:block';
    const table = document.createElement('table');
    table.className = 'fields';
    table.style.cssText = 'width:100%;font:12px monospace;border-collapse:collapse';
    this.table = table.createTBody();
    this.element.append(title, this.svg, table);
  }

  /** Takes one message (parsed JSON). */
  push(message: unknown): void {
    const leaves: [string, unknown][] = [];
    flatten(message, '', leaves);
    this.latest = leaves;
    this.state.messages++;
    for (const [path, value] of leaves) {
      const n = numeric(value);
      if (n === undefined || /(^|\.)timestamp|_ns$|(^|\.)stamp/.test(path)) continue;
      let samples = this.series.get(path);
      if (!samples) {
        if (this.series.size >= MAX_SERIES) continue;
        samples = [];
        this.series.set(path, samples);
      }
      samples.push(n);
      if (samples.length > HISTORY) samples.shift();
    }
    this.dirty = true;
  }

  /** Forgets the plotted history (a replay seek resends it). */
  reset(): void {
    for (const samples of this.series.values()) samples.length = 0;
    this.dirty = true;
  }

  /** Redraws table and plot if messages arrived since the last call. */
  refresh(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.state.fields = Object.fromEntries(this.latest.slice(0, MAX_ROWS).map(([p, v]) => [p, typeof v === 'string' ? v : JSON.stringify(v)]));
    this.state.plotted = Object.fromEntries([...this.series].map(([p, s]) => [p, s.length]));
    this.table.replaceChildren(
      ...Object.entries(this.state.fields).map(([path, text]) => {
        const row = document.createElement('tr');
        const name = document.createElement('td');
        name.textContent = path;
        const value = document.createElement('td');
        value.textContent = text.length > 80 ? `${text.slice(0, 77)}…` : text;
        value.style.textAlign = 'right';
        row.append(name, value);
        return row;
      }),
    );
    this.drawPlot();
  }

  private drawPlot(): void {
    const all = [...this.series.values()].flat();
    const min = Math.min(...all);
    const max = Math.max(...all);
    const span = max - min || 1;
    const children: SVGElement[] = [];
    [...this.series].forEach(([path, samples], i) => {
      const line = document.createElementNS(SVG, 'polyline');
      const points = samples.map((v, j) => `${((j / Math.max(1, HISTORY - 1)) * 640).toFixed(1)},${(150 - ((v - min) / span) * 140).toFixed(1)}`);
      line.setAttribute('points', points.join(' '));
      line.setAttribute('fill', 'none');
      line.setAttribute('stroke', COLORS[i % COLORS.length]);
      line.dataset.field = path;
      const label = document.createElementNS(SVG, 'text');
      label.setAttribute('x', '4');
      label.setAttribute('y', String(14 + i * 13));
      label.setAttribute('fill', COLORS[i % COLORS.length]);
      label.setAttribute('font-size', '11');
      label.textContent = `${path} ${samples.at(-1)?.toPrecision(4) ?? ''}`;
      children.push(line, label);
    });
    this.svg.replaceChildren(...children);
  }
}
