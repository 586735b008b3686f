// A partition's checkpoint: the durable record of what its backup holds. It is rewritten only
// after a segment is stored, so whatever it lists is really there, and its `nextOffset` is where
// the next run resumes: no gap, no duplicate. The manifest is built from the checkpoints.
import { FormatError } from "../format/bytes.ts";
import type { Codec } from "../format/codec.ts";
import {
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestPartition,
  type ManifestSegment,
  type ManifestTopic,
  type OffsetGap,
} from "../format/manifest.ts";

export const CHECKPOINT_FORMAT = "kafka-backup-operator/checkpoint";

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: 1;
  topic: string;
  partition: number;
  /** One past the last offset durably covered (stored, skipped on purpose, or recorded as a gap). */
  nextOffset: number;
  /** Offsets covered but not stored: transaction markers and aborted transactional data. */
  skippedOffsets: number;
  segments: ManifestSegment[];
  gaps: OffsetGap[];
  updatedAt: number;
}

export function emptyCheckpoint(topic: string, partition: number, startOffset: number): Checkpoint {
  return {
    format: CHECKPOINT_FORMAT,
    formatVersion: 1,
    topic,
    partition,
    nextOffset: startOffset,
    skippedOffsets: 0,
    segments: [],
    gaps: [],
    updatedAt: Date.now(),
  };
}

export function parseCheckpoint(text: string, name: string): Checkpoint {
  let json: Partial<Checkpoint>;
  try {
    json = JSON.parse(text) as Partial<Checkpoint>;
  } catch (err) {
    throw new FormatError(`${name}: not JSON (${(err as Error).message})`);
  }
  if (
    json.format !== CHECKPOINT_FORMAT ||
    json.formatVersion !== 1 ||
    typeof json.nextOffset !== "number" ||
    !Array.isArray(json.segments)
  ) {
    throw new FormatError(`${name}: not a version 1 checkpoint`);
  }
  return json as Checkpoint;
}

/** The checkpoint after a stored segment: appended, and the resume point moved past it. */
export function withSegment(cp: Checkpoint, segment: ManifestSegment, coveredUntil: number, skipped: number): Checkpoint {
  if (segment.firstOffset < cp.nextOffset) {
    throw new RangeError(
      `segment starting at ${segment.firstOffset} overlaps ${cp.topic}/${cp.partition} backed up to ${cp.nextOffset}`,
    );
  }
  return {
    ...cp,
    segments: [...cp.segments, segment],
    nextOffset: Math.max(coveredUntil, segment.lastOffset + 1),
    skippedOffsets: cp.skippedOffsets + skipped,
    updatedAt: Date.now(),
  };
}

/** Offsets that retention deleted before we read them: recorded, then skipped over. */
export function withGap(cp: Checkpoint, logStartOffset: number, reason: OffsetGap["reason"]): Checkpoint {
  if (logStartOffset <= cp.nextOffset) return cp;
  return {
    ...cp,
    gaps: [...cp.gaps, { start: cp.nextOffset, end: logStartOffset, reason, detectedAt: Date.now() }],
    nextOffset: logStartOffset,
    updatedAt: Date.now(),
  };
}

/** Offsets with no data record (markers, aborted data, compacted holes) passed at the end of a run. */
export function withProgress(cp: Checkpoint, coveredUntil: number, skipped: number): Checkpoint {
  if (coveredUntil <= cp.nextOffset && skipped === 0) return cp;
  return {
    ...cp,
    nextOffset: Math.max(cp.nextOffset, coveredUntil),
    skippedOffsets: cp.skippedOffsets + skipped,
    updatedAt: Date.now(),
  };
}

export interface TopicMetadata {
  name: string;
  topicId?: string;
  partitionCount: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export function buildManifest(o: {
  backupId: string;
  createdAt: number;
  sourceClusterId?: string;
  compression: Codec;
  encryptionKeyFingerprint?: string;
  topics: TopicMetadata[];
  checkpoints: Checkpoint[];
  consumerGroupSnapshot?: string;
}): Manifest {
  const topics: ManifestTopic[] = o.topics.map((t) => {
    const partitions: ManifestPartition[] = o.checkpoints
      .filter((cp) => cp.topic === t.name)
      .sort((a, b) => a.partition - b.partition)
      .map((cp) => ({
        partition: cp.partition,
        segments: cp.segments,
        gaps: cp.gaps,
        nextOffset: cp.nextOffset,
        skippedOffsets: cp.skippedOffsets,
      }));
    return { ...t, partitions };
  });
  return {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    writer: "kafka-backup-operator",
    backupId: o.backupId,
    createdAt: o.createdAt,
    updatedAt: Date.now(),
    ...(o.sourceClusterId ? { sourceClusterId: o.sourceClusterId } : {}),
    compression: o.compression,
    ...(o.encryptionKeyFingerprint
      ? { encryption: { algorithm: "AES-256-GCM" as const, keyFingerprint: o.encryptionKeyFingerprint } }
      : {}),
    topics,
    ...(o.consumerGroupSnapshot ? { consumerGroupSnapshot: o.consumerGroupSnapshot } : {}),
  };
}
