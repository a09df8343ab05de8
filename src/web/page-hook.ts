import type { LatencySample, StreamState } from './stream-state.js';
import type { TelemetryHookState } from './telemetry-view.js';
import type { TeleopHookState } from './teleop-panel.js';
import type { WhipHookState } from './whip-camera.js';

/** What tests read from `window.framebus.replay`. Times are ns since the Unix epoch as decimal strings. */
export interface ReplayHookState {
  startNs: string;
  endNs: string;
  positionNs: string;
  playing: boolean;
  speed: number;
  /** Bumped on every seek the page makes, so a test can wait for the one it caused. */
  seekId: number;
}

/**
 * The page state the viewer publishes on `window.framebus`, the one contract between the page
 * and the browser tests and viewer benchmark that read it.
 */
export interface FramebusHook {
  mode: 'live' | 'replay' | 'connecting' | 'choose';
  connected: boolean;
  /** Set when the connection closed or failed; a person-readable reason. */
  error: string | null;
  streams: StreamState[];
  /** Timing of drawn live frames, oldest first, at most `MAX_LATENCY_SAMPLES`. */
  latencySamples: LatencySample[];
  replay: ReplayHookState | null;
  /** Typed telemetry channels (JSON with a JSON Schema) shown as table and plot. */
  telemetry: TelemetryHookState[];
  /** How live video arrives (`?transport=`), set in live mode. */
  transport?: 'webrtc' | 'websocket';
  /** The teleop panel's counters, when the server takes commands. */
  teleop?: TeleopHookState;
  /** The "publish my camera" button's state, in live mode. */
  whip?: WhipHookState;
}

declare global {
  interface Window {
    framebus: FramebusHook;
  }
}
