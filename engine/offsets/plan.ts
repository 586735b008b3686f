// Which offsets a consumer group gets: pure decisions, no I/O. The reset (reset.ts) gathers the
// facts — the group's committed offsets, each partition's log bounds, timestamp lookups, a
// restore's mapping report — and these functions turn them into a plan per partition, or an
// error naming what is missing. Nothing here ever keeps a current offset because a fact was
// unavailable (the existing operator's to-timestamp and from-mapping bugs).
import type { PartitionBounds, TopicPartitionOffset } from "../kafka/groups.ts";
import { type OffsetMappingReport, translateGroup } from "../restore/offset-mapping.ts";

export type ResetStrategy = "to-earliest" | "to-latest" | "to-timestamp" | "to-offset" | "shift-by" | "from-mapping";

export const resetStrategies: readonly ResetStrategy[] = [
  "to-earliest",
  "to-latest",
  "to-timestamp",
  "to-offset",
  "shift-by",
  "from-mapping",
];

/** Topic and partition filters; empty lists select everything. */
export interface OffsetFilter {
  topics?: readonly string[];
  partitions?: readonly number[];
}

export interface PlannedOffset {
  topic: string;
  partition: number;
  /** Committed before (-1 = none). */
  previousOffset: number;
  newOffset: number;
}

export interface GroupPlan {
  groupId: string;
  offsets: PlannedOffset[];
  /** Offsets that differ from the committed ones (the ones to commit). */
  changes: PlannedOffset[];
}

export class OffsetPlanError extends Error {
  readonly reason = "OffsetPlanFailed";
  override name = "OffsetPlanError";
}

export const tpKey = (topic: string, partition: number) => `${topic}/${partition}`;

export function selected(filter: OffsetFilter, topic: string, partition: number): boolean {
  if (filter.topics?.length && !filter.topics.includes(topic)) return false;
  if (filter.partitions?.length && !filter.partitions.includes(partition)) return false;
  return true;
}

/**
 * The partitions a reset covers: with topics listed, every partition of those topics (committed
 * or not, as kafka-consumer-groups --reset-offsets --topic does); without, the partitions the
 * group has committed. The partition filter applies to both.
 */
