import type { Metadata } from '@mcap/core';
import { TOPIC_RECORD_METADATA } from './recording-format.js';

/** What a bus recorder did with one topic, cumulative. */
export interface TopicRecordStats {
  /** Packets stored. */
  packets: number;
  /** Payload bytes stored. */
  bytes: number;
  /**
   * Packets dropped as inconsistent with the stream (forged or garbage): a timestamp far
   * ahead of the stream's clock, a sequence or time that contradicts it, another codec or size.
   */
  outliers: number;
  /**
   * Packets that arrived but were not stored because they would not decode in sequence: after
   * a gap until the next key packet, while the recorder fell behind, or with a bitstream that
   * contradicts the packet.
   */
  dropped: number;
  /** Sequence numbers that never arrived. */
  lost: number;
  /**
   * The streams the topic was stored in, in time order: the topic's name, then `<topic>@2`,
   * `<topic>@3`, … for each segment after its publisher restarted with a new clock, sequence,
   * size or codec.
   */
  streams: string[];
}

const COUNTS = ['packets', 'bytes', 'outliers', 'dropped', 'lost'] as const;

/** The metadata record of one recorded topic: counts as decimal strings, streams as a JSON list. */
export function topicRecordToMetadata(topic: string, stats: TopicRecordStats): Metadata {
  return {
    name: TOPIC_RECORD_METADATA,
    metadata: new Map([['topic', topic], ...COUNTS.map((k) => [k, String(stats[k])] as [string, string]), ['streams', JSON.stringify(stats.streams)]]),
  };
}

/**
 * Reads a topic record back.
 * @returns undefined when the record is not a valid framebus topic record.
 */
export function topicRecordFromMetadata(record: Metadata): ({ topic: string } & TopicRecordStats) | undefined {
  if (record.name !== TOPIC_RECORD_METADATA) return undefined;
  const m = record.metadata;
  const topic = m.get('topic');
  if (!topic) return undefined;
  const counts: Partial<Record<(typeof COUNTS)[number], number>> = {};
  for (const k of COUNTS) {
    const n = Number(m.get(k));
    if (!/^\d+$/.test(m.get(k) ?? '') || !Number.isSafeInteger(n)) return undefined;
    counts[k] = n;
  }
  let streams: unknown;
  try {
    streams = JSON.parse(m.get('streams') ?? '');
  } catch {
    return undefined;
  }
  if (!Array.isArray(streams) || !streams.every((s) => typeof s === 'string')) return undefined;
  return { topic, ...(counts as Record<(typeof COUNTS)[number], number>), streams };
}
