import type { Fmp4Source } from '../media/fmp4-source.js';
import { fmp4SocketRoute, liveMp4Route } from './fmp4-routes.js';
import { ViewerServer, type ViewerServerHandle, type ViewerServerOptions } from './viewer-server.js';

/**
 * Serves live fMP4 streams alone (a generated stream, a file encoded once): the viewer page
 * in MSE mode at `/?fmp4=<name>`, the WebSocket `/fmp4/<name>` and `GET /live/<name>.mp4`.
 */
export async function serveFmp4(source: Fmp4Source, options: ViewerServerOptions = {}): Promise<ViewerServerHandle> {
  return ViewerServer.listen(options, {
    http: [liveMp4Route(source)],
    sockets: [fmp4SocketRoute(source)],
    api: async (path) => (path === 'info' ? { mode: 'fmp4', streams: source.names() } : undefined),
    // No Foxglove channels here: a Foxglove client is told so and closed.
    connect: (ws) => ws.close(1000, 'This server serves live fMP4 only: open /?fmp4=<name>.'),
  });
}
