import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MalformedDataError } from '../core/errors.js';
import { splitAnnexB, unescapeRbsp } from './annexb.js';
import { buildAvcC, findH264ParameterSets, h264CodecString, parseH264Sps } from './h264-sps.js';
import { isKeyAccessUnit } from './keyframe-detect.js';
import { VideoEncoder } from './video-encoder.js';
import { SyntheticSource } from '../source/synthetic-source.js';

test('splitAnnexB finds NAL units at 3- and 4-byte start codes', () => {
  const data = new Uint8Array([0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5]);
  const nals = splitAnnexB(data).map((n) => [...n.data]);
  assert.deepEqual(nals, [[0x67, 1, 2], [0x68, 3], [0x65, 4, 5]]);
});

test('splitAnnexB rejects data without a leading start code', () => {
  assert.throws(() => splitAnnexB(new Uint8Array([1, 2, 3, 4])), MalformedDataError);
  assert.throws(() => splitAnnexB(new Uint8Array([0, 0, 1])), MalformedDataError);
});

test('unescapeRbsp drops emulation prevention bytes', () => {
  assert.deepEqual([...unescapeRbsp(new Uint8Array([0x67, 0, 0, 3, 1, 0, 0, 3, 0]))], [0x67, 0, 0, 1, 0, 0, 0]);
});

test('SPS parser reads size, profile and level of real libx264 output; codec string and avcC follow', async () => {
  for (const [width, height] of [
    [640, 480],
    [322, 242],
  ]) {
    const enc = await VideoEncoder.create({ width, height, log: () => {} });
    const frame = new SyntheticSource({ width: 640, height: 480 }).render(0, 0n);
    const [packet] = await enc.encode(frame);
    enc.close();
    const { sps, pps } = findH264ParameterSets(packet.data);
    assert.equal(sps.length, 1);
    assert.equal(pps.length, 1);
    const info = parseH264Sps(sps[0]);
    assert.equal(info.width, width);
    assert.equal(info.height, height);
    assert.equal(info.chromaFormat, 1);
    assert.match(h264CodecString(info), /^avc1\.[0-9a-f]{6}$/);
    assert.equal(h264CodecString(info).slice(5, 7), info.profile.toString(16).padStart(2, '0'));
    const avcc = buildAvcC(sps, pps);
    assert.equal(avcc[0], 1);
    assert.equal(avcc[1], info.profile);
    assert.equal(avcc[5] & 0x1f, 1);
  }
});

test('property: the parsers survive 10,000 mutated packets with only MalformedDataError', async () => {
  const enc = await VideoEncoder.create({ width: 160, height: 120, gop: 5, log: () => {} });
  const scene = new SyntheticSource({ width: 160, height: 120 });
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 10; i++) for (const p of await enc.encode(scene.render(i, BigInt(i)))) packets.push(p.data);
  enc.close();
  const mutated = fc
    .tuple(fc.constantFrom(...packets), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(), fc.boolean())
    .map(([base, edits, cut, truncate]) => {
      const data = Uint8Array.from(base);
      for (const [pos, value] of edits) data[pos % data.length] = value;
      return truncate ? data.subarray(0, cut % (data.length + 1)) : data;
    });
  fc.assert(
    fc.property(mutated, (data) => {
      for (const fn of [
        () => isKeyAccessUnit('h264', data),
        () => isKeyAccessUnit('h265', data),
        () => isKeyAccessUnit('av1', data),
        () => findH264ParameterSets(data).sps.forEach((s) => parseH264Sps(s)),
      ]) {
        try {
          fn();
        } catch (error) {
          assert.ok(error instanceof MalformedDataError, `unexpected ${String(error)}`);
        }
      }
    }),
    { numRuns: 10_000 },
  );
});
