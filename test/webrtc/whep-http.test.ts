import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { PeerConnection, RtcpReceivingSession, Video, type Track } from 'node-datachannel';
import { Bus } from '../../src/bus/bus.js';
import { startLiveServer, type LiveServerHandle } from '../../src/server/live-server.js';
import { startSyntheticCamera, type SyntheticCamera } from '../../src/bench/synthetic-camera.js';

let bus: Bus;
let server: LiveServerHandle;
let origin: string;
let camera: SyntheticCamera;

before(async () => {
  bus = await Bus.open('memory:whep-http-test');
  // Room for the players that vanish without DELETE while the server waits out their silence.
  server = await startLiveServer({ bus, port: 0, webrtc: { maxSessions: 100 } });
  origin = new URL(server.url).origin;
  camera = startSyntheticCamera(bus, 'camera', { width: 160, height: 120, gop: 30 });
  while (camera.published < 5) await sleep(20);
});

after(async () => {
  await server?.close();
  await camera?.stop();
  await bus?.close();
});

/** A WHEP player made with node-datachannel: a receive-only H.264 offer. */
async function player(): Promise<{ pc: PeerConnection; track: Track; offer: string; connected: Promise<void> }> {
  // Ports drawn at random from a wide range: a port the kernel hands out again at once could
  // still get packets from the server session of the player before it.
  const pc = new PeerConnection('player', { iceServers: [], bindAddress: '127.0.0.1', portRangeBegin: 20_000, portRangeEnd: 60_000 });
  const video = new Video('0', 'RecvOnly');
  video.addH264Codec(102, 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f');
  const track = pc.addTrack(video);
  // Sends receiver reports, as any player does; the server takes a silent player for gone.
  track.setMediaHandler(new RtcpReceivingSession());
  track.onClosed(() => undefined);
  const connected = new Promise<void>((ok, fail) =>
    pc.onStateChange((state) => (state === 'connected' ? ok() : state === 'failed' ? fail(new Error('ICE failed')) : undefined)),
  );
  connected.catch(() => undefined);
  const gathered = new Promise<void>((ok) => pc.onGatheringStateChange((state) => state === 'complete' && ok()));
  pc.setLocalDescription();
  await gathered;
  return { pc, track, offer: pc.localDescription()!.sdp, connected };
}

function post(path: string, body: string, contentType = 'application/sdp', headers: Record<string, string> = {}) {
  return fetch(`${origin}${path}`, { method: 'POST', headers: { 'Content-Type': contentType, ...headers }, body });
}

test('WHEP refuses bad requests with clear HTTP errors', async () => {
  const { offer, pc, track } = await player();
  try {
    let r = await post('/whep/camera', offer, 'text/plain');
    assert.equal(r.status, 415);
    assert.match(await r.text(), /Content-Type: application\/sdp/);
    r = await post('/whep/camera', 'hello');
    assert.equal(r.status, 400);
    assert.match(await r.text(), /not an SDP offer/);
    r = await post('/whep/camera', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n');
    assert.equal(r.status, 400);
    assert.match(await r.text(), /no a=mid/);
    r = await post('/whep/camera', offer.replace(/H264\/90000/g, 'VP8/90000'));
    assert.equal(r.status, 422);
    assert.match(await r.text(), /no H\.264 format with packetization-mode=1/);
    r = await post('/whep/no-such-topic', offer);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /No video topic "no-such-topic".*video topics now: camera/);
    r = await post('/whep/camera', 'v=0\r\n' + 'a'.repeat(70 * 1024));
    assert.equal(r.status, 413);
    r = await fetch(`${origin}/whep/camera`, { method: 'PUT', body: offer });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('Allow'), 'OPTIONS, POST');
    r = await fetch(`${origin}/whep-session/nope`, { method: 'DELETE' });
    assert.equal(r.status, 404);
    r = await post('/whep/camera', offer, 'application/sdp', { Origin: 'https://evil.example' });
    assert.equal(r.status, 403, 'without a token, other sites may not start a session on loopback');
    r = await fetch(`${origin}/whep/camera`, { method: 'OPTIONS', headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('Accept-Post'), 'application/sdp');
    assert.equal(r.headers.get('Access-Control-Allow-Origin'), 'https://player.example');
    assert.match(r.headers.get('Access-Control-Allow-Headers') ?? '', /Authorization/);
    assert.equal(server.webrtc!.whep.size, 0, 'no session was opened by a bad request');
  } finally {
    track.close();
    pc.close();
  }
});

/**
 * A player connected over WHEP: the POST's response and the player. The client library's own
 * peer sometimes refuses a good answer or fails its checks (see the cycles test below): that
 * session is ended with DELETE and a new player tries again, at most three times.
 */
async function connectedPlayer(): Promise<{ r: Response; answer: string; pc: PeerConnection; track: Track }> {
  for (let attempt = 1; ; attempt++) {
    const { offer, pc, track, connected } = await player();
    const r = await post('/whep/camera', offer);
    const answer = await r.text();
    try {
      assert.equal(r.status, 201, answer);
      pc.setRemoteDescription(answer, 'answer');
      await connected;
      return { r, answer, pc, track };
    } catch (error) {
      track.close();
      pc.close();
      if (r.status !== 201 || attempt === 3) throw error;
      await fetch(`${origin}${r.headers.get('Location')}`, { method: 'DELETE' });
    }
  }
}

test('a WHEP session: 201 with the answer and Location; PATCH trickles (204), refuses ICE restart (422); DELETE ends it', async () => {
  const { r, answer, pc, track } = await connectedPlayer();
  try {
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('Content-Type'), 'application/sdp');
    const location = r.headers.get('Location')!;
    assert.match(location, /^\/whep-session\/[0-9a-f-]{36}$/);
    assert.match(answer, /a=sendonly/);
    assert.match(answer, /a=rtpmap:102 H264\/90000/);
    assert.match(answer, /a=candidate:.* 127\.0\.0\.1 \d+ typ host/);
    const patch = (body: string, type = 'application/trickle-ice-sdpfrag') => fetch(`${origin}${location}`, { method: 'PATCH', headers: { 'Content-Type': type, 'If-Match': r.headers.get('ETag')! }, body });
    assert.equal((await patch('a=mid:0\r\na=candidate:1 1 UDP 2122260223 127.0.0.1 9 typ host\r\n')).status, 204);
    assert.equal((await patch('a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n')).status, 422);
    assert.equal((await patch('x', 'text/plain')).status, 415);
    assert.equal((await fetch(`${origin}${location}`, { method: 'DELETE' })).status, 200);
    assert.equal(server.webrtc!.whep.size, 0);
  } finally {
    track.close();
    pc.close();
  }
});

