// The offset mapping of a restore: where each restored source record landed in the target, and
// what each consumer group's committed offsets become there. It is stored with the backup
// (`{backupId}/restores/{restoreId}/offset-mapping.json`), referenced by the KafkaRestore's
// status.offsetMappingPath, and read by KafkaOffsetReset's from-mapping strategy.
//
// Unlike a record-by-record list (which grows with the records restored), the mapping keeps runs:
// a run maps `count` consecutive source offsets onto `count` consecutive target offsets. A
// partition restored whole is one run; compaction gaps, transaction markers and time windows
// start new runs. The number of runs kept is bounded; past the bound a partition is marked
// `runsTruncated` and only its first/last offsets remain (group offsets are translated while the
// restore runs, so they stay exact either way).
import type { StorageBackend } from "../storage/backend.ts";

export const offsetMappingFormat = "kafka-backup-operator/offset-mapping";

/** `count` source offsets from `sourceFirst` landed on `count` target offsets from `targetFirst`. */
export type OffsetRun = [sourceFirst: number, targetFirst: number, count: number];

export interface PartitionOffsetMapping {
  sourceTopic: string;
  sourcePartition: number;
  targetTopic: string;
  targetPartition: number;
  records: number;
  sourceFirstOffset: number;
  sourceLastOffset: number;
  targetFirstOffset: number;
  targetLastOffset: number;
  firstTimestamp: number;
  lastTimestamp: number;
  runs: OffsetRun[];
  /** The runs were cut at the bound: translating an arbitrary offset is not possible. */
  runsTruncated?: boolean;
  /** Exact translations of the offsets the restore was asked about (the groups' commits), kept
   * whatever happens to the runs: source offset → target offset of the first record at or after it. */
  anchors?: Record<string, number>;
}

export interface GroupOffsetTranslation {
  sourceTopic: string;
  sourcePartition: number;
  /** The group's committed offset in the source (the next record it would have read). */
  sourceOffset: number;
}

export interface TargetGroupOffset {
  topic: string;
  partition: number;
  offset: number;
}

export interface GroupOffsetMapping {
  groupId: string;
  /** The committed offsets in the source, as snapshotted at backup time. */
  source: GroupOffsetTranslation[];
  /** What they become in the target: the first restored record at or after each source offset. */
  target: TargetGroupOffset[];
  /** Whether the restore committed them through the group's coordinator. */
  committed: boolean;
  /** Why they were not committed (e.g. the group has live members in the target cluster). */
  error?: string;
}

export interface OffsetMappingReport {
  format: typeof offsetMappingFormat;
  version: 1;
  backupId: string;
  restoreId: string;
  createdAt: string;
  sourceClusterId?: string;
  partitions: PartitionOffsetMapping[];
  /** Each target partition's end offset after the restore, keyed "topic/partition". */
  targetEnds: Record<string, number>;
  consumerGroups: GroupOffsetMapping[];
}

export const offsetMappingKey = (backupId: string, restoreId: string) => `${backupId}/restores/${restoreId}/offset-mapping.json`;

export class OffsetMappingError extends Error {
  readonly reason = "InvalidOffsetMapping";
  override name = "OffsetMappingError";
}

export function parseOffsetMapping(text: string, where: string): OffsetMappingReport {
  let report: OffsetMappingReport;
  try {
    report = JSON.parse(text) as OffsetMappingReport;
  } catch {
    // Not the parser's message: it quotes the text, and a path in a spec may name any file (a token).
    throw new OffsetMappingError(`${where}: not JSON`);
  }
  if (report?.format !== offsetMappingFormat || report.version !== 1) {
    throw new OffsetMappingError(`${where}: not an offset mapping report of this operator (format ${offsetMappingFormat} v1)`);
  }
  return report;
}

export async function readOffsetMapping(store: StorageBackend, key: string): Promise<OffsetMappingReport> {
  return parseOffsetMapping((await store.getBuffer(key)).body.toString("utf8"), `${store.location()}/${key}`);
}

/**
 * Where a source offset lands in one target partition: the first restored record at or after it;
 * past the last restored record, the partition's end. Undefined when the mapping cannot say
 * (truncated runs) — it never guesses.
 */
