import { open } from 'node:fs/promises';
import { McapIndexedReader, McapWriter, type Channel, type Message, type Metadata, type Schema } from '@mcap/core';
import { FileHandleReadable, FileHandleWritable } from '@mcap/nodejs';

/** Everything an MCAP file holds that a rewrite keeps. */
export interface McapContents {
  schemas: Schema[];
  channels: Channel[];
  messages: Message[];
  metadata: Metadata[];
}

/** Reads every schema, channel, message (in log time order) and metadata record of an indexed MCAP file. */
export async function readAll(path: string): Promise<McapContents> {
  const handle = await open(path);
  try {
    const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) });
    const messages: Message[] = [];
    for await (const m of reader.readMessages()) messages.push(m);
    const metadata: Metadata[] = [];
    for await (const m of reader.readMetadata()) metadata.push(m);
    return { schemas: [...reader.schemasById.values()], channels: [...reader.channelsById.values()], messages, metadata };
  } finally {
    await handle.close();
  }
}

/** Writes a valid MCAP file with @mcap/core's writer: the messages in the order given, chunks of about `chunkSize` bytes. */
export async function writeAll(path: string, contents: McapContents, chunkSize: number): Promise<void> {
  const handle = await open(path, 'w');
  const writer = new McapWriter({ writable: new FileHandleWritable(handle), chunkSize });
  await writer.start({ profile: '', library: 'test' });
  for (const s of contents.schemas) await writer.registerSchema(s);
  for (const c of contents.channels) await writer.registerChannel(c);
  for (const m of contents.messages) await writer.addMessage(m);
  for (const m of contents.metadata) await writer.addMetadata(m);
  await writer.end();
  await handle.close();
}
