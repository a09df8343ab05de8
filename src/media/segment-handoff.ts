import { InvalidArgumentError } from '../core/errors.js';
import { packedSize, type Frame } from '../core/frame.js';
import { copyPacked } from './frame-ring.js';
import type { VideoPacket } from '../core/packet.js';
import type { SegmentAudio, SegmentAudioOptions, WorkerCommand } from './segment-types.js';

/**
 * Checks a frame handed to segment `segment` of a `width`x`height` stream.
 * @throws InvalidArgumentError when the frame is not a Frame of the stream's size.
 */
export function checkFrame(segment: number, frame: Frame, width: number, height: number): void {
  if (frame?.kind !== 'frame') throw new InvalidArgumentError('addFrame() takes a Frame.');
  if (frame.width !== width || frame.height !== height) {
    throw new InvalidArgumentError(`Frame of segment ${segment} is ${frame.width}x${frame.height}; this stream is ${width}x${height}, every frame must have its size.`);
  }
}

/**
 * Copies a checked frame's pixels, tightly packed, into a fresh buffer the worker can own: the
 * producer may overwrite its own buffers as soon as this returns.
 */
export function frameCommand(segment: number, frame: Frame): { command: WorkerCommand; transfer: ArrayBuffer[] } {
  // Not zero-filled (every byte is copied over) and its own ArrayBuffer, so it can be transferred.
  const bytes = Buffer.allocUnsafeSlow(packedSize(frame.format, frame.width, frame.height));
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  copyPacked(frame, data, 0);
  const { width, height } = frame;
  return { command: { type: 'frame', segment, width, height, format: frame.format, data }, transfer: [data.buffer as ArrayBuffer] };
}

/** Copies a ready packet for the worker. */
export function packetCommand(segment: number, packet: VideoPacket): { command: WorkerCommand; transfer: ArrayBuffer[] } {
  if (packet?.kind !== 'video-packet') throw new InvalidArgumentError('addPacket() takes a VideoPacket.');
  const data = packet.data.slice();
  return {
    command: { type: 'packet', segment, codec: packet.codec, data, key: packet.key, width: packet.width, height: packet.height },
    transfer: [data.buffer],
  };
}

/**
 * Checks PCM and gives it as float32, skipping the first `skip` samples per channel: a view of
 * the caller's own samples for float32 input (the handoff copies it once, into the ring or a
 * buffer of its own), a new array for int16.
 * @throws InvalidArgumentError for a rate or channel count other than the stream's, a sample
 *   array that is not whole sample times, or samples that are NaN or infinite.
 */
export function audioSamples(segment: number, audio: SegmentAudio, stream: SegmentAudioOptions | undefined, skip: number): Float32Array {
  if (!stream) throw new InvalidArgumentError('This stream has no audio track; create the streamer with `audio` options.');
  if (audio?.sampleRate !== stream.sampleRate) {
    throw new InvalidArgumentError(`Audio of segment ${segment} is at ${String(audio?.sampleRate)} Hz; this stream is ${stream.sampleRate} Hz (resample before handing it over).`);
  }
  if (audio.channels !== stream.channels) {
    throw new InvalidArgumentError(`Audio of segment ${segment} has ${String(audio.channels)} channel(s); this stream has ${stream.channels}.`);
  }
  const { samples } = audio;
  if (!(samples instanceof Float32Array || samples instanceof Int16Array)) throw new InvalidArgumentError('Audio samples must be a Float32Array or an Int16Array.');
  if (samples.length % stream.channels !== 0) {
    throw new InvalidArgumentError(`Audio of segment ${segment} has ${samples.length} values, not a whole number of ${stream.channels}-channel samples.`);
  }
  const from = Math.min(samples.length, skip * stream.channels);
  if (samples instanceof Int16Array) {
    const out = new Float32Array(samples.length - from);
    for (let i = 0; i < out.length; i++) out[i] = samples[from + i] / 32768;
    return out;
  }
  // Trimmed samples are checked too: a non-finite value anywhere is a producer bug worth naming.
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i])) throw new InvalidArgumentError(`Audio of segment ${segment} has a non-finite sample (${samples[i]}) at value ${i}.`);
  }
  return samples.subarray(from);
}