export function coveredPartitions(
  filter: OffsetFilter,
  committed: readonly TopicPartitionOffset[],
  partitionsOf: (topic: string) => readonly number[] | undefined,
): Array<{ topic: string; partition: number }> {
  const out: Array<{ topic: string; partition: number }> = [];
  if (filter.topics?.length) {
    for (const topic of filter.topics) {
      const partitions = partitionsOf(topic);
      if (!partitions) throw new OffsetPlanError(`topic ${topic} (spec.topics) does not exist`);
      for (const partition of partitions) if (selected(filter, topic, partition)) out.push({ topic, partition });
    }
  } else {
    for (const c of committed) if (selected(filter, c.topic, c.partition)) out.push({ topic: c.topic, partition: c.partition });
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

export interface StrategyFacts {
  strategy: Exclude<ResetStrategy, "from-mapping">;
  resetOffset?: number;
  shiftBy?: number;
  /** Log bounds, keyed topic/partition. */
  bounds: ReadonlyMap<string, PartitionBounds>;
  /** For to-timestamp: the offset of the first record at or after the timestamp, keyed topic/partition. */
  timestampOffsets?: ReadonlyMap<string, number>;
}

const clamp = (offset: number, b: PartitionBounds) => Math.min(Math.max(offset, b.low), b.high);

/** The new offset of one partition under a strategy; throws when a needed fact is missing. */
export function targetOffset(facts: StrategyFacts, topic: string, partition: number, previous: number): number {
  const key = tpKey(topic, partition);
  const b = facts.bounds.get(key);
  if (!b) throw new OffsetPlanError(`no log bounds for ${key}: the partition does not exist or its leader did not answer`);
  switch (facts.strategy) {
    case "to-earliest":
      return b.low;
    case "to-latest":
      return b.high;
    case "to-timestamp": {
      const t = facts.timestampOffsets?.get(key);
      if (t === undefined) throw new OffsetPlanError(`no offset for the timestamp on ${key}`);
      return t;
    }
    case "to-offset":
      if (facts.resetOffset === undefined) throw new OffsetPlanError("resetOffset is required for to-offset");
      // Out of range it goes to the nearest end, as kafka-consumer-groups does.
      return clamp(facts.resetOffset, b);
    case "shift-by": {
      if (facts.shiftBy === undefined) throw new OffsetPlanError("shiftBy is required for shift-by");
      // Without a commit there is nothing to shift from: start at the log start, as a new consumer would with earliest.
      const from = previous >= 0 ? previous : b.low;
      return clamp(from + facts.shiftBy, b);
    }
  }
}

function toPlan(groupId: string, offsets: PlannedOffset[]): GroupPlan {
  return { groupId, offsets, changes: offsets.filter((o) => o.newOffset !== o.previousOffset) };
}

/** A group's plan under one of the direct strategies. */
export function planGroup(
  groupId: string,
  facts: StrategyFacts,
  committed: readonly TopicPartitionOffset[],
  covered: ReadonlyArray<{ topic: string; partition: number }>,
): GroupPlan {
  const current = new Map(committed.map((c) => [tpKey(c.topic, c.partition), c.offset]));
  const offsets = covered.map(({ topic, partition }) => {
    const previousOffset = current.get(tpKey(topic, partition)) ?? -1;
    return { topic, partition, previousOffset, newOffset: targetOffset(facts, topic, partition, previousOffset) };
  });
  return toPlan(groupId, offsets);
}

/**
 * A group's plan from a restore's offset mapping report. A group the report names gets the
 * report's target offsets. Any other group has its committed offsets on the report's source
 * partitions translated (never extrapolated: an offset the mapping cannot place fails the group).
 * A group with neither fails: it never falls back to its current offsets. Offsets already at the
 * target are no-ops.
 */
export function planFromMapping(
  groupId: string,
  report: Pick<OffsetMappingReport, "partitions" | "targetEnds" | "consumerGroups" | "restoreId">,
  committed: readonly TopicPartitionOffset[],
  filter: OffsetFilter,
): GroupPlan {
  const current = new Map(committed.map((c) => [tpKey(c.topic, c.partition), c.offset]));
  let targets: Array<{ topic: string; partition: number; offset: number }>;
  const inReport = report.consumerGroups.find((g) => g.groupId === groupId);
  if (inReport) {
    targets = inReport.target;
  } else {
    const sources = new Set(report.partitions.map((m) => tpKey(m.sourceTopic, m.sourcePartition)));
    const source = committed
      .filter((c) => sources.has(tpKey(c.topic, c.partition)))
      .map((c) => ({ sourceTopic: c.topic, sourcePartition: c.partition, sourceOffset: c.offset }));
    if (!source.length) {
      throw new OffsetPlanError(
        `group ${groupId} is not in the offset mapping of restore ${report.restoreId} and has no committed offsets on its source partitions`,
      );
    }
    const { target, untranslatable } = translateGroup(report, source);
    if (untranslatable.length) {
      const list = untranslatable.map((u) => `${u.sourceTopic}/${u.sourcePartition}@${u.sourceOffset}`).join(", ");
      throw new OffsetPlanError(`group ${groupId}: the offset mapping cannot place ${list} (its runs were truncated)`);
    }
    targets = target;
  }
  const offsets = targets
    .filter((t) => selected(filter, t.topic, t.partition))
    .map((t) => ({
      topic: t.topic,
      partition: t.partition,
      previousOffset: current.get(tpKey(t.topic, t.partition)) ?? -1,
      newOffset: t.offset,
    }))
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return toPlan(groupId, offsets);
}

/** A rollback's plan: the snapshot's offsets (only where they differ from now are they committed). */
export function planRollback(
  groupId: string,
  snapshotOffsets: readonly TopicPartitionOffset[],
  committed: readonly TopicPartitionOffset[],
): GroupPlan {
  const current = new Map(committed.map((c) => [tpKey(c.topic, c.partition), c.offset]));
  return toPlan(
    groupId,
    snapshotOffsets.map((s) => ({
      topic: s.topic,
      partition: s.partition,
      previousOffset: current.get(tpKey(s.topic, s.partition)) ?? -1,
      newOffset: s.offset,
    })),
  );
}

export interface OffsetMismatch {
  groupId: string;
  topic: string;
  partition: number;
  expectedOffset: number;
  /** -1 = nothing committed. */
  actualOffset: number;
}

/** Where the committed offsets differ from the expected ones. */
export function mismatches(
  groupId: string,
  expected: readonly TopicPartitionOffset[],
  actual: readonly TopicPartitionOffset[],
): OffsetMismatch[] {
  const now = new Map(actual.map((a) => [tpKey(a.topic, a.partition), a.offset]));
  const out: OffsetMismatch[] = [];
  for (const e of expected) {
    const actualOffset = now.get(tpKey(e.topic, e.partition)) ?? -1;
    if (actualOffset !== e.offset)
      out.push({ groupId, topic: e.topic, partition: e.partition, expectedOffset: e.offset, actualOffset });
  }
  return out;
}
