import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebRtcAnswerer } from '../../src/bus/webrtc/webrtc-answerer.js';

/**
 * A tiny HTTP server answering `POST /webrtc/bus` with a `WebRtcAnswerer`, as `framebus serve`
 * will: the SDP offer in, `201 Created` with the SDP answer out, the token as `Authorization: Bearer`;
 * `page`, when given, is served at `/`.
 */
export async function startSignalingServer(answerer: WebRtcAnswerer, token?: string, page?: string): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/' && page !== undefined) return void res.writeHead(200, { 'Content-Type': 'text/html' }).end(page);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/webrtc/bus') return void res.writeHead(404).end();
      if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401).end('token required');
      answerer
        .answer(Buffer.concat(chunks).toString('utf8'))
        .then(({ answerSdp, session }) => res.writeHead(201, { 'Content-Type': 'application/sdp', Location: `/webrtc/bus/${session.id}` }).end(answerSdp))
        .catch((error: Error) => res.writeHead(400).end(error.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port, close };
}
