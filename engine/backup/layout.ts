// Where things live inside a backup set. Keys are relative to the storage backend's prefix and
// follow the existing engine's layout, so either tool finds the other's objects:
//   {backupId}/manifest.json
//   {backupId}/topics/{topic}/partition={p}/segment-{startOffset:020}.bin[.zst|.lz4|.gz]
// Ours adds, per partition, the checkpoint that makes resume exact, and per backup set a lease.
import type { Codec } from "../format/codec.ts";

const extensions: Record<Codec, string> = { none: "", zstd: ".zst", lz4: ".lz4", gzip: ".gz" };

export const manifestKey = (backupId: string) => `${backupId}/manifest.json`;
export const leaseKey = (backupId: string) => `${backupId}/lease.json`;
/** A sharded run (issue #13): each worker leases its own shard; the assignment is fixed once. */
export const shardLeaseKey = (backupId: string, index: number) => `${backupId}/shards/lease-${index}.json`;
export const shardAssignmentKey = (backupId: string) => `${backupId}/shards/assignment.json`;
export const groupSnapshotKey = (backupId: string) => `${backupId}/consumer-groups-snapshot.json`;
export const partitionDir = (backupId: string, topic: string, partition: number) =>
  `${backupId}/topics/${topic}/partition=${partition}`;
export const checkpointKey = (backupId: string, topic: string, partition: number) =>
  `${partitionDir(backupId, topic, partition)}/checkpoint.json`;
export const segmentKey = (backupId: string, topic: string, partition: number, firstOffset: number, codec: Codec) =>
  `${partitionDir(backupId, topic, partition)}/segment-${String(firstOffset).padStart(20, "0")}.bin${extensions[codec]}`;

/** A run's backup id: `{name}-{YYYYMMDD-HHMMSS}` in UTC (the CLI's form; the controller adds the namespace). */
export function runBackupId(name: string, at: Date): string {
  const iso = at.toISOString();
  return `${name}-${iso.slice(0, 10).replace(/-/g, "")}-${iso.slice(11, 19).replace(/:/g, "")}`;
}

/**
 * A KafkaBackup's run: `{namespace}.{name}-{YYYYMMDD-HHMMSS}` (UTC). A namespace holds no dot, so
 * the id reads back unambiguously, and two same-named KafkaBackups in two namespaces sharing a
 * prefix never pick the same set; the `{name}-{YYYYMMDD-HHMMSS}` form is kept as its tail.
 */
export function kafkaBackupSetId(namespace: string, name: string, at: Date): string {
  return `${namespace}.${runBackupId(name, at)}`;
}
