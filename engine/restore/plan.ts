// What a restore will do, decided before anything is written: which source partitions and
// segments are read, which records pass the time window and offset bounds, and where each goes
// (topic mapping, partition mapping, or repartitioning by the Java client's key partitioner).
// Pure functions: the restore engine executes the plan, dry runs report it.
import type { Manifest, ManifestSegment } from "../format/manifest.ts";
import type { BackupRecord } from "../format/record.ts";

export class RestorePlanError extends Error {
  readonly reason = "InvalidRestoreSpec";
  override name = "RestorePlanError";
}

/** Inclusive bounds on record timestamps, epoch milliseconds. */
export interface TimeWindow {
  start?: number;
  end?: number;
}

export interface PitrSpec {
  startTimestamp?: number;
  endTimestamp?: number;
  startTime?: string;
  endTime?: string;
}

function instant(value: string | undefined, ms: number | undefined, field: string): number | undefined {
  if (ms !== undefined) return ms;
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t))
    throw new RestorePlanError(`${field}: "${value}" is not an RFC 3339 time`);
  return t;
}

export function timeWindow(pitr: PitrSpec | undefined): TimeWindow {
  if (!pitr) return {};
  // As in the existing operator, epoch milliseconds take precedence: the RFC 3339 form beside
  // them is not read.
  const start = instant(pitr.startTime, pitr.startTimestamp, "spec.pitr.startTime");
  const end = instant(pitr.endTime, pitr.endTimestamp, "spec.pitr.endTime");
  if (start !== undefined && end !== undefined && start > end) {
    throw new RestorePlanError(
      `spec.pitr: the start ${new Date(start).toISOString()} is after the end ${new Date(end).toISOString()}`,
    );
  }
  return { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) };
}

export interface OffsetBound {
  topic: string;
  partition?: number;
  startOffset?: number;
  endOffset?: number;
}

export interface RestoreSelection {
  /** Source topics to restore; empty = every topic in the backup. */
  topics?: string[];
  topicMapping?: Record<string, string>;
  /** Source partition → target partition, for every topic. */
  partitionMapping?: Record<string, number>;
  /** Target (or source) topic → partition count of the target, records routed by key. */
  repartitioning?: Record<string, { targetPartitions: number }>;
  window?: TimeWindow;
  offsetBounds?: OffsetBound[];
}

/** Where a source partition's records go. */
export type Routing = { kind: "partition"; partition: number } | { kind: "byKey"; partitions: number };

export interface PartitionPlan {
  sourceTopic: string;
  sourcePartition: number;
  targetTopic: string;
  routing: Routing;
  /** Inclusive source offset bounds. */
  startOffset?: number;
  endOffset?: number;
  /** Segments that may hold selected records, in offset order. */
  segments: ManifestSegment[];
  /** Records in those segments: an upper bound on what is restored. */
  recordsUpperBound: number;
}

export interface TargetTopicPlan {
  name: string;
  partitionCount: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
  sources: string[];
}

export interface RestorePlan {
  window: TimeWindow;
  partitions: PartitionPlan[];
  targetTopics: TargetTopicPlan[];
}

