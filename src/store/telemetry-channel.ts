import { InvalidArgumentError } from '../core/errors.js';
import { lcmJsonSchema, lcmValueToJson } from '../wire/lcm-json.js';
import type { LcmMessageType } from '../wire/lcm-struct-codec.js';
import type { McapFileWriter } from './mcap-file-writer.js';
import { openMcapSource } from './mcap-source.js';

/** Channel metadata key naming the LCM type of a telemetry channel (`package.name`). */
export const LCM_TYPE_METADATA = 'framebus.lcm_type';
/** Channel metadata key with the LCM fingerprint as 16 hex digits. */
export const LCM_FINGERPRINT_METADATA = 'framebus.lcm_fingerprint';

const MAX_TIMESTAMP = (1n << 64n) - 1n;

/**
 * One typed telemetry topic in a recording: an MCAP channel with `json` messages and a
 * `jsonschema` schema derived from the LCM type (so Foxglove shows and plots the fields), and
 * the LCM type's name and fingerprint in the channel metadata (so `play` can republish it).
 */
export class TelemetryChannel {
  private channelId: Promise<number> | undefined;
  private sequence = 0;
  /** Messages written. */
  messages = 0;

  /** @internal Use `Recording.addTelemetry`. */
  constructor(
    private readonly file: McapFileWriter,
    /** The MCAP topic, the bus topic it was recorded from. */
    readonly topic: string,
    /** The LCM type of its messages. */
    readonly type: LcmMessageType<unknown>,
  ) {}

  private channel(): Promise<number> {
    this.channelId ??= (async () => {
      const schema = JSON.stringify(lcmJsonSchema(this.type.struct));
      const schemaId = await this.file.registerSchema({ name: this.type.name, encoding: 'jsonschema', data: new TextEncoder().encode(schema) });
      return this.file.registerChannel({
        schemaId,
        topic: this.topic,
        messageEncoding: 'json',
        metadata: new Map([
          [LCM_TYPE_METADATA, this.type.name],
          [LCM_FINGERPRINT_METADATA, this.type.fingerprint.toString(16).padStart(16, '0')],
        ]),
      });
    })();
    return this.channelId;
  }

  /**
   * Stores one decoded message received at `logTime` (ns since the Unix epoch).
   * @throws InvalidArgumentError for a time outside 0 … 2^64−1.
   */
  async write(logTime: bigint, value: unknown): Promise<void> {
    if (typeof logTime !== 'bigint' || logTime < 0n || logTime > MAX_TIMESTAMP) {
      throw new InvalidArgumentError(`Telemetry ${this.topic}: times must be bigint ns since the Unix epoch, got ${String(logTime)}.`);
    }
    const data = new TextEncoder().encode(JSON.stringify(lcmValueToJson(value)));
    const channelId = await this.channel();
    await this.file.addMessages([{ channelId, sequence: this.sequence++, logTime, publishTime: logTime, data }]);
    this.messages++;
  }
}

/** A telemetry channel read back from a recording. */
export interface RecordedTelemetry {
  readonly topic: string;
  /** The LCM type name from the channel metadata (or the schema name). */
  readonly typeName: string;
  /** The JSON Schema stored with the channel. */
  readonly schema: object;
  /** Messages in log time order: time, and the JSON text as stored. */
  readonly messages: readonly { readonly logTime: bigint; readonly json: string }[];
}

/** Most telemetry messages read per channel: telemetry is small, and memory stays bounded. */
const MAX_MESSAGES = 200_000;

/**
 * The telemetry channels of a recording (JSON messages with a JSON Schema and an LCM type in
 * their metadata) with their messages. A damaged chunk is skipped, not fatal.
 * @throws the errors of opening the recording.
 */
export async function readTelemetry(path: string): Promise<RecordedTelemetry[]> {
  const source = await openMcapSource(path);
  try {
    const found = new Map<number, RecordedTelemetry & { messages: { logTime: bigint; json: string }[] }>();
    for (const channel of source.channels.values()) {
      const schema = source.schemas.get(channel.schemaId);
      if (channel.messageEncoding !== 'json' || schema?.encoding !== 'jsonschema' || !channel.metadata.has(LCM_TYPE_METADATA)) continue;
      let parsed: object;
      try {
        parsed = JSON.parse(new TextDecoder().decode(schema.data)) as object;
      } catch {
        continue;
      }
      found.set(channel.id, { topic: channel.topic, typeName: channel.metadata.get(LCM_TYPE_METADATA) ?? schema.name, schema: parsed, messages: [] });
    }
    if (found.size === 0) return [];
    const text = new TextDecoder();
    for (const chunk of source.chunks) {
      if (![...chunk.channels].some((id) => found.has(id))) continue;
      let messages;
      try {
        messages = await source.loadChunk(chunk.position);
      } catch {
        continue;
      }
      for (const m of messages) {
        const t = found.get(m.channelId);
        if (t && t.messages.length < MAX_MESSAGES) t.messages.push({ logTime: m.logTime, json: text.decode(m.data) });
      }
    }
    for (const t of found.values()) t.messages.sort((a, b) => (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0));
    return [...found.values()];
  } finally {
    await source.close();
  }
}
