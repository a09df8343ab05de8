import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PixelConverter } from '../codec/pixel-converter.js';
import { VideoDecoder } from '../codec/video-decoder.js';
import type { VideoPacket } from '../core/packet.js';
import { frameHash, packetsOf, recordSynthetic, T0, tempDir } from '../../test/store/fixtures.js';
import { ChunkCache } from './chunk-cache.js';
import { messageDecoder } from '../wire/foxglove-messages.js';
import { FrameIdChannels } from './frame-id-channels.js';
import { openMcapSource, type McapSource } from './mcap-source.js';
import { StreamCursor } from './stream-cursor.js';
import { IndexDisagreementError } from './stream-index-check.js';
import { decodeItem } from './stream-message.js';
import { VideoSeeker } from './video-seeker.js';

let dir: string;
let cleanup: () => Promise<void>;
let path: string;
const reference = new Map<bigint, string>();
const FRAME_NS = 33_333_333n;
const GOP = 10;
/** Bytes of one decoded 160x120 yuv420p frame: what the seeker keeps. */
const FRAME_BYTES = 160 * 120 * 1.5;

before(async () => {
  ({ dir, cleanup } = await tempDir());
  path = join(dir, 'seek.mcap');
  await recordSynthetic(path, { frames: 60, width: 160, height: 120, streamOptions: { encoder: { gop: GOP } }, recording: { maxChunkBytes: 4 * 1024 } });
  const decoder = await VideoDecoder.create({ codec: 'h264' });
  for (const p of await packetsOf(path, 'camera')) for (const f of await decoder.decode(p)) reference.set(f.timestamp, frameHash(f));
  decoder.close();
});
after(() => cleanup());

/** A seeker over the file's camera stream, keeping at most `limit` bytes of frames. */
function seekerOf(source: McapSource, converter: PixelConverter, limit: number): { seeker: VideoSeeker; cursor: StreamCursor } {
  const channel = [...source.channels.values()].find((c) => c.topic === 'camera')!;
  const schema = source.schemas.get(channel.schemaId)!;
  const decode = messageDecoder(schema.name, schema.encoding, schema.data, channel.messageEncoding);
  const cache = new ChunkCache(source, new FrameIdChannels(source.schemas, source.channels), 1 << 20);
  const positions = source.chunks.filter((c) => c.channels.has(channel.id)).map((c) => c.position);
  const cursor = new StreamCursor('camera', source, cache, channel.id, positions);
  const item = async (e: { logTime: bigint; sequence: number; frameId: number; data: Uint8Array }) =>
    decodeItem(decode(e.data), { codec: 'h264', width: 160, height: 120, sequence: e.sequence, frameId: e.frameId, logTime: e.logTime }) as VideoPacket;
  return { seeker: new VideoSeeker({ cursor, codec: 'h264', framebusWritten: true, item }, converter, limit), cursor };
}

describe('VideoSeeker', () => {
  for (const frames of [0, 1, 5]) {
    test(`keeps at most ${frames} decoded frames' bytes, and every frame it answers is the sequential decode's`, async () => {
      const source = await openMcapSource(path);
      const converter = new PixelConverter();
      const limit = frames * FRAME_BYTES;
      const { seeker, cursor } = seekerOf(source, converter, limit);
      try {
        // Random order, then each frame twice in a row: both the decoding and the cached path.
        const order = Array.from({ length: 60 }, (_, n) => (n * 37) % 60).flatMap((n) => [n, n]);
        let held = 0;
        for (const n of order) {
          const t = T0 + BigInt(n) * FRAME_NS;
          const { loc, entry } = await cursor.nearest(t);
          const frame = await seeker.frameAt(loc, entry, T0 + BigInt(n - (n % GOP)) * FRAME_NS, 'rgb24');
          assert.equal(frame.timestamp, t);
          assert.equal(frameHash(frame), reference.get(t), `frame ${n}`);
          assert.ok(seeker.cachedBytes <= limit, `${seeker.cachedBytes} bytes of frames held, limit ${limit}`);
          held = Math.max(held, seeker.cachedBytes);
        }
        assert.equal(held, limit, 'the cache fills up to its bound');
      } finally {
        await seeker.close();
        converter.close();
        await source.close();
      }
    });
  }

  test('a key packet time the stream does not hold (a wrong index) is a typed error, not a wrong frame', async () => {
    const source = await openMcapSource(path);
    const converter = new PixelConverter();
    const { seeker, cursor } = seekerOf(source, converter, 1 << 20);
    try {
      const { loc, entry } = await cursor.nearest(T0 + 15n * FRAME_NS);
      await assert.rejects(seeker.frameAt(loc, entry, T0 + 10n * FRAME_NS + 1n, 'rgb24'), (e: Error) => e instanceof IndexDisagreementError && /key packet at .* where the stream has none/.test(e.message));
      await assert.rejects(seeker.frameAt(loc, entry, T0 + 12n * FRAME_NS, 'rgb24'), (e: Error) => e instanceof IndexDisagreementError && /where the stream's packet is not one/.test(e.message));
      assert.equal(frameHash(await seeker.frameAt(loc, entry, T0 + 10n * FRAME_NS, 'rgb24')), reference.get(T0 + 15n * FRAME_NS));
    } finally {
      await seeker.close();
      converter.close();
      await source.close();
    }
  });
});
