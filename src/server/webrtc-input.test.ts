import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MalformedDataError } from '../core/errors.js';
import { readRtcpFeedback } from './rtcp-feedback.js';
import { parseSdpOffer } from './sdp-offer.js';

/** A WHEP offer shaped like Chromium's (recvonly video with H.264, a DataChannel section). */
const OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 102',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=recvonly',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:102 H264/90000',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtcp-fb:102 nack pli',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'a=mid:1',
  'a=sctp-port:5000',
  '',
].join('\r\n');

test('a Chromium-like WHEP offer parses: both sections, the H.264 format with packetization-mode 1', () => {
  const offer = parseSdpOffer(OFFER);
  assert.equal(offer.media.length, 2);
  assert.equal(offer.media[0].kind, 'video');
  assert.equal(offer.media[0].mid, '0');
  assert.equal(offer.media[0].direction, 'recvonly');
  assert.deepEqual(offer.media[0].h264.map((f) => f.payloadType), [102]);
  assert.match(offer.media[0].h264[0].fmtp, /packetization-mode=1/);
});

test('property: any text, and any mutation of a real offer, parses or is a MalformedDataError', () => {
  const lines = OFFER.split('\r\n');
  const separator = (edits: [number, string][]) => (edits[0][0] % 2 === 0 ? '\r\n' : '\n');
  const mutated = fc
    .array(fc.tuple(fc.nat(), fc.oneof(fc.constant(''), fc.string({ maxLength: 40 }), fc.constantFrom('m=', 'a=mid:', 'a=rtpmap:', 'a=fmtp:', 'v=0', 'a=sendonly'))), { minLength: 1, maxLength: 6 })
    .map((edits) => {
      const copy = [...lines];
      for (const [at, text] of edits) copy[at % copy.length] = text;
      return copy.join(separator(edits));
    });
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), mutated), (text) => {
      try {
        const offer = parseSdpOffer(text);
        assert.ok(offer.media.length > 0, 'a parsed offer has a media section');
        for (const section of offer.media) assert.equal(typeof section.mid, 'string');
      } catch (error) {
        assert.ok(error instanceof MalformedDataError, String(error));
      }
    }),
    { numRuns: 1000 },
  );
});

function feedback(type: number, format: number, words = 2): Uint8Array {
  const packet = new Uint8Array(4 * (words + 1));
  packet[0] = 0x80 | format;
  packet[1] = type;
  packet[3] = words;
  return packet;
}

test('RTCP: PLI, FIR and NACK are counted in a compound packet', () => {
  const compound = Buffer.concat([feedback(201, 0, 1), feedback(206, 1), feedback(206, 4, 4), feedback(205, 1, 3), feedback(206, 1)]);
  assert.deepEqual(readRtcpFeedback(compound), { pli: 2, fir: 1, nack: 1 });
});

test('property: any bytes give counts that fit in the packet, never a throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const found = readRtcpFeedback(bytes);
      // Each counted message takes at least 4 bytes.
      assert.ok(found.pli + found.fir + found.nack <= Math.floor(bytes.length / 4));
      for (const n of Object.values(found)) assert.ok(Number.isInteger(n) && n >= 0);
    }),
    { numRuns: 2000 },
  );
});
