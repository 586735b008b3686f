// The KafkaBackup spec as the backup engine reads it: the fields of the custom resource the
// controller and the CLI both turn into a run (crds/ checks that the generated types agree).
import type { Codec } from "../format/codec.ts";
import type { KafkaClusterSpec } from "../kafka/spec.ts";
import type { StorageSpec } from "../storage/config.ts";

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
