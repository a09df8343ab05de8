import type { ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { Fmp4Source } from '../media/fmp4-source.js';
import type { HttpRoute, SocketRoute } from './http-routes.js';

/** Bytes a slow reader may leave unsent before it is closed (a live stream never waits for one reader). */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

function nameAfter(prefix: string, pathname: string, suffix = ''): string | undefined {
  if (!pathname.startsWith(prefix) || !pathname.endsWith(suffix)) return undefined;
  try {
    const name = decodeURIComponent(pathname.slice(prefix.length, pathname.length - suffix.length));
    return name.length > 0 ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `GET /live/<name>.mp4`: one long response of live fragmented MP4 (init segment, then
 * fragments as they are made) that ffmpeg, ffplay, VLC and a `<video>` element open.
 */
export function liveMp4Route(source: Fmp4Source): HttpRoute {
  return {
    prefix: '/live/',
    async answer(url) {
      const name = nameAfter('/live/', url.pathname, '.mp4');
      if (name === undefined || !source.names().includes(name)) return undefined;
      return {
        status: 200,
        contentType: 'video/mp4',
        body: '',
        stream: (res: ServerResponse) => {
          const stop = source.subscribe(name, {
            init: (bytes) => void res.write(bytes),
            fragment: (bytes) => {
              if (res.writableLength > MAX_BACKLOG_BYTES) res.destroy();
              else res.write(bytes);
            },
            end: () => res.end(),
          });
          res.on('close', () => stop?.());
        },
      };
    },
  };
}

/**
 * WebSocket `/fmp4/<name>`, the browser's MSE path: a JSON text message
 * `{"type":"init","mimeType":…}` then the init segment as binary, every fragment as binary,
 * `{"type":"timings",…}` per packaged segment and `{"type":"end"}` at the end.
 */
export function fmp4SocketRoute(source: Fmp4Source): SocketRoute {
  return {
    prefix: '/fmp4/',
    accepts: (url) => {
      const name = nameAfter('/fmp4/', url.pathname);
      return name !== undefined && source.names().includes(name);
    },
    connect(ws: WebSocket, url: URL) {
      const name = nameAfter('/fmp4/', url.pathname)!;
      const send = (data: Uint8Array | string) => {
        if (ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > MAX_BACKLOG_BYTES) ws.terminate();
        else ws.send(data);
      };
      const stop = source.subscribe(name, {
        init: (bytes, mimeType) => {
          send(JSON.stringify({ type: 'init', mimeType }));
          send(bytes);
        },
        fragment: (bytes) => send(bytes),
        timings: (segment, timings) => send(JSON.stringify({ type: 'timings', segment, timings })),
        end: (error) => {
          send(JSON.stringify({ type: 'end', error: error?.message }));
          ws.close(1000);
        },
      });
      ws.on('close', () => stop?.());
      // A browser has nothing to say on this path; a message is ignored, not parsed.
      ws.on('message', () => {});
    },
  };
}
