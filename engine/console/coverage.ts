// What a storage location holds, per topic and partition, as a person reads it on a timeline: the
// offset (and time) range each backup set holds, the gaps the manifests record (retention took the
// offsets before a run read them), and the offsets no complete set holds at all. Plus the recovery
// point actually achieved. Pure: the console reads the manifests, this decides what to draw.
import { isUsable, setState } from "../backupset/chain.ts";
import type { Manifest, SetRunState } from "../format/manifest.ts";

export interface CoverageSpan {
  backupId: string;
  state: SetRunState | "legacy";
  /** Chosen when nobody names a set (complete, legacy, or continuous with data). */
  usable: boolean;
  chainId?: string;
  /** First offset this set is responsible for (its chain base's end, or its first segment). */
  from: number;
  /** One past the last offset it covers. */
  to: number;
  records: number;
  segments: number;
  minTimestamp?: number;
  maxTimestamp?: number;
}

export interface CoverageGap {
  start: number;
  /** Exclusive. */
  end: number;
  /** `recorded`: the set's manifest records it (retention); `missing`: no complete set holds these offsets. */
  kind: "recorded" | "missing";
  reason: string;
  /** The set that recorded it. */
  backupId?: string;
}

export interface PartitionTimeline {
  topic: string;
  partition: number;
  /** The offset axis: the lowest offset any set starts at, and one past the highest it covers. */
  from: number;
  to: number;
  spans: CoverageSpan[];
  gaps: CoverageGap[];
}

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Where a set's partition ends: its resume point, else one past its last segment. */
function endOf(p: Manifest["topics"][number]["partitions"][number]): number | undefined {
  const last = p.segments.at(-1);
  return p.nextOffset ?? (last ? last.lastOffset + 1 : undefined);
}

/**
 * Per topic and partition, every set's span (each set's own manifest: a chain's incremental set
 * holds only what arrived after its base) and the gaps: those the manifests record, and the
 * offset ranges between the lowest and highest covered offset that no usable set holds.
 */
export function coverageTimeline(manifests: readonly Manifest[]): PartitionTimeline[] {
  const byId = new Map(manifests.map((m) => [m.backupId, m]));
  const lines = new Map<string, PartitionTimeline>();
  for (const m of manifests) {
    const state = setState(m);
    const usable = isUsable(m);
    const base = m.chain?.base ? byId.get(m.chain.base) : undefined;
    for (const t of m.topics) {
      for (const p of t.partitions) {
        const to = endOf(p);
        const baseEnd = base?.topics.find((b) => b.name === t.name)?.partitions.find((b) => b.partition === p.partition);
        const starts = [...p.segments.map((s) => s.firstOffset), ...p.gaps.map((g) => g.start)];
        const from = (baseEnd ? endOf(baseEnd) : undefined) ?? (starts.length ? Math.min(...starts) : to);
        if (from === undefined || to === undefined || to <= from) continue;
        const key = partitionKey(t.name, p.partition);
        const line = lines.get(key) ?? { topic: t.name, partition: p.partition, from, to, spans: [], gaps: [] };
        lines.set(key, line);
        const minTs = p.segments.map((s) => s.minTimestamp).filter((x) => x !== undefined);
        const maxTs = p.segments.map((s) => s.maxTimestamp).filter((x) => x !== undefined);
        line.spans.push({
          backupId: m.backupId,
          state,
          usable,
          ...(m.chain ? { chainId: m.chain.id } : {}),
          from,
          to,
          records: p.segments.reduce((n, s) => n + s.recordCount, 0),
          segments: p.segments.length,
          ...(minTs.length ? { minTimestamp: Math.min(...minTs) } : {}),
          ...(maxTs.length ? { maxTimestamp: Math.max(...maxTs) } : {}),
        });
        for (const g of p.gaps)
          if (g.end > g.start)
            line.gaps.push({ start: g.start, end: g.end, kind: "recorded", reason: g.reason, backupId: m.backupId });
      }
    }
  }
  const result = [...lines.values()];
  for (const line of result) {
    line.from = Math.min(...line.spans.map((s) => s.from));
    line.to = Math.max(...line.spans.map((s) => s.to));
    line.spans.sort((a, b) => a.from - b.from || a.to - b.to || (a.backupId < b.backupId ? -1 : 1));
    line.gaps.push(...missing(line));
    line.gaps.sort((a, b) => a.start - b.start || a.end - b.end);
  }
  return result.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** Offset ranges on the line that neither a usable set nor a recorded gap accounts for. */
function missing(line: PartitionTimeline): CoverageGap[] {
  const covered = [
    ...line.spans.filter((s) => s.usable).map((s) => [s.from, s.to] as const),
    ...line.gaps.map((g) => [g.start, g.end] as const),
  ].sort((a, b) => a[0] - b[0]);
  const holes: CoverageGap[] = [];
  let at = line.from;
  for (const [from, to] of covered) {
    if (from > at) holes.push({ start: at, end: from, kind: "missing", reason: "in no complete backup set" });
    at = Math.max(at, to);
  }
  if (at < line.to) holes.push({ start: at, end: line.to, kind: "missing", reason: "in no complete backup set" });
  return holes;
}

export interface AchievedRpo {
  /** The longest stretch, in the window, between two complete sets' ends (or the last one and now). */
  worstMs?: number;
  /** Where that stretch ends: a set's id, or "now". */
  endingAt?: string;
  /** Complete sets that ended in the window. */
  sets: number;
  windowDays: number;
}

/**
 * The recovery point objective the backups actually achieved over the last `days` days: the
 * largest time between two consecutive complete sets' ends, counting the time since the newest
 * one. Continuous sets count at their last manifest write. Pure.
 */
export function achievedRpo(manifests: readonly Manifest[], now: number, days = 7): AchievedRpo {
  const since = now - days * 86_400_000;
  const ends = manifests
    .filter(isUsable)
    .map((m) => ({ id: m.backupId, at: m.run?.finishedAt ?? m.updatedAt }))
    .sort((a, b) => a.at - b.at);
  const inWindow = ends.filter((e) => e.at >= since && e.at <= now);
  if (!inWindow.length) return { sets: 0, windowDays: days };
  // The stretch into the window starts at the last set before it, when there is one.
  const before = ends.filter((e) => e.at < since).at(-1);
  let previous = before ? before.at : undefined;
  let worstMs = 0;
  let endingAt: string | undefined;
  for (const e of [...inWindow, { id: "now", at: now }]) {
    if (previous !== undefined && e.at - previous >= worstMs) {
      worstMs = e.at - previous;
      endingAt = e.id;
    }
    previous = e.at;
  }
  return { worstMs, ...(endingAt ? { endingAt } : {}), sets: inWindow.length, windowDays: days };
}
