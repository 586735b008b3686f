// The KafkaRestore spec as the restore engine reads it, and the one mapping from it to a run's
// options, shared by the controller and the CLI (crds/ checks that the generated types agree).
import type { KafkaClusterSpec } from "../kafka/spec.ts";
import type { StorageSpec } from "../storage/config.ts";
import type { RequestedGroups } from "./groups.ts";
import { type OffsetBound, type PitrSpec, type RestoreSelection, timeWindow } from "./plan.ts";
import type { RestoreOptions } from "./restore.ts";

export interface RestoreSpec {
  backupRef: { name?: string; namespace?: string; backupId?: string; storage?: StorageSpec };
  kafkaCluster: KafkaClusterSpec;
  topics?: string[];
  pitr?: PitrSpec;
  offsetBounds?: OffsetBound[];
  topicMapping?: Record<string, string>;
  partitionMapping?: Record<string, number>;
  repartitioning?: Record<string, { strategy?: string; targetPartitions: number }>;
  offsetReset?: { enabled?: boolean; consumerGroups: string[]; strategy?: string };
  rateLimiting?: { recordsPerSec?: number; bytesPerSec?: number; maxConcurrentPartitions?: number };
  dryRun?: boolean;
  addSourceHeaders?: boolean;
  rustOffsetHeaders?: "Drop" | "Keep";
  produceBatchSize?: number;
  memoryBudgetMiB?: number;
  produceAcks?: -1 | 0 | 1;
  produceTimeoutMs?: number;
  purgeTopics?: boolean;
  autoConsumerGroups?: boolean;
  createTopics?: boolean;
  defaultReplicationFactor?: number;
}

/** offsetReset strategies that only report (the existing operator's `manual`, `dry-run`). */
const reportOnly = new Set(["manual", "dry-run", "dry_run"]);

/** Which consumer groups the restore carries over, or undefined for none. */
export function requestedGroups(spec: RestoreSpec): RequestedGroups | undefined {
  const named = spec.offsetReset?.enabled ? spec.offsetReset.consumerGroups : [];
  if (!spec.autoConsumerGroups && !named.length) return undefined;
  // autoConsumerGroups commits; named groups commit unless the strategy only reports.
  const commit = spec.autoConsumerGroups || !reportOnly.has(spec.offsetReset?.strategy ?? "manual");
  return { auto: spec.autoConsumerGroups ?? false, groups: named, commit: commit ?? false };
}

export function restoreSelection(spec: RestoreSpec): RestoreSelection {
  return {
    ...(spec.topics?.length ? { topics: spec.topics } : {}),
    ...(spec.topicMapping ? { topicMapping: spec.topicMapping } : {}),
    ...(spec.partitionMapping ? { partitionMapping: spec.partitionMapping } : {}),
    ...(spec.repartitioning ? { repartitioning: spec.repartitioning } : {}),
    ...(spec.offsetBounds ? { offsetBounds: spec.offsetBounds } : {}),
    window: timeWindow(spec.pitr),
  };
}

export function restoreOptionsFromSpec(
  spec: RestoreSpec,
): Omit<RestoreOptions, "backupId" | "restoreId" | "encryptionKey" | "signal" | "log" | "onProgress"> {
  const groups = requestedGroups(spec);
  const limits = spec.rateLimiting ?? {};
  return {
    selection: restoreSelection(spec),
    createTopics: spec.createTopics ?? false,
    purgeTopics: spec.purgeTopics ?? false,
    ...(spec.defaultReplicationFactor !== undefined ? { replicationFactor: spec.defaultReplicationFactor } : {}),
    ...(spec.produceBatchSize ? { batchRecords: spec.produceBatchSize } : {}),
    ...(spec.memoryBudgetMiB ? { memoryBudgetBytes: spec.memoryBudgetMiB * 1024 * 1024 } : {}),
    ...(spec.produceAcks !== undefined ? { acks: spec.produceAcks } : {}),
    ...(spec.produceTimeoutMs ? { produceTimeoutMs: spec.produceTimeoutMs } : {}),
    ...(limits.recordsPerSec ? { recordsPerSec: limits.recordsPerSec } : {}),
    ...(limits.bytesPerSec ? { bytesPerSec: limits.bytesPerSec } : {}),
    ...(limits.maxConcurrentPartitions ? { maxConcurrentPartitions: limits.maxConcurrentPartitions } : {}),
    ...(groups ? { consumerGroups: groups } : {}),
    addSourceHeaders: spec.addSourceHeaders ?? false,
    rustOffsetHeaders: spec.rustOffsetHeaders ?? "Drop",
  };
}
