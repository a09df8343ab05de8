import { MalformedDataError } from '../core/errors.js';
import type { StreamIndex } from './stream-index.js';

/** What a file says about a stream apart from its stored index: what the index must agree with. */
export interface StreamFacts {
  /** The stream's messages as the file counts them (summary statistics or a scan), when it does. */
  readonly messages: number | undefined;
  /** Log times of the stream's first and last message, ns; undefined when it has none. */
  readonly span: { first: bigint; last: bigint } | undefined;
  /** True when some chunk of the stream can hold a message at `t`. */
  covers(t: bigint): Promise<boolean>;
}

/**
 * Why a stored stream index disagrees with the file, or undefined when it agrees. A stored
 * index is a claim: an altered start time would shift every key packet (its times are
 * stored relative to the start), and a truncated or damaged file holds fewer frames than
 * the index written when it was finished.
 */
export async function indexDisagreement(index: StreamIndex, facts: StreamFacts): Promise<string | undefined> {
  if (facts.messages !== undefined && index.frames !== facts.messages) return `it counts ${index.frames} frames where the file holds ${facts.messages}`;
  if (!facts.span) return index.frames === 0 ? undefined : `it counts ${index.frames} frames where the file holds none`;
  if (index.start !== facts.span.first) return `it starts at ${index.start} ns where the first message is at ${facts.span.first} ns`;
  if (index.end !== facts.span.last) return `it ends at ${index.end} ns where the last message is at ${facts.span.last} ns`;
  if (index.keyframeCount > index.frames) return `it counts ${index.keyframeCount} key frames in ${index.frames} frames`;
  for (const k of index.keyframes) {
    if (k.timestamp > index.end || !(await facts.covers(k.timestamp))) return `it lists a key packet at ${k.timestamp} ns, where no chunk of the stream has messages`;
  }
  return undefined;
}

/**
 * A stream index that passed the checks at open names something the stream does not hold,
 * found while it was used (a key packet time that no packet has): the reader rebuilds it.
 */
export class IndexDisagreementError extends MalformedDataError {}
