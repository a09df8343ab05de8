import { setTimeout as sleep } from 'node:timers/promises';
import type { Topic, TopicProvider } from '../bus/topic.js';
import { MAX_TIMER_MS } from '../core/time.js';
import { lcmValueFromJson } from '../wire/lcm-json-input.js';
import type { LcmMessageType } from '../wire/lcm-struct-codec.js';
import { readTelemetry, type RecordedTelemetry } from './telemetry-channel.js';

/** A recorded telemetry channel with the type to publish it as. */
export interface TelemetryLane {
  readonly recorded: RecordedTelemetry;
  readonly topic: Topic<unknown>;
}

/**
 * The telemetry channels of the recording at `path` whose LCM type is among `types`, each
 * with the bus topic (`prefix` + its name) to republish it on.
 */
export async function telemetryLanes(path: string, bus: TopicProvider, types: readonly LcmMessageType<unknown>[], prefix = ''): Promise<TelemetryLane[]> {
  const byName = new Map(types.map((t) => [t.name, t]));
  const lanes: TelemetryLane[] = [];
  for (const recorded of await readTelemetry(path)) {
    const type = byName.get(recorded.typeName);
    if (type) lanes.push({ recorded, topic: bus.topic(`${prefix}${recorded.topic}`, type) });
  }
  return lanes;
}

/**
 * Publishes one pass of telemetry as LCM, each message when the wall clock reaches
 * `t0 + (logTime + shift − start) / speed` (ms since `performance` origin). A message whose
 * JSON no longer fits its type is skipped. Resolves with the number published.
 */
export async function playTelemetryPass(
  lanes: readonly TelemetryLane[],
  timing: { start: bigint; shift: bigint; t0: number; speed: number; signal?: AbortSignal },
): Promise<number> {
  const merged = lanes.flatMap((lane) => lane.recorded.messages.map((m) => ({ lane, m })));
  merged.sort((a, b) => (a.m.logTime < b.m.logTime ? -1 : a.m.logTime > b.m.logTime ? 1 : 0));
  let published = 0;
  for (const { lane, m } of merged) {
    if (m.logTime < timing.start) continue;
    const due = Number(m.logTime + timing.shift - timing.start) / 1e6 / timing.speed;
    for (let wait = due - (performance.now() - timing.t0); wait > 0 && !timing.signal?.aborted; wait = due - (performance.now() - timing.t0)) {
      await sleep(Math.min(wait, MAX_TIMER_MS), undefined, { signal: timing.signal }).catch(() => undefined);
    }
    if (timing.signal?.aborted) break;
    let value: unknown;
    try {
      value = lcmValueFromJson((lane.topic.type as LcmMessageType<unknown>).struct, JSON.parse(m.json));
    } catch {
      continue;
    }
    await lane.topic.publish(value);
    published++;
  }
  return published;
}
