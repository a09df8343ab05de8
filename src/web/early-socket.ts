/** The WebSocket `index.html` opens before the bundle runs, with the events it buffered. */
interface EarlySocket {
  /** The URL it connected to. */
  readonly url: string;
  readonly ws: WebSocket;
  /** `open`, `message`, `error` and `close` events in arrival order, until adopted. */
  readonly events: Event[];
  /** Set once the bundle owns the socket; buffering stops. */
  adopted: boolean;
}

declare global {
  interface Window {
    framebusEarlySocket?: EarlySocket;
  }
}

/** A socket and the events it received before its handlers were attached. */
export interface AdoptedSocket {
  readonly ws: WebSocket;
  /** Delivers the buffered events to the handlers attached since (`onopen`, `onmessage`, …) in order. */
  replay(): void;
}

/**
 * Takes over the page's early WebSocket when it connected to `url`; otherwise opens a new one
 * (no early socket: the page was not served by framebus, or another URL is wanted).
 */
export function adoptSocket(url: string, protocol: string): AdoptedSocket {
  const early = window.framebusEarlySocket;
  window.framebusEarlySocket = undefined;
  if (!early || early.adopted || early.url !== url) {
    early?.ws.close();
    return { ws: new WebSocket(url, [protocol]), replay: () => undefined };
  }
  early.adopted = true;
  const { ws, events } = early;
  return {
    ws,
    replay: () => {
      for (const event of events.splice(0)) {
        const handler = { open: ws.onopen, message: ws.onmessage, error: ws.onerror, close: ws.onclose }[event.type];
        (handler as ((this: WebSocket, e: Event) => void) | null | undefined)?.call(ws, event);
      }
    },
  };
}
