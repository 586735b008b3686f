// The KafkaBackup spec as the backup engine reads it: the fields of the custom resource the
// controller and the CLI both turn into a run (crds/ checks that the generated types agree).
import type { Codec } from "../format/codec.ts";
import type { KafkaClusterSpec } from "../kafka/spec.ts";
import type { StorageSpec } from "../storage/config.ts";
import type { BackupOptions } from "./engine.ts";

export interface BackupSpec {
  kafkaCluster: KafkaClusterSpec;
  topics?: string[];
  /** Additions: glob or `~regex` patterns. */
  includeTopics?: string[];
  excludeTopics?: string[];
  includeInternalTopics?: boolean;
  storage: StorageSpec;
  compression?: Codec;
  compressionLevel?: number;
  segmentMaxBytes?: number;
  segmentMaxIntervalMs?: number;
  segmentMaxRecords?: number;
  /** Addition: the run's memory budget (default 32). */
  memoryBudgetMiB?: number;
  continuous?: boolean;
  stopAtCurrentOffsets?: boolean;
  consumerGroupSnapshot?: boolean;
  sourceClusterId?: string;
  rateLimiting?: { recordsPerSec?: number; bytesPerSec?: number; maxConcurrentPartitions?: number };
  /** Addition: client-side AES-256-GCM; the key is 32 bytes, base64 or hex, in a Secret. */
  encryption?: { keySecret: { name: string; key?: string } };
}

/** The settings a KafkaBackup spec gives a run, in one place for the controller and the CLI. */
export function optionsFromSpec(spec: BackupSpec): Omit<BackupOptions, "backupId" | "leaseHolder"> {
  const limits = spec.rateLimiting;
  return {
    selection: {
      ...(spec.topics ? { topics: spec.topics } : {}),
      ...(spec.includeTopics ? { include: spec.includeTopics } : {}),
      ...(spec.excludeTopics ? { exclude: spec.excludeTopics } : {}),
      includeInternal: spec.includeInternalTopics ?? false,
    },
    mode: spec.continuous ? "continuous" : "snapshot",
    codec: spec.compression ?? "zstd",
    compressionLevel: spec.compressionLevel ?? 3,
    ...(spec.segmentMaxBytes ? { segmentMaxBytes: spec.segmentMaxBytes } : {}),
    ...(spec.segmentMaxIntervalMs ? { segmentMaxIntervalMs: spec.segmentMaxIntervalMs } : {}),
    ...(spec.segmentMaxRecords ? { segmentMaxRecords: spec.segmentMaxRecords } : {}),
    ...(spec.memoryBudgetMiB ? { memoryBudgetBytes: spec.memoryBudgetMiB * 1024 * 1024 } : {}),
    ...(limits?.maxConcurrentPartitions ? { maxConcurrentPartitions: limits.maxConcurrentPartitions } : {}),
    ...(limits?.recordsPerSec ? { recordsPerSec: limits.recordsPerSec } : {}),
    ...(limits?.bytesPerSec ? { bytesPerSec: limits.bytesPerSec } : {}),
    ...(spec.sourceClusterId ? { sourceClusterId: spec.sourceClusterId } : {}),
    consumerGroupSnapshot: spec.consumerGroupSnapshot ?? false,
  };
}
