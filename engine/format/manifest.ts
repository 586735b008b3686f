// The manifest: what a backup set holds. Ours is specified in docs/format.md; the Rust engine's
// KBAK v1 manifest (snake_case JSON) is read into the same model so restore and validation see
// one shape whichever tool wrote the backup.
import { FormatError } from "./bytes.ts";
import type { Codec } from "./codec.ts";

export const MANIFEST_FORMAT = "kafka-backup-operator/manifest";
export const MANIFEST_VERSION = 1;

export type SegmentFormat = "kbos-v1" | "kbos-v2" | "kbak-v1";

export interface ManifestSegment {
  /** Object key relative to the storage prefix. */
  key: string;
  format: SegmentFormat;
  firstOffset: number;
  /** Inclusive. */
  lastOffset: number;
  recordCount: number;
  /** Min and max record timestamps; absent for KBAK v1, which stores only first and last. */
  minTimestamp?: number;
  maxTimestamp?: number;
  codec: Codec;
  encrypted: boolean;
  storedBytes: number;
  recordBlockBytes?: number;
  /** SHA-256 of the whole object (ours only). */
  sha256?: string;
}

/** Offsets the backup does not hold, and why. `end` is exclusive. */
export interface OffsetGap {
  start: number;
  end: number;
  reason: "retention" | "offset_out_of_range" | string;
  detectedAt: number;
}

export interface ManifestPartition {
  partition: number;
  segments: ManifestSegment[];
  gaps: OffsetGap[];
  /**
   * The next offset a backup run reads: one past the last offset durably covered, counting
   * offsets that hold no data record (transaction markers, aborted data, compacted holes).
   */
  nextOffset?: number;
  /** Offsets the backup skipped on purpose (control records, aborted transactional data). */
  skippedOffsets?: number;
}

export interface ManifestTopic {
  name: string;
  /** Kafka's topic ID at backup time (base64url, as Kafka prints it); absent for KBAK v1 and Kafka < 2.8. */
  topicId?: string;
  partitionCount: number;
  replicationFactor?: number;
  /** Non-default topic configs at backup time (cleanup.policy, retention.ms, ...). */
  configs?: Record<string, string>;
  /**
   * A continuous set only: when its run found the topic deleted (epoch ms). Its partitions end
   * here, with what was stored; the set goes on with its other topics.
   */
  deletedAt?: number;
  partitions: ManifestPartition[];
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  formatVersion: typeof MANIFEST_VERSION;
  /** Which tool wrote the backup: ours, or the Rust engine (read only). */
  writer: "kafka-backup-operator" | "kafka-backup-rs";
  backupId: string;
  createdAt: number;
  updatedAt: number;
  sourceClusterId?: string;
  compression: Codec;
  encryption?: { algorithm: "AES-256-GCM"; keyFingerprint: string };
  topics: ManifestTopic[];
  /** Key of the consumer-group snapshot stored with the backup, when one was taken. */
  consumerGroupSnapshot?: string;
  /** The KafkaBackup the set belongs to: retention and deletion touch only their own sets. */
  owner?: SetOwner;
  /** How far the set's run got: only a complete set is chosen when nobody names a set. */
  run?: SetRun;
  /** The set's place in its chain (incremental scheduled backups). */
  chain?: ChainLink;
  /** Only in a chain view (engine/backupset/chain.ts): the sets merged into it, oldest first. */
  chainSets?: string[];
}

export interface SetOwner {
  /** The operator's cluster identity (CLUSTER_ID), when configured. */
  cluster?: string;
  namespace: string;
  name: string;
  uid?: string;
}

export type SetRunState = "running" | "complete" | "failed" | "cancelled";

export interface SetRun {
  state: SetRunState;
  mode: "snapshot" | "continuous";
  /** When the run ended (complete, failed or cancelled). */
  finishedAt?: number;
  /** Why a continuous set ended without being cancelled: a topic deleted and created again under it. */
  endReason?: string;
}

export interface ChainLink {
  /** The chain: the backupId of its full set. */
  id: string;
  /** 0 for the full set, then 1, 2, ... */
  sequence: number;
  /** The set this one continues (its start offsets are that set's ends); absent for a full set. */
  base?: string;
  /** Why a full set started a new chain (first set, fullBackupEvery, annotation, partitions added, ...). */
  fullReason?: string;
}