test('200 WHEP connect/disconnect cycles (DELETE or a vanished peer) leave no session behind and RSS near its baseline', async () => {
  let clientFailures = 0;
  const cycle = async (i: number): Promise<void> => {
    const { offer, pc, track, connected } = await player();
    const r = await post('/whep/camera', offer);
    assert.equal(r.status, 201);
    const location = `${origin}${r.headers.get('Location')}`;
    try {
      pc.setRemoteDescription(await r.text(), 'answer');
      await connected;
    } catch {
      // The client library's own peer sometimes fails before it gets the answer, or its
      // connectivity checks time out on a loaded machine; the server session it left (unless
      // it already ended itself) is ended with DELETE and the cycle starts over (counted,
      // bounded below).
      clientFailures++;
      assert.ok([200, 404].includes((await fetch(location, { method: 'DELETE' })).status));
      track.close();
      pc.close();
      return cycle(i);
    }
    if (i % 2 === 0) assert.equal((await fetch(location, { method: 'DELETE' })).status, 200);
    track.close();
    pc.close();
  };
  const rounds = async (from: number, to: number) => {
    for (let i = from; i < to; i += 10) await Promise.all([...Array(10).keys()].map((k) => cycle(i + k)));
  };
  await rounds(0, 20);
  for (let i = 0; i < 100 && server.webrtc!.whep.size > 0; i++) await sleep(50);
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  const opened = server.webrtc!.whepTotals.sessions;
  await rounds(20, 200);
  // Players that vanished are noticed by their silence (no RTCP for 5 s).
  for (let i = 0; i < 200 && server.webrtc!.whep.size > 0; i++) await sleep(50);
  assert.equal(server.webrtc!.whep.size, 0, 'every session ended');
  assert.ok(clientFailures < 40, `the client peer failed ${clientFailures} times`);
  assert.ok(server.webrtc!.whepTotals.sessions - opened >= 180);
  global.gc?.();
  const grown = (process.memoryUsage().rss - baseline) / 2 ** 20;
  process.stdout.write(`# RSS after 180 more cycles: ${grown >= 0 ? '+' : ''}${grown.toFixed(1)} MiB over the baseline after 20 (${clientFailures} client retries)\n`);
  assert.ok(grown < 40, `RSS grew ${grown.toFixed(1)} MiB over 180 cycles`);
});
