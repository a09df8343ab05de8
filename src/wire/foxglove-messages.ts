import protobufjs from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import foxgloveSchemas from '@foxglove/schemas/internal.js';
import { MalformedDataError } from '../core/errors.js';

/** Foxglove schema names of the messages a recording stores, as Foxglove looks them up. */
export const SCHEMA_NAMES = {
  video: 'foxglove.CompressedVideo',
  image: 'foxglove.CompressedImage',
  raw: 'foxglove.RawImage',
  frameId: 'framebus.FrameId',
} as const;
export type SchemaKind = keyof typeof SCHEMA_NAMES;

/** The MCAP schema and message encoding Foxglove decodes with the FileDescriptorSet alone. */
export const PROTOBUF_ENCODING = 'protobuf';

/**
 * framebus's one schema of its own: the caller-defined frame id of a packet whose frame id is
 * not its sequence number (Foxglove's `frame_id` is a coordinate frame, not a counter).
 */
const FRAME_ID_PROTO = `syntax = "proto3";
package framebus;
message FrameId {
  uint32 sequence = 1;
  sint64 frame_id = 2;
}`;

/** `foxglove.CompressedVideo` as it is encoded and decoded. */
export interface CompressedVideoMessage {
  timestamp: bigint;
  frameId: string;
  data: Uint8Array;
  format: string;
}

/** `foxglove.CompressedImage`. */
export interface CompressedImageMessage {
  timestamp: bigint;
  frameId: string;
  data: Uint8Array;
  format: string;
}

/** `foxglove.RawImage`. */
export interface RawImageMessage {
  timestamp: bigint;
  frameId: string;
  width: number;
  height: number;
  encoding: string;
  /** Bytes per row. */
  step: number;
  data: Uint8Array;
}

/** `framebus.FrameId`. */
export interface FrameIdMessage {
  sequence: number;
  frameId: number;
}

interface Compiled {
  type: protobufjs.Type;
  /** A serialized FileDescriptorSet: the MCAP schema data Foxglove expects for protobuf. */
  schemaData: Uint8Array;
}

const compiled = new Map<SchemaKind, Compiled>();

function protoText(kind: SchemaKind): string {
  const { foxgloveMessageSchemas, generateProto } = foxgloveSchemas;
  switch (kind) {
    case 'video':
      return generateProto(foxgloveMessageSchemas.CompressedVideo, []);
    case 'image':
      return generateProto(foxgloveMessageSchemas.CompressedImage, []);
    case 'raw':
      return generateProto(foxgloveMessageSchemas.RawImage, []);
    case 'frameId':
      return FRAME_ID_PROTO;
  }
}

function compile(kind: SchemaKind): Compiled {
  let c = compiled.get(kind);
  if (c) return c;
  const { root } = protobufjs.parse(protoText(kind), { keepCase: true });
  const timestamp = protobufjs.common.get('google/protobuf/timestamp.proto');
  if (kind !== 'frameId' && timestamp?.nested) root.addJSON(timestamp.nested);
  root.resolveAll();
  const type = root.lookupType(SCHEMA_NAMES[kind]);
  const schemaData = descriptor.FileDescriptorSet.encode(root.toDescriptor('proto3')).finish();
  c = { type, schemaData };
  compiled.set(kind, c);
  return c;
}

/** The MCAP schema record content (name, encoding, data) of one message kind. */
export function schemaFor(kind: SchemaKind): { name: string; encoding: string; data: Uint8Array } {
  return { name: SCHEMA_NAMES[kind], encoding: PROTOBUF_ENCODING, data: compile(kind).schemaData };
}

function toTimestamp(ns: bigint): { seconds: number; nanos: number } {
  return { seconds: Number(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) };
}

