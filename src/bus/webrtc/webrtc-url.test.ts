import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../core/errors.js';
import { parseBusUrl } from '../bus-url.js';
import { parseWebRtcUrl } from './webrtc-url.js';

test('parses webrtc:loopback and webrtc://host:port?token=, keeping the token out of the canonical URL', () => {
  assert.deepEqual(parseWebRtcUrl('webrtc:loopback'), { kind: 'loopback', url: 'webrtc:loopback' });
  assert.deepEqual(parseWebRtcUrl('webrtc://10.0.0.5:9000?token=abc'), {
    kind: 'remote',
    host: '10.0.0.5',
    port: 9000,
    token: 'abc',
    signalingUrl: 'http://10.0.0.5:9000/webrtc/bus',
    url: 'webrtc://10.0.0.5:9000',
  });
  assert.equal(parseWebRtcUrl('webrtc://robot.lan').url, 'webrtc://robot.lan:8765', 'the framebus serve default port');
  const bus = parseBusUrl('webrtc://127.0.0.1:8765?token=t');
  assert.equal(bus.kind, 'webrtc');
  assert.equal(bus.url, 'webrtc://127.0.0.1:8765');
});

test('a bad webrtc URL names what is wrong', () => {
  for (const [url, why] of [
    ['webrtc:', /must be webrtc:loopback or webrtc:\/\/127/],
    ['webrtc:elsewhere', /must be/],
    ['webrtc://h:8765/path', /only have a host, a port and \?token=/],
    ['webrtc://h:8765?user=x', /Unknown WebRTC URL option "user"/],
    ['webrtc://h:99999', /not a WebRTC URL/],
  ] as const) {
    assert.throws(() => parseBusUrl(url), (e: unknown) => e instanceof InvalidArgumentError && why.test(e.message), url);
  }
});
