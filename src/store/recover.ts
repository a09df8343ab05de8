import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { McapIndexedReader, type Channel, type Metadata, type Schema } from '@mcap/core';
import { FileHandleReadable } from '@mcap/nodejs';
import { fileSystemError, InvalidArgumentError, MalformedDataError } from '../core/errors.js';
import { checkOutputPath } from '../core/output-file.js';
import { messageDecoder } from '../wire/foxglove-messages.js';
import { checkRecordingFile } from './mcap-source.js';
import { McapFileWriter } from './mcap-file-writer.js';
import { salvageMcap, type ReadableCounts, type Salvage, type SalvagedMessage } from './mcap-salvage.js';
import { STREAM_INDEX_METADATA, STREAM_SCHEMAS } from './recording-format.js';
import { StreamIndexer } from './stream-indexer.js';
import { indexToMetadata, type StreamIndex } from './stream-index.js';

/** How to recover a file. */
export interface RecoverOptions {
  /**
   * Where to write the recovered file; it must not exist and must not be the input. Default: replace `path`, keeping
   * the original beside it as `<path>.orig`.
   */
  output?: string;
  /** Called as the damaged file is searched: bytes searched so far and its size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** What `recover` found and wrote. */
export interface RecoverSummary {
  /** The recovered file. */
  output: string;
  /** Where the input was kept when it was replaced (`<path>.orig`, or `.orig-2`… when taken); undefined when `output` was given. */
  original: string | undefined;
  /**
   * True when the input was already whole: a valid summary and stream indexes, every chunk
   * intact, every byte part of a record. Never true when anything was dropped or rebuilt.
   */
  wasComplete: boolean;
  /** Messages written. At least as many as any way of reading the input could read (`readable`). */
  messages: number;
  /** Distinct messages each way of reading the input could read from it. */
  readable: ReadableCounts;
  /** Bytes of the input that belong to no readable record. */
  lostBytes: number;
  /** What was wrong with the input, in words. */
  problems: string[];
  /** The rebuilt index of every video and image stream. */
  streams: StreamIndex[];
}

/** Temp files are named `<output><TEMP_MARK><pid>-<random>`: the pid tells a stale one (its process is gone) from a running recover's. */
const TEMP_MARK = '.recovering-';

/**
 * Rewrites an unfinished or damaged MCAP file (a recorder killed mid-write, a truncated or
 * corrupted copy) as a complete, indexed one, without ever reducing what can be read:
 * everything any way of reading the input finds (summary, record scan, search for intact
 * chunks; schemas and channels from the summary or any chunk) goes into a new file in log
 * time order, with fresh stream indexes; the new file is read back and must hold every one of
 * those messages before it replaces anything. In place (the default) the input is kept as
 * `<path>.orig`. Temp files of a killed earlier run on the same output are removed.
 * @throws NotFoundError when `path` does not exist; InvalidArgumentError when it is a folder or
 *   `output` exists; MalformedDataError when nothing in it is MCAP or the new file fails its
 *   read-back check (the input is then left as it was).
 */
export async function recover(path: string, options: RecoverOptions = {}): Promise<RecoverSummary> {
  const { output, inPlace } = await chooseOutput(path, options.output);
  await removeStaleTemps(output);
  const salvage = await salvageMcap(path, options.onProgress);
  const temp = `${output}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    // The salvage reads the input's chunks again while writing; then the input is closed.
    const { streams, staleIndexes } = await writeRecovered(temp, salvage).finally(() => salvage.close());
    await checkHoldsAll(temp, salvage.messages);
    let original: string | undefined;
    if (inPlace) {
      original = await keepOriginal(path);
      await rename(temp, path);
    } else {
      await linkNew(temp, output);
      await rm(temp, { force: true });
    }
    return {
      output,
      original,
      wasComplete: salvage.complete && staleIndexes.length === 0,
      messages: salvage.messages.length,
      readable: salvage.readable,
      lostBytes: salvage.lostBytes,
      problems: [...salvage.problems, ...staleIndexes.map((name) => `the stored index of stream ${name} did not match its messages (rebuilt)`)],
      streams,
    };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function chooseOutput(path: string, requested: string | undefined): Promise<{ output: string; inPlace: boolean }> {
  await checkRecordingFile(path);
  const input = await stat(path);
  if (requested === undefined) return { output: path, inPlace: true };
  if (typeof requested !== 'string' || requested.length === 0) throw new InvalidArgumentError('The output path must be a non-empty string.');
  const existing = await stat(requested).catch(() => undefined);
  if (existing && existing.dev === input.dev && existing.ino === input.ino) {
    throw new InvalidArgumentError(`${requested} is the input ${path}; to recover in place, leave out the output (the original is kept as .orig).`);
  }
  await checkOutputPath(requested, { inputs: [path], overwrite: true });
  if (existing) throw new InvalidArgumentError(`${requested} already exists; choose another output path.`);
  return { output: requested, inPlace: false };
}

/** Removes temp files left by a recover of `output` that was killed (its process no longer runs). */
async function removeStaleTemps(output: string): Promise<void> {
  const prefix = `${basename(output)}${TEMP_MARK}`;
  const names = await readdir(dirname(output)).catch(() => [] as string[]);
  for (const name of names) {
    const pid = name.startsWith(prefix) ? /^(\d+)(-[0-9a-f]+)?$/.exec(name.slice(prefix.length))?.[1] : undefined;
    if (pid !== undefined && !isRunning(Number(pid))) await rm(join(dirname(output), name), { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Keeps the input beside itself under a name no file has yet; a hard link where possible, else a copy. */
async function keepOriginal(path: string): Promise<string> {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? `${path}.orig` : `${path}.orig-${n}`;
    try {
      await link(path, candidate);
      return candidate;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      try {
        await copyFile(path, candidate, constants.COPYFILE_EXCL);
        return candidate;
      } catch (copyError) {
        if ((copyError as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw fileSystemError(copyError, `Cannot keep the original of ${path} as ${candidate}`);
      }
    }
  }
}

/** Puts `temp` at `output` unless something appeared there meanwhile. */
async function linkNew(temp: string, output: string): Promise<void> {
  try {
    await link(temp, output);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new InvalidArgumentError(`${output} already exists; choose another output path.`);
    await rename(temp, output);
  }
}

async function writeRecovered(temp: string, salvage: Salvage): Promise<{ streams: StreamIndex[]; staleIndexes: string[] }> {
  const writer = await McapFileWriter.create(temp, { flushInterval: 3600 });
  try {
    const schemaIds = new Map<string, number>();
    const channelIds = new Map<string, number>();
    const byChannel = new Map<Channel, number>();
    const tracks = new Map<number, StreamIndexer>();

    const schemaFor = async (schema: Schema): Promise<number> => {
      const key = `${schema.name}\u0000${schema.encoding}\u0000${Buffer.from(schema.data).toString('base64')}`;
      let id = schemaIds.get(key);
      if (id === undefined) {
        id = await writer.registerSchema({ name: schema.name, encoding: schema.encoding, data: schema.data });
        schemaIds.set(key, id);
      }
      return id;
    };

    const channelFor = async (m: SalvagedMessage): Promise<number> => {
      let id = byChannel.get(m.channel);
      if (id !== undefined) return id;
      const { channel, schema } = m;
      const key = JSON.stringify([channel.topic, channel.messageEncoding, schema?.name, schema?.encoding, schema && Buffer.from(schema.data).toString('base64'), [...channel.metadata]]);
      id = channelIds.get(key);
      if (id === undefined) {
        const schemaId = schema ? await schemaFor(schema) : 0;
        id = await writer.registerChannel({ schemaId, topic: channel.topic, messageEncoding: channel.messageEncoding, metadata: channel.metadata });
        channelIds.set(key, id);
        if (schema && STREAM_SCHEMAS.has(schema.name)) {
          try {
            const decode = messageDecoder(schema.name, schema.encoding, schema.data, channel.messageEncoding);
            tracks.set(id, new StreamIndexer(channel, schema.name, decode));
          } catch {
            // A stream framebus cannot decode is copied but not indexed.
          }
        }
      }
      byChannel.set(m.channel, id);
      return id;
    };

    for (const m of salvage.messages) {
      const channelId = await channelFor(m);
      const data = await salvage.data(m);
      await writer.addMessages([{ channelId, sequence: m.sequence, logTime: m.logTime, publishTime: m.logTime, data }]);
      tracks.get(channelId)?.add({ logTime: m.logTime, sequence: m.sequence, data });
    }
    const stored = new Map<string, Metadata>();
    for (const record of salvage.metadata) {
      if (record.name === STREAM_INDEX_METADATA) {
        const name = record.metadata.get('stream');
        if (name !== undefined) stored.set(name, record);
      } else {
        await writer.addMetadata(record);
      }
    }
    const streams = [...tracks.values()].flatMap((t) => t.build() ?? []);
    const staleIndexes: string[] = [];
    for (const index of streams) {
      const record = indexToMetadata(index);
      const old = stored.get(index.name);
      if (old && !sameMetadata(old, record)) staleIndexes.push(index.name);
      await writer.addMetadata(record);
    }
    await writer.close();
    return { streams, staleIndexes };
  } catch (error) {
    await writer.abandon().catch(() => undefined);
    throw error;
  }
}

function sameMetadata(a: Metadata, b: Metadata): boolean {
  return a.metadata.size === b.metadata.size && [...a.metadata].every(([k, v]) => b.metadata.get(k) === v);
}

/**
 * Reads the new file back through its index (CRCs checked) and insists it holds every message
 * found in the input, so a bug here can never cost a readable message.
 */
async function checkHoldsAll(temp: string, messages: readonly SalvagedMessage[]): Promise<void> {
  const handle = await open(temp, 'r');
  const found = new Set<string>();
  try {
    const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) });
    for await (const m of reader.readMessages({ validateCrcs: true })) {
      found.add(`${reader.channelsById.get(m.channelId)?.topic}\u0000${m.logTime}\u0000${m.sequence}`);
    }
  } finally {
    await handle.close();
  }
  const missing = messages.filter((m) => !found.has(`${m.channel.topic}\u0000${m.logTime}\u0000${m.sequence}`)).length;
  if (missing > 0) {
    throw new MalformedDataError(`The recovered file lacks ${missing} of the ${messages.length} messages found in the input, so the input was left as it was; please report this.`);
  }
}