/** Reads a protobuf `Timestamp` (`seconds`/`nanos`) or Foxglove's JSON time (`sec`/`nsec`). */
function fromTimestamp(t: unknown): bigint {
  if (typeof t !== 'object' || t === null) return 0n;
  const o = t as Record<string, unknown>;
  const seconds = BigInt(String(o.seconds ?? o.sec ?? 0));
  const nanos = BigInt(String(o.nanos ?? o.nsec ?? 0));
  return seconds * 1_000_000_000n + nanos;
}

/** Encodes a `foxglove.CompressedVideo`; `data` goes in unchanged. */
export function encodeCompressedVideo(m: CompressedVideoMessage): Uint8Array {
  const { type } = compile('video');
  return type.encode({ timestamp: toTimestamp(m.timestamp), frame_id: m.frameId, data: m.data, format: m.format }).finish();
}

/** Encodes a `foxglove.CompressedImage`. */
export function encodeCompressedImage(m: CompressedImageMessage): Uint8Array {
  const { type } = compile('image');
  return type.encode({ timestamp: toTimestamp(m.timestamp), frame_id: m.frameId, data: m.data, format: m.format }).finish();
}

/** Encodes a `foxglove.RawImage`. */
export function encodeRawImage(m: RawImageMessage): Uint8Array {
  const { type } = compile('raw');
  return type
    .encode({ timestamp: toTimestamp(m.timestamp), frame_id: m.frameId, width: m.width, height: m.height, encoding: m.encoding, step: m.step, data: m.data })
    .finish();
}

/** Encodes a `framebus.FrameId`. */
export function encodeFrameId(m: FrameIdMessage): Uint8Array {
  return compile('frameId').type.encode({ sequence: m.sequence, frame_id: m.frameId }).finish();
}

/**
 * A decoder for messages of one MCAP channel. Files written by other tools may carry their own
 * protobuf descriptor or JSON; both decode to the same shape.
 */
export type MessageDecoder = (data: Uint8Array) => Record<string, unknown>;

/**
 * Builds a decoder for messages of `schemaName` in `encoding` with the channel's schema data.
 * @throws MalformedDataError for an encoding framebus cannot read or a schema that does not parse.
 */
export function messageDecoder(schemaName: string, schemaEncoding: string, schemaData: Uint8Array, messageEncoding: string): MessageDecoder {
  if (messageEncoding === 'json') {
    const text = new TextDecoder();
    return (data) => {
      const o = JSON.parse(text.decode(data)) as Record<string, unknown>;
      if (typeof o.data === 'string') o.data = Buffer.from(o.data, 'base64');
      return o;
    };
  }
  if (messageEncoding !== PROTOBUF_ENCODING || schemaEncoding !== PROTOBUF_ENCODING) {
    throw new MalformedDataError(
      `Messages of ${schemaName} are encoded as ${messageEncoding || 'nothing'} (schema ${schemaEncoding || 'none'}); framebus reads protobuf and JSON.`,
    );
  }
  let type: protobufjs.Type;
  try {
    type = protobufjs.Root.fromDescriptor(schemaData, { keepCase: true }).lookupType(schemaName);
  } catch (error) {
    throw new MalformedDataError(`The protobuf schema of ${schemaName} does not parse: ${(error as Error).message}`, { cause: error });
  }
  return (data) => type.toObject(type.decode(data), { longs: String }) as Record<string, unknown>;
}

/** Reads the fields every Foxglove image message shares from a decoded message. */
export function imageFields(m: Record<string, unknown>): { timestamp: bigint; frameId: string; data: Uint8Array } {
  const data = m.data;
  if (!(data instanceof Uint8Array)) throw new MalformedDataError('The message has no image data.');
  let timestamp: bigint;
  try {
    timestamp = fromTimestamp(m.timestamp);
  } catch (error) {
    throw new MalformedDataError(`The message's timestamp is not a time: ${(error as Error).message}`, { cause: error });
  }
  return { timestamp, frameId: typeof m.frame_id === 'string' ? m.frame_id : '', data };
}
