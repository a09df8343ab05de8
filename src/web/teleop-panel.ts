import { twistMessageType } from '../wire/messages.js';

/** What tests read from `window.framebus.teleop`. */
export interface TeleopHookState {
  /** Commands sent on the DataChannel (zero commands included). */
  sent: number;
  /** True while a key or stick is held. */
  active: boolean;
  /** The last command sent: forward speed (m/s) and turn rate (rad/s). */
  linear: number;
  angular: number;
}

/** Command rate while a key or stick is held, Hz. */
const RATE_HZ = 20;
/** Zero commands sent on release: the channel is unreliable, so one might be lost. */
const ZERO_REPEATS = 3;
const STICK_DEADZONE = 0.1;

const FORWARD = new Set(['KeyW', 'ArrowUp']);
const BACK = new Set(['KeyS', 'ArrowDown']);
const LEFT = new Set(['KeyA', 'ArrowLeft']);
const RIGHT = new Set(['KeyD', 'ArrowRight']);

/**
 * The operator panel: keyboard (WASD, arrows) and the first gamepad's left stick become
 * `framebus.twist_t` commands (LCM encoding) on an unreliable, unordered DataChannel, at
 * 20 Hz while held; a release, the page losing focus or the channel closing sends zero
 * (dead-man). The server republishes them on its commands topic.
 */
export class TeleopPanel {
  readonly element = document.createElement('section');
  readonly state: TeleopHookState = { sent: 0, active: false, linear: 0, angular: 0 };
  private readonly held = new Set<string>();
  private readonly readout = document.createElement('p');
  private readonly speed = document.createElement('input');
  private readonly turn = document.createElement('input');
  private zeros = 0;

  constructor(private readonly channel: RTCDataChannel) {
    this.element.className = 'teleop';
    const title = document.createElement('h2');
    title.textContent = 'teleop: W A S D / arrows / gamepad';
    for (const [input, label, value] of [
      [this.speed, 'speed m/s', '0.5'],
      [this.turn, 'turn rad/s', '1.0'],
    ] as const) {
      input.type = 'number';
      input.step = '0.1';
      input.min = '0';
      input.value = value;
      const wrap = document.createElement('label');
      wrap.append(`${label} `, input);
      this.element.append(wrap);
    }
    this.element.prepend(title);
    this.element.append(this.readout);
    addEventListener('keydown', (event) => this.key(event, true));
    addEventListener('keyup', (event) => this.key(event, false));
    addEventListener('blur', () => this.release());
    document.addEventListener('visibilitychange', () => document.hidden && this.release());
    channel.addEventListener('close', () => this.release());
    setInterval(() => this.tick(), 1000 / RATE_HZ);
    this.show();
  }

  private key(event: KeyboardEvent, down: boolean): void {
    if (event.target instanceof HTMLInputElement) return;
    if (![FORWARD, BACK, LEFT, RIGHT].some((keys) => keys.has(event.code))) return;
    event.preventDefault();
    if (down) this.held.add(event.code);
    else this.held.delete(event.code);
    this.tick();
  }

  private release(): void {
    this.held.clear();
    this.tick();
  }

  /** The command the held keys and the stick ask for now. */
  private command(): { linear: number; angular: number } {
    const has = (keys: Set<string>) => [...this.held].some((code) => keys.has(code));
    const speed = Number(this.speed.value) || 0;
    const turn = Number(this.turn.value) || 0;
    let linear = ((has(FORWARD) ? 1 : 0) - (has(BACK) ? 1 : 0)) * speed;
    let angular = ((has(LEFT) ? 1 : 0) - (has(RIGHT) ? 1 : 0)) * turn;
    const pad = document.hasFocus() ? navigator.getGamepads?.().find((g) => g !== null) : undefined;
    if (pad && linear === 0 && angular === 0) {
      const [x = 0, y = 0] = pad.axes;
      if (Math.abs(y) > STICK_DEADZONE) linear = -y * speed;
      if (Math.abs(x) > STICK_DEADZONE) angular = -x * turn;
    }
    return { linear, angular };
  }

  private tick(): void {
    const { linear, angular } = this.command();
    const active = linear !== 0 || angular !== 0;
    if (active) this.zeros = ZERO_REPEATS;
    else if (this.zeros > 0) this.zeros--;
    else {
      this.state.active = false;
      return;
    }
    this.state.active = active;
    this.send(linear, angular);
  }

  private send(linear: number, angular: number): void {
    this.state.linear = linear;
    this.state.angular = angular;
    this.show();
    if (this.channel.readyState !== 'open') return;
    const message = twistMessageType.encode({ timestamp_ns: BigInt(Date.now()) * 1_000_000n, linear: [linear, 0, 0], angular: [0, 0, angular] });
    this.channel.send(message as Uint8Array<ArrayBuffer>);
    this.state.sent++;
  }

  private show(): void {
    this.readout.textContent = `forward ${this.state.linear.toFixed(2)} m/s · turn ${this.state.angular.toFixed(2)} rad/s · ${this.state.sent} sent`;
  }
}