export function planRestore(manifest: Manifest, selection: RestoreSelection): RestorePlan {
  const window = selection.window ?? {};
  const known = new Set(manifest.topics.map((t) => t.name));
  const missing = (selection.topics ?? []).filter((t) => !known.has(t));
  if (missing.length) {
    throw new RestorePlanError(`spec.topics: ${missing.map((t) => `"${t}"`).join(", ")} not in backup ${manifest.backupId}`);
  }
  for (const source of Object.keys(selection.topicMapping ?? {})) {
    if (!known.has(source))
      throw new RestorePlanError(`spec.topicMapping: "${source}" is not a topic of backup ${manifest.backupId}`);
  }
  const chosen = manifest.topics.filter((t) => !selection.topics?.length || selection.topics.includes(t.name));
  const partitions: PartitionPlan[] = [];
  const targets = new Map<string, TargetTopicPlan>();
  for (const topic of chosen) {
    const targetTopic = selection.topicMapping?.[topic.name] ?? topic.name;
    // Keyed by the target topic (the existing operator's meaning) or by the source topic.
    const repartitionKey = selection.repartitioning?.[targetTopic] ? targetTopic : topic.name;
    const repartition = selection.repartitioning?.[repartitionKey];
    if (repartition && (!Number.isInteger(repartition.targetPartitions) || repartition.targetPartitions < 1)) {
      throw new RestorePlanError(`spec.repartitioning.${repartitionKey}.targetPartitions: must be a positive integer`);
    }
    let partitionCount = repartition?.targetPartitions ?? topic.partitionCount;
    for (const p of topic.partitions) {
      const bound = (selection.offsetBounds ?? []).find(
        (b) => b.topic === topic.name && (b.partition === undefined || b.partition === p.partition),
      );
      const mapped = selection.partitionMapping?.[String(p.partition)];
      const routing: Routing = repartition
        ? { kind: "byKey", partitions: repartition.targetPartitions }
        : { kind: "partition", partition: mapped ?? p.partition };
      if (routing.kind === "partition") partitionCount = Math.max(partitionCount, routing.partition + 1);
      const segments = p.segments.filter((s) => segmentMayMatch(s, window, bound));
      partitions.push({
        sourceTopic: topic.name,
        sourcePartition: p.partition,
        targetTopic,
        routing,
        ...(bound?.startOffset !== undefined ? { startOffset: bound.startOffset } : {}),
        ...(bound?.endOffset !== undefined ? { endOffset: bound.endOffset } : {}),
        segments,
        recordsUpperBound: segments.reduce((n, s) => n + s.recordCount, 0),
      });
    }
    const existing = targets.get(targetTopic);
    if (existing) {
      // Two source topics into one target: allowed, the target must fit both.
      existing.partitionCount = Math.max(existing.partitionCount, partitionCount);
      existing.sources.push(topic.name);
    } else {
      targets.set(targetTopic, {
        name: targetTopic,
        partitionCount,
        ...(topic.replicationFactor ? { replicationFactor: topic.replicationFactor } : {}),
        ...(topic.configs ? { configs: topic.configs } : {}),
        sources: [topic.name],
      });
    }
  }
  return { window, partitions, targetTopics: [...targets.values()] };
}

/**
 * Whether a segment can hold a selected record. Pruning by time uses the segment's minimum and
 * maximum timestamps, so it stays right when timestamps are out of order; segments without them
 * (the Rust engine's) are always read.
 */
export function segmentMayMatch(s: ManifestSegment, window: TimeWindow, bound?: OffsetBound): boolean {
  if (bound?.startOffset !== undefined && s.lastOffset < bound.startOffset) return false;
  if (bound?.endOffset !== undefined && s.firstOffset > bound.endOffset) return false;
  if (window.start !== undefined && s.maxTimestamp !== undefined && s.maxTimestamp < window.start) return false;
  if (window.end !== undefined && s.minTimestamp !== undefined && s.minTimestamp > window.end) return false;
  return true;
}

/** The record-level rule: inside the (inclusive) time window and offset bounds. */
export function selected(r: BackupRecord, plan: PartitionPlan, window: TimeWindow): boolean {
  if (plan.startOffset !== undefined && r.offset < plan.startOffset) return false;
  if (plan.endOffset !== undefined && r.offset > plan.endOffset) return false;
  if (window.start !== undefined && r.timestamp < window.start) return false;
  if (window.end !== undefined && r.timestamp > window.end) return false;
  return true;
}

/**
 * The target partition of a record. Keyed records go where the Java client would put them;
 * records without a key keep their source partition modulo the new count, so their relative
 * order is kept.
 */
export function targetPartition(
  routing: Routing,
  record: BackupRecord,
  sourcePartition: number,
  keyPartition: (key: Buffer, n: number) => number,
): number {
  if (routing.kind === "partition") return routing.partition;
  return record.key === null ? sourcePartition % routing.partitions : keyPartition(record.key, routing.partitions);
}

/** Target topics that carry the name of a topic they are restored from. */
export function sameNameTargets(plan: RestorePlan): string[] {
  return plan.targetTopics.filter((t) => t.sources.includes(t.name)).map((t) => t.name);
}

/**
 * Source partitions grouped so that no two groups write to the same target partition: each group
 * (lane) is restored in one fixed order, so lanes can run side by side and a rerun still finds
 * every target partition's records in the order it wrote them.
 */
export function restoreLanes(plan: RestorePlan): PartitionPlan[][] {
  const byKeyTargets = new Set(plan.partitions.filter((p) => p.routing.kind === "byKey").map((p) => p.targetTopic));
  const lanes = new Map<string, PartitionPlan[]>();
  for (const p of plan.partitions) {
    const lane =
      p.routing.kind === "byKey" || byKeyTargets.has(p.targetTopic)
        ? `${p.targetTopic}\u0000*`
        : `${p.targetTopic}\u0000${p.routing.partition}`;
    lanes.set(lane, [...(lanes.get(lane) ?? []), p]);
  }
  const order = (a: PartitionPlan, b: PartitionPlan) =>
    a.sourceTopic.localeCompare(b.sourceTopic) || a.sourcePartition - b.sourcePartition;
  return [...lanes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, partitions]) => partitions.sort(order));
}