export function parseManifest(text: string, name = "manifest.json"): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FormatError(`${name}: not JSON (${(err as Error).message})`);
  }
  if (!isObject(json)) throw new FormatError(`${name}: not a JSON object`);
  if (json.format === MANIFEST_FORMAT) {
    if (json.formatVersion !== MANIFEST_VERSION) {
      throw new FormatError(`${name}: manifest format version ${String(json.formatVersion)} is newer than this tool reads`);
    }
    return json as unknown as Manifest;
  }
  if (typeof json.backup_id === "string") return fromKbakManifest(json, name);
  throw new FormatError(`${name}: neither a kafka-backup-operator nor a KBAK v1 manifest`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new FormatError(`${where}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}

function optNum(v: unknown, where: string): number | undefined {
  return v === undefined || v === null ? undefined : num(v, where);
}

function arr(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new FormatError(`${where}: expected an array`);
  return v;
}

const kbakCodecs: Record<string, Codec> = { zstd: "zstd", lz4: "lz4", none: "none" };

function kbakCodecOfKey(key: string): Codec {
  if (key.endsWith(".zst")) return "zstd";
  if (key.endsWith(".lz4")) return "lz4";
  return "none";
}

/** The Rust engine's manifest (engine-anchor §1.4) in our model. */
export function fromKbakManifest(json: Record<string, unknown>, name = "manifest.json"): Manifest {
  const backupId = json.backup_id as string;
  const createdAt = num(json.created_at, `${name}: created_at`);
  const topics = arr(json.topics, `${name}: topics`).map((t, ti): ManifestTopic => {
    if (!isObject(t) || typeof t.name !== "string") throw new FormatError(`${name}: topics[${ti}] has no name`);
    const where = `${name}: topic ${t.name}`;
    const partitions = arr(t.partitions, `${where} partitions`).map((p, pi): ManifestPartition => {
      if (!isObject(p)) throw new FormatError(`${where}: partitions[${pi}] is not an object`);
      const partition = num(p.partition_id, `${where} partitions[${pi}].partition_id`);
      const segments = arr(p.segments, `${where} partition ${partition} segments`).map((s, si): ManifestSegment => {
        const at = `${where} partition ${partition} segments[${si}]`;
        if (!isObject(s) || typeof s.key !== "string") throw new FormatError(`${at}: no key`);
        return {
          key: s.key,
          format: "kbak-v1",
          firstOffset: num(s.start_offset, `${at}.start_offset`),
          lastOffset: num(s.end_offset, `${at}.end_offset`),
          recordCount: num(s.record_count, `${at}.record_count`),
          codec: kbakCodecOfKey(s.key),
          encrypted: false,
          storedBytes: num(s.compressed_size, `${at}.compressed_size`),
          recordBlockBytes: optNum(s.uncompressed_size, `${at}.uncompressed_size`),
        };
      });
      const gaps = arr(p.gaps, `${where} partition ${partition} gaps`).map((g, gi): OffsetGap => {
        const at = `${where} partition ${partition} gaps[${gi}]`;
        if (!isObject(g)) throw new FormatError(`${at}: not an object`);
        return {
          start: num(g.start_offset, `${at}.start_offset`),
          end: num(g.end_offset, `${at}.end_offset`),
          reason: typeof g.reason === "string" ? g.reason : "unknown",
          detectedAt: optNum(g.detected_at, `${at}.detected_at`) ?? createdAt,
        };
      });
      segments.sort((a, b) => a.firstOffset - b.firstOffset);
      return { partition, segments, gaps };
    });
    partitions.sort((a, b) => a.partition - b.partition);
    const partitionCount =
      optNum(t.original_partition_count, `${where}.original_partition_count`) ??
      partitions.reduce((max, p) => Math.max(max, p.partition + 1), 0);
    return { name: t.name, partitionCount, partitions };
  });
  return {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    writer: "kafka-backup-rs",
    backupId,
    createdAt,
    updatedAt: createdAt,
    ...(typeof json.source_cluster_id === "string" ? { sourceClusterId: json.source_cluster_id } : {}),
    compression: kbakCodecs[String(json.compression).toLowerCase()] ?? "zstd",
    topics,
  };
}
