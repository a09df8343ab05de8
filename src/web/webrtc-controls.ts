import type { FramebusHook } from './page-hook.js';
import { TeleopPanel } from './teleop-panel.js';
import type { WebRtcStreamView } from './webrtc-view.js';
import { WhipCamera } from './whip-camera.js';

/** How the live page receives video: WHEP (WebRTC) or the Foxglove WebSocket protocol. */
export type Transport = 'webrtc' | 'websocket';

/** The live page's WebRTC extras: the transport toggle, the teleop panel and the camera button. */
export interface WebRtcControls {
  /** Puts the toggle and the camera button in the header (live mode only). */
  show(): void;
  /** Gives the teleop panel the first WebRTC stream's command channel, if the server takes commands. */
  adopt(view: WebRtcStreamView): void;
}

interface ServerInfo {
  commands?: string | null;
}

/** Builds the controls; `problem` shows an error line. */
export function webrtcControls(transport: Transport, hook: FramebusHook, problem: (message: string) => void): WebRtcControls {
  hook.transport = transport;
  const header = document.querySelector('header') as HTMLElement;
  const info: Promise<ServerInfo> = fetch('/api/info')
    .then((response) => (response.ok ? (response.json() as Promise<ServerInfo>) : {}))
    .catch(() => ({}));
  let teleop: TeleopPanel | undefined;
  return {
    show() {
      const toggle = document.createElement('a');
      const other: Transport = transport === 'webrtc' ? 'websocket' : 'webrtc';
      const url = new URL(location.href);
      url.searchParams.set('transport', other);
      toggle.href = url.toString();
      toggle.className = 'transport';
      toggle.textContent = `video over ${transport === 'webrtc' ? 'WebRTC' : 'WebSocket'} (switch to ${other === 'webrtc' ? 'WebRTC' : 'WebSocket'})`;
      const camera = new WhipCamera(problem);
      hook.whip = camera.state;
      header.append(toggle, camera.element);
    },
    adopt(view) {
      if (teleop) return;
      const channel = view.commands;
      void info.then((server) => {
        if (!server.commands || teleop) return;
        teleop = new TeleopPanel(channel);
        hook.teleop = teleop.state;
        document.querySelector('main')?.after(teleop.element);
      });
    },
  };
}
