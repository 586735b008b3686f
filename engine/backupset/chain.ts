// Backup sets as a KafkaBackup's history: whose a set is, whether its run finished, and how the
// sets of a chain (a full set and the incremental sets after it) read as one. Pure: the catalog
// reads the manifests, this decides. The format is in docs/format.md ("Complete sets, owners and chains").
import type { Manifest, ManifestPartition, ManifestTopic, SetOwner, SetRunState } from "../format/manifest.ts";

/** Where a set stands: its run's state, or `legacy` for a manifest written before run states (or by the Rust engine). */
export function setState(m: Manifest): SetRunState | "legacy" {
  return m.run?.state ?? "legacy";
}

const hasData = (m: Manifest) => m.topics.some((t) => t.partitions.some((p) => p.segments.length > 0));

/**
 * Whether a set may be chosen when nobody names it: a complete run; a set older than run states
 * (it was listed as a backup before, so it still is); or a continuous set holding data (a
 * continuous set never completes, and every manifest write of it lists only durable segments).
 */
export function isUsable(m: Manifest): boolean {
  if (!m.run) return true;
  if (m.run.state === "complete") return true;
  return m.run.mode === "continuous" && hasData(m);
}

/**
 * Whether a set belongs to this KafkaBackup: its manifest names the same namespace and name, and
 * the same object (uid) — or, when both record a cluster identity and it is the same, a KafkaBackup
 * recreated under that name (it takes over its predecessor's sets). Never by name alone.
 */
export function ownsSet(owner: SetOwner, m: Manifest): boolean {
  const o = m.owner;
  if (!o || o.namespace !== owner.namespace || o.name !== owner.name) return false;
  if (o.cluster && owner.cluster && o.cluster !== owner.cluster) return false;
  if (o.uid && owner.uid && o.uid === owner.uid) return true;
  return Boolean(o.cluster && owner.cluster);
}

export const describeOwner = (o: SetOwner) =>
  `KafkaBackup ${o.namespace}/${o.name}${o.uid ? ` (uid ${o.uid})` : ""}${o.cluster ? ` in cluster ${o.cluster}` : ""}`;

export class SetOwnedElsewhereError extends Error {
  readonly reason = "BackupSetOwnedElsewhere";
  override name = "SetOwnedElsewhereError";
}

/** A run never writes into a set another KafkaBackup owns (same id from another cluster, or a hand-picked id). */
export function assertWritableBy(existing: Manifest | undefined, owner: SetOwner | undefined, backupId: string): void {
  if (!owner || !existing?.owner) return;
  const o = existing.owner;
  const same =
    o.namespace === owner.namespace &&
    o.name === owner.name &&
    (o.cluster ?? "") === (owner.cluster ?? "") &&
    ownsSet(owner, existing);
  if (!same)
    throw new SetOwnedElsewhereError(
      `backup set ${backupId} belongs to ${describeOwner(o)}, not to ${describeOwner(owner)}: give this backup another storage prefix`,
    );
}

/**
 * The sets of a chain, oldest first (the full set, then each incremental set on top of the one
 * before), read as one manifest: per partition the segments of every set in offset order, their
 * gaps, and the newest set's resume point. Restore, validation and PITR read a chain through this
 * view exactly as they read one set: segment keys name their own set.
 */
export function mergeChain(sets: readonly Manifest[]): Manifest {
  const newest = sets.at(-1);
  if (!newest) throw new RangeError("mergeChain: no sets");
  if (sets.length === 1) return newest;
  const topics = new Map<string, ManifestTopic>();
  for (const m of sets) {
    for (const t of m.topics) {
      const merged = topics.get(t.name);
      if (!merged) {
        topics.set(t.name, {
          ...t,
          partitions: t.partitions.map((p) => ({ ...p, segments: [...p.segments], gaps: [...p.gaps] })),
        });
        continue;
      }
      // The newer set's metadata; partitions merged.
      const partitions = new Map(merged.partitions.map((p) => [p.partition, p]));
      for (const p of t.partitions) {
        const before = partitions.get(p.partition);
        partitions.set(p.partition, before ? appendPartition(before, p) : { ...p, segments: [...p.segments], gaps: [...p.gaps] });
      }
      topics.set(t.name, { ...t, partitions: [...partitions.values()].sort((a, b) => a.partition - b.partition) });
    }
  }
  return { ...newest, topics: [...topics.values()], chainSets: sets.map((m) => m.backupId) };
}

function appendPartition(before: ManifestPartition, next: ManifestPartition): ManifestPartition {
  const segments = [...before.segments, ...next.segments].sort((a, b) => a.firstOffset - b.firstOffset);
  const skipped = (before.skippedOffsets ?? 0) + (next.skippedOffsets ?? 0);
  // The newer set's resume point; never behind the older one's (a set that read nothing of a partition).
  const ends = [before.nextOffset, next.nextOffset].filter((n) => n !== undefined);
  const nextOffset = ends.length ? Math.max(...ends) : undefined;
  return {
    partition: next.partition,
    segments,
    gaps: [...before.gaps, ...next.gaps],
    ...(nextOffset !== undefined ? { nextOffset } : {}),
    ...(skipped ? { skippedOffsets: skipped } : {}),
  };
}

/** Per partition of a (chain) manifest: the offsets it covers, and what it lacks. For `list`/`describe`. */
export interface PartitionCoverage {
  topic: string;
  partition: number;
  /** First offset held (segment or gap start); undefined when the partition holds nothing. */
  from?: number;
  /** One past the last offset covered. */
  to?: number;
  records: number;
  gaps: Array<{ start: number; end: number; reason: string }>;
}

export function coverage(m: Manifest): PartitionCoverage[] {
  return m.topics.flatMap((t) =>
    t.partitions.map((p) => {
      const starts = [...p.segments.map((s) => s.firstOffset), ...p.gaps.map((g) => g.start)];
      const last = p.segments.at(-1);
      const to = p.nextOffset ?? (last ? last.lastOffset + 1 : undefined);
      return {
        topic: t.name,
        partition: p.partition,
        ...(starts.length ? { from: Math.min(...starts) } : {}),
        ...(to !== undefined ? { to } : {}),
        records: p.segments.reduce((n, s) => n + s.recordCount, 0),
        gaps: p.gaps.map((g) => ({ start: g.start, end: g.end, reason: g.reason })),
      };
    }),
  );
}
