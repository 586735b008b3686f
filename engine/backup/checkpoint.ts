// A partition's checkpoint: the durable record of what its backup holds. It is rewritten only
// after a segment is stored, so whatever it lists is really there, and its `nextOffset` is where
// the next run resumes: no gap, no duplicate. The manifest is built from the checkpoints.
//
// A checkpoint rewritten after every segment with every segment in it costs O(n²): at 10 GiB
// (1,258 segments a partition) the last one was ~440 KiB and the run wrote ~2 GB of them. So the
// list is stored in sealed parts of CHECKPOINT_PART_SEGMENTS, written once each before the
// checkpoint that counts them (`segmentParts`, format version 2), and the checkpoint itself holds
// only the segments after the last part. A part is never changed once written (segments are
// only appended), so writing one again after a crash writes the same bytes.
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

/** Segments in each sealed part of a stored checkpoint's list. */
export const CHECKPOINT_PART_SEGMENTS = 256;

/** A checkpoint as stored: version 2 keeps its first `segmentParts` × 256 segments in parts. */
export interface StoredCheckpoint extends Omit<Checkpoint, "formatVersion"> {
  formatVersion: 1 | 2;
  segmentParts?: number;
}

const CHECKPOINT_PART_FORMAT = "kafka-backup-operator/checkpoint-part";

/** `{partition}/checkpoint-part-{index:06}.json`, beside the checkpoint. */
export const checkpointPartKey = (checkpointKey: string, index: number) =>
  checkpointKey.replace(/checkpoint\.json$/, `checkpoint-part-${String(index).padStart(6, "0")}.json`);

/** The stored form (its `segments` are the tail after any parts: `readCheckpoint` joins them). */
export function parseCheckpoint(text: string, name: string): StoredCheckpoint {
  let json: Partial<StoredCheckpoint>;
  try {
    json = JSON.parse(text) as Partial<StoredCheckpoint>;
  } catch (err) {
    throw new FormatError(`${name}: not JSON (${(err as Error).message})`);
  }
  if (
    json.format !== CHECKPOINT_FORMAT ||
    (json.formatVersion !== 1 && json.formatVersion !== 2) ||
    typeof json.nextOffset !== "number" ||
    !Array.isArray(json.segments) ||
    (json.formatVersion === 2 && !(Number.isInteger(json.segmentParts) && (json.segmentParts ?? -1) >= 0))
  ) {
    throw new FormatError(`${name}: not a version 1 or 2 checkpoint`);
  }
  return json as StoredCheckpoint;
}

interface CheckpointStore {
  put(key: string, body: Buffer): Promise<unknown>;
  getBuffer(key: string): Promise<{ body: Buffer }>;
}

/** A checkpoint with its whole segment list, its parts read and joined in order. */
export async function readCheckpoint(store: CheckpointStore, key: string): Promise<Checkpoint> {
  const stored = parseCheckpoint((await store.getBuffer(key)).body.toString("utf8"), key);
  const { segmentParts = 0, ...rest } = stored;
  const segments: ManifestSegment[] = [];
  for (let i = 0; i < segmentParts; i++) {
    const partKey = checkpointPartKey(key, i);
    const part = JSON.parse((await store.getBuffer(partKey)).body.toString("utf8")) as {
      format?: string;
      segments?: ManifestSegment[];
    };
    if (part.format !== CHECKPOINT_PART_FORMAT || part.segments?.length !== CHECKPOINT_PART_SEGMENTS) {
      throw new FormatError(`${partKey}: not a checkpoint part of ${CHECKPOINT_PART_SEGMENTS} segments`);
    }
    segments.push(...part.segments);
  }
  segments.push(...stored.segments);
  return { ...rest, formatVersion: 1, segments };
}

/**
 * Stores a checkpoint: first each whole part of its segment list not stored yet (`partsStored`
 * of them are), then the checkpoint with the rest. Returns how many parts are stored now.
 */
export async function storeCheckpoint(store: CheckpointStore, key: string, cp: Checkpoint, partsStored = 0): Promise<number> {
  let parts = partsStored;
  while (cp.segments.length - parts * CHECKPOINT_PART_SEGMENTS >= CHECKPOINT_PART_SEGMENTS) {
    const segments = cp.segments.slice(parts * CHECKPOINT_PART_SEGMENTS, (parts + 1) * CHECKPOINT_PART_SEGMENTS);
    await store.put(checkpointPartKey(key, parts), Buffer.from(JSON.stringify({ format: CHECKPOINT_PART_FORMAT, segments })));
    parts++;
  }
  const stored: StoredCheckpoint =
    parts === 0
      ? cp
      : { ...cp, formatVersion: 2, segmentParts: parts, segments: cp.segments.slice(parts * CHECKPOINT_PART_SEGMENTS) };
  await store.put(key, Buffer.from(JSON.stringify(stored)));
  return parts;
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
  /** When a continuous run found the topic deleted (epoch ms); see ManifestTopic. */
  deletedAt?: number;
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