export function translateInPartition(
  mapping: PartitionOffsetMapping,
  sourceOffset: number,
  targetEnd: number,
): number | undefined {
  if (mapping.records === 0 || sourceOffset > mapping.sourceLastOffset) return targetEnd;
  if (sourceOffset <= mapping.sourceFirstOffset) return mapping.targetFirstOffset;
  const anchored = mapping.anchors?.[String(sourceOffset)];
  if (anchored !== undefined) return anchored;
  if (mapping.runsTruncated) return undefined;
  for (const [sourceFirst, targetFirst, count] of mapping.runs) {
    if (sourceFirst + count - 1 < sourceOffset) continue;
    return sourceOffset <= sourceFirst ? targetFirst : targetFirst + (sourceOffset - sourceFirst);
  }
  return targetEnd;
}

/**
 * A group's source offsets translated into target offsets. A target partition fed by several
 * source partitions (partition mapping onto one partition, repartitioning) gets the smallest of
 * their translations, so no unread record is skipped (some read ones may be read again).
 */
export function translateGroup(
  report: Pick<OffsetMappingReport, "partitions" | "targetEnds">,
  source: GroupOffsetTranslation[],
): { target: TargetGroupOffset[]; untranslatable: GroupOffsetTranslation[] } {
  const best = new Map<string, TargetGroupOffset>();
  const untranslatable: GroupOffsetTranslation[] = [];
  for (const s of source) {
    const feeds = report.partitions.filter((m) => m.sourceTopic === s.sourceTopic && m.sourcePartition === s.sourcePartition);
    for (const m of feeds) {
      const key = `${m.targetTopic}/${m.targetPartition}`;
      const offset = translateInPartition(m, s.sourceOffset, report.targetEnds[key] ?? m.targetLastOffset + 1);
      if (offset === undefined) {
        untranslatable.push(s);
        continue;
      }
      const seen = best.get(key);
      if (!seen || offset < seen.offset) best.set(key, { topic: m.targetTopic, partition: m.targetPartition, offset });
    }
  }
  const target = [...best.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return { target, untranslatable };
}

/**
 * Builds the partition mappings while a restore runs: `observe` is called for every selected
 * record in the order it is (or, on resume, was) written.
 */
export class OffsetMappingBuilder {
  readonly #mappings = new Map<string, PartitionOffsetMapping>();
  readonly #maxRuns: number;
  #runs = 0;
  /** Per source partition: the offsets to anchor, ascending, and per mapping the next one due. */
  readonly #anchorOffsets = new Map<string, number[]>();
  readonly #nextAnchor = new Map<string, number>();

  constructor(maxRuns = 200_000) {
    this.#maxRuns = maxRuns;
  }

  /** Ask for exact translations of these source offsets (a group's commits). Call before observing. */
  anchor(sourceTopic: string, sourcePartition: number, sourceOffset: number): void {
    const key = `${sourceTopic}/${sourcePartition}`;
    const offsets = this.#anchorOffsets.get(key) ?? [];
    if (!offsets.includes(sourceOffset)) offsets.push(sourceOffset);
    offsets.sort((a, b) => a - b);
    this.#anchorOffsets.set(key, offsets);
  }

  /** A source partition that feeds a target partition, whether or not any record goes there. */
  declare(sourceTopic: string, sourcePartition: number, targetTopic: string, targetPartition: number): PartitionOffsetMapping {
    const key = `${sourceTopic}/${sourcePartition}>${targetTopic}/${targetPartition}`;
    let m = this.#mappings.get(key);
    if (!m) {
      m = {
        sourceTopic,
        sourcePartition,
        targetTopic,
        targetPartition,
        records: 0,
        sourceFirstOffset: -1,
        sourceLastOffset: -1,
        targetFirstOffset: -1,
        targetLastOffset: -1,
        firstTimestamp: -1,
        lastTimestamp: -1,
        runs: [],
      };
      this.#mappings.set(key, m);
    }
    return m;
  }

  observe(
    sourceTopic: string,
    sourcePartition: number,
    sourceOffset: number,
    timestamp: number,
    targetTopic: string,
    targetPartition: number,
    targetOffset: number,
  ): void {
    const key = `${sourceTopic}/${sourcePartition}>${targetTopic}/${targetPartition}`;
    const m = this.declare(sourceTopic, sourcePartition, targetTopic, targetPartition);
    if (m.records === 0) {
      m.sourceFirstOffset = sourceOffset;
      m.targetFirstOffset = targetOffset;
      m.firstTimestamp = timestamp;
    }
    m.records++;
    const wanted = this.#anchorOffsets.get(`${sourceTopic}/${sourcePartition}`);
    if (wanted) {
      let next = this.#nextAnchor.get(key) ?? 0;
      while (next < wanted.length && (wanted[next] as number) <= sourceOffset) {
        m.anchors ??= {};
        m.anchors[String(wanted[next])] = targetOffset;
        next++;
      }
      this.#nextAnchor.set(key, next);
    }
    m.sourceLastOffset = sourceOffset;
    m.targetLastOffset = targetOffset;
    m.lastTimestamp = timestamp;
    if (m.runsTruncated) return;
    const last = m.runs.at(-1);
    if (last && last[0] + last[2] === sourceOffset && last[1] + last[2] === targetOffset) {
      last[2]++;
    } else if (this.#runs < this.#maxRuns) {
      m.runs.push([sourceOffset, targetOffset, 1]);
      this.#runs++;
    } else {
      m.runsTruncated = true;
      this.#runs -= m.runs.length;
      m.runs = [];
    }
  }

  /**
   * `count` records with consecutive source offsets from `sourceFirst`, written at consecutive
   * target offsets from `targetFirst` (a stored batch sent whole): the same result as observing
   * each, without a call per record.
   */
  observeRun(
    sourceTopic: string,
    sourcePartition: number,
    sourceFirst: number,
    count: number,
    firstTimestamp: number,
    lastTimestamp: number,
    targetTopic: string,
    targetPartition: number,
    targetFirst: number,
  ): void {
    if (count <= 0) return;
    const wanted = this.#anchorOffsets.get(`${sourceTopic}/${sourcePartition}`);
    if (count === 1 || wanted?.length) {
      // Anchors fall on single records: the record-level path places them exactly.
      this.observe(sourceTopic, sourcePartition, sourceFirst, firstTimestamp, targetTopic, targetPartition, targetFirst);
      if (count > 1) {
        const key = `${sourceTopic}/${sourcePartition}>${targetTopic}/${targetPartition}`;
        const last = sourceFirst + count - 1;
        // Anchors inside the run: the next record at or after each is exactly its offset here.
        const m = this.declare(sourceTopic, sourcePartition, targetTopic, targetPartition);
        let next = this.#nextAnchor.get(key) ?? 0;
        while (wanted && next < wanted.length && (wanted[next] as number) <= last) {
          m.anchors ??= {};
          m.anchors[String(wanted[next])] = targetFirst + Math.max(0, (wanted[next] as number) - sourceFirst);
          next++;
        }
        this.#nextAnchor.set(key, next);
        this.#extend(m, sourceFirst + 1, targetFirst + 1, count - 1, lastTimestamp);
      }
      return;
    }
    const m = this.declare(sourceTopic, sourcePartition, targetTopic, targetPartition);
    if (m.records === 0) {
      m.sourceFirstOffset = sourceFirst;
      m.targetFirstOffset = targetFirst;
      m.firstTimestamp = firstTimestamp;
    }
    this.#extend(m, sourceFirst, targetFirst, count, lastTimestamp);
  }

  #extend(m: PartitionOffsetMapping, sourceFirst: number, targetFirst: number, count: number, lastTimestamp: number): void {
    m.records += count;
    m.sourceLastOffset = sourceFirst + count - 1;
    m.targetLastOffset = targetFirst + count - 1;
    m.lastTimestamp = lastTimestamp;
    if (m.runsTruncated) return;
    const last = m.runs.at(-1);
    if (last && last[0] + last[2] === sourceFirst && last[1] + last[2] === targetFirst) {
      last[2] += count;
    } else if (this.#runs < this.#maxRuns) {
      m.runs.push([sourceFirst, targetFirst, count]);
      this.#runs++;
    } else {
      m.runsTruncated = true;
      this.#runs -= m.runs.length;
      m.runs = [];
    }
  }

  partitions(): PartitionOffsetMapping[] {
    return [...this.#mappings.values()].sort(
      (a, b) =>
        a.sourceTopic.localeCompare(b.sourceTopic) ||
        a.sourcePartition - b.sourcePartition ||
        a.targetTopic.localeCompare(b.targetTopic) ||
        a.targetPartition - b.targetPartition,
    );
  }
}
