import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { H264RtpDepacketizer, type RtpAccessUnit } from './h264-rtp.js';

/** A slice NAL unit (IDR or not); `first` sets first_mb_in_slice = 0 (the first slice of a picture). */
const slice = (first: boolean) =>
  fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom(1, 5), fc.uint8Array({ minLength: 1, maxLength: 3000 }))
    .map(([nri, type, body]) => Uint8Array.of((nri << 5) | type, first ? body[0] | 0x80 : body[0] & 0x7f, ...body.subarray(1)));
/** An SEI or PPS NAL unit, which only precedes the first slice (an SPS comes first of all, see keyUnit). */
const parameterSet = fc
  .tuple(fc.constantFrom(6, 8), fc.uint8Array({ minLength: 1, maxLength: 200 }))
  .map(([type, body]) => Uint8Array.of(0x60 | type, ...body));
/** One access unit as an encoder writes it: parameter sets, the first slice, more slices. */
const accessUnit = fc
  .tuple(fc.array(parameterSet, { maxLength: 2 }), slice(true), fc.array(slice(false), { maxLength: 3 }))
  .map(([sets, first, rest]) => [...sets, first, ...rest]);
/** A key frame's access unit: an SPS first, as WebRTC senders write it. */
const keyUnit = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 30 }), accessUnit)
  .map(([sps, nals]) => [Uint8Array.of(0x67, ...sps), ...nals]);
/** A stream a receiver can join at its start: a key frame, then any access units. */
const stream = (max: number) => fc.tuple(keyUnit, fc.array(accessUnit, { maxLength: max - 1 })).map(([key, rest]) => [key, ...rest]);
/** Any one NAL unit. */
const nalUnit = fc.oneof(slice(true), slice(false), parameterSet);

const START = Uint8Array.of(0, 0, 0, 1);

function rtp(sequence: number, timestamp: number, marker: boolean, payload: Uint8Array): Uint8Array {
  const packet = new Uint8Array(12 + payload.length);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80;
  packet[1] = (marker ? 0x80 : 0) | 102;
  view.setUint16(2, sequence & 0xffff);
  view.setUint32(4, timestamp >>> 0);
  view.setUint32(8, 0x1234);
  packet.set(payload, 12);
  return packet;
}

/**
 * The test's own RFC 6184 packetizer (mode 1): small NAL units in pairs as STAP-A, one alone as
 * a single NAL unit packet, large ones split into FU-A fragments of at most `mtu` bytes.
 */
function payloads(nals: Uint8Array[], mtu: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < nals.length; i++) {
    const nal = nals[i];
    const next = nals[i + 1];
    if (next && nal.length + next.length + 5 <= mtu) {
      out.push(Uint8Array.of(24 | (nal[0] & 0x60), nal.length >> 8, nal.length & 0xff, ...nal, next.length >> 8, next.length & 0xff, ...next));
      i++;
    } else if (nal.length <= mtu) {
      out.push(nal);
    } else {
      const body = nal.subarray(1);
      for (let at = 0; at < body.length; at += mtu - 2) {
        const start = at === 0;
        const end = at + mtu - 2 >= body.length;
        out.push(Uint8Array.of((nal[0] & 0xe0) | 28, (start ? 0x80 : 0) | (end ? 0x40 : 0) | (nal[0] & 0x1f), ...body.subarray(at, at + mtu - 2)));
      }
    }
  }
  return out;
}

function annexB(nals: Uint8Array[]): Uint8Array {
  return Buffer.concat(nals.flatMap((n) => [START, n]));
}

test('access units packetized as single NAL, STAP-A and FU-A come back byte for byte', () => {
  fc.assert(
    fc.property(stream(6), fc.integer({ min: 64, max: 1200 }), fc.integer({ min: 0, max: 0xffff }), (units, mtu, firstSequence) => {
      const depacketizer = new H264RtpDepacketizer();
      let sequence = firstSequence;
      units.forEach((nals, u) => {
        const parts = payloads(nals, mtu);
        let unit: RtpAccessUnit | undefined;
        for (const [i, payload] of parts.entries()) {
          unit = depacketizer.push(rtp(sequence++, u * 3000, i === parts.length - 1, payload));
          if (i < parts.length - 1) assert.equal(unit, undefined);
        }
        assert.ok(unit, `access unit ${u} was completed by its marker packet`);
        assert.deepEqual(Buffer.from(unit.data), Buffer.from(annexB(nals)));
        assert.equal(unit.rtpTimestamp, u * 3000);
        assert.equal(unit.afterLoss, false);
      });
      assert.equal(depacketizer.stats.malformed, 0);
      assert.equal(depacketizer.stats.gaps, 0);
    }),
    { numRuns: 150 },
  );
});

test('with packets lost (the first ones too), every access unit that comes out is whole, and the first after a loss says so', () => {
  fc.assert(
    fc.property(
      stream(6),
      fc.integer({ min: 64, max: 600 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
      (units, mtu, lossPicks) => {
        const packets: { packet: Uint8Array; unit: number }[] = [];
        let sequence = 0;
        units.forEach((nals, u) => {
          const parts = payloads(nals, mtu);
          parts.forEach((payload, i) => packets.push({ packet: rtp(sequence++, u * 3000, i === parts.length - 1, payload), unit: u }));
        });
        const lost = new Set(lossPicks.map((n) => n % packets.length));
        const depacketizer = new H264RtpDepacketizer();
        let heard = false;
        let lostSinceLast = false;
        packets.forEach(({ packet, unit: u }, i) => {
          if (lost.has(i)) {
            // A loss before the first packet heard is no loss to the receiver: it just joined.
            lostSinceLast ||= heard;
            return;
          }
          heard = true;
          const unit = depacketizer.push(packet);
          if (!unit) return;
          assert.deepEqual(Buffer.from(unit.data), Buffer.from(annexB(units[u])), 'never a damaged access unit');
          if (lostSinceLast) assert.equal(unit.afterLoss, true, 'the first unit after a loss is marked');
          lostSinceLast = false;
        });
      },
    ),
    { numRuns: 150 },
  );
});

test('garbage packets are counted and dropped, never thrown, and the next clean access unit still comes out', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 40 }), nalUnit, (garbage, nal) => {
      const depacketizer = new H264RtpDepacketizer(64 * 1024);
      for (const packet of garbage) depacketizer.push(packet);
      assert.equal(depacketizer.stats.packets, garbage.length);
      // A fresh timestamp and sequence after the garbage: one clean single-NAL access unit.
      depacketizer.push(rtp(40_000, 999_000, true, Uint8Array.of(1)));
      const unit = depacketizer.push(rtp(40_001, 1_002_000, true, nal));
      assert.ok(unit);
      assert.deepEqual(Buffer.from(unit.data), Buffer.from(annexB([nal])));
    }),
    { numRuns: 300 },
  );
});
