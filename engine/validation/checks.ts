// What each validation check concludes from what was read: pure functions of the manifest, the
// segment scan, the consumer-group snapshot and (when given) the cluster's watermarks and
// commits. No I/O here; engine/validation/run.ts reads and calls these.
import type { Manifest, ManifestPartition, ManifestSegment, ManifestTopic } from "../format/manifest.ts";

export type Outcome = "Passed" | "Failed" | "Warning" | "Skipped";
export type ValidationResult = "Pass" | "Fail" | "Warn" | "Skip";

export interface CheckResult {
  checkName: string;
  outcome: Outcome;
  message: string;
  durationMs: number;
  details?: Record<string, unknown>;
}

/** Inclusive window on record timestamps (epoch ms); an unset end is open. */
export interface TimeWindow {
  start?: number;
  end?: number;
}

export interface Watermarks {
  low: number;
  high: number;
}

/** What reading one segment found. */
export interface SegmentScan {
  key: string;
  topic: string;
  partition: number;
  bytes: number;
  /** SHA-256 of the object as stored (null when it could not be read). */
  sha256: string | null;
  ok: boolean;
  /** Why it failed, or why it was only partly checked. */
  error?: string;
  /** Records decoded (undefined when not decoded). */
  records?: number;
  /** Decoded records inside the window. */
  inWindow?: number;
  /** Encrypted and no key: checksums verified, records not decoded. */
  undecoded?: boolean;
}

/** How the cluster given in kafkaCluster relates to the backup. */
export type ClusterRole = "source" | "restored";

export const partitionKey = (topic: string, partition: number) => `${topic}/${partition}`;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

// ── Selection and counting ─────────────────────────────────────────────────────────────────────

export function selectTopics(
  manifest: Manifest,
  topics: readonly string[] | undefined,
): { topics: ManifestTopic[]; missing: string[] } {
  if (!topics?.length) return { topics: manifest.topics, missing: [] };
  const byName = new Map(manifest.topics.map((t) => [t.name, t]));
  return {
    topics: topics.flatMap((t) => (byName.has(t) ? [byName.get(t) as ManifestTopic] : [])),
    missing: topics.filter((t) => !byName.has(t)),
  };
}

/**
 * Records of a segment inside the window, when the manifest alone tells (the whole segment is in
 * or out by its min/max timestamps); undefined when the segment must be decoded to count.
 */
export function segmentCountInWindow(segment: ManifestSegment, window: TimeWindow): number | undefined {
  if (window.start === undefined && window.end === undefined) return segment.recordCount;
  if (segment.minTimestamp === undefined || segment.maxTimestamp === undefined) return undefined;
  const start = window.start ?? Number.NEGATIVE_INFINITY;
  const end = window.end ?? Number.POSITIVE_INFINITY;
  if (segment.maxTimestamp < start || segment.minTimestamp > end) return 0;
  if (segment.minTimestamp >= start && segment.maxTimestamp <= end) return segment.recordCount;
  return undefined;
}

export const inWindow = (timestamp: number, window: TimeWindow) =>
  (window.start === undefined || timestamp >= window.start) && (window.end === undefined || timestamp <= window.end);

/** Segments whose in-window count needs decoding (the run reads exactly these). */
export function segmentsToCount(topics: readonly ManifestTopic[], window: TimeWindow): ManifestSegment[] {
  return topics.flatMap((t) =>
    t.partitions.flatMap((p) => p.segments.filter((s) => segmentCountInWindow(s, window) === undefined)),
  );
}

/** One past the last offset the backup covers in a partition. */
export function nextOffsetOf(p: ManifestPartition): number | undefined {
  if (p.nextOffset !== undefined) return p.nextOffset;
  const last = p.segments.at(-1);
  return last ? last.lastOffset + 1 : undefined;
}

const records = (p: ManifestPartition) => p.segments.reduce((n, s) => n + s.recordCount, 0);

// ── messageCount ───────────────────────────────────────────────────────────────────────────────

export interface MessageCountInput {
  manifest: Manifest;
  topics?: readonly string[];
  failThreshold?: number;
  /** Segment scans by key (deep integrity or window counting), when segments were read. */
  scans?: ReadonlyMap<string, SegmentScan>;
  cluster?: {
    role: ClusterRole;
    /** By the cluster's topic/partition; null when the cluster has no such partition. */
    watermarks: ReadonlyMap<string, Watermarks | null>;
    topicMapping?: Readonly<Record<string, string>>;
    window?: TimeWindow;
  };
}

export function messageCountCheck(input: MessageCountInput): Omit<CheckResult, "durationMs"> {
  const threshold = input.failThreshold ?? 0;
  const { topics, missing } = selectTopics(input.manifest, input.topics);
  const failures: string[] = missing.map((t) => `topic ${t} is not in the backup`);
  const warnings: string[] = [];
  const perTopic: Record<string, { backup: number; expected?: number; cluster?: number; missing?: number }> = {};
  let total = 0;
  let clusterMissing = 0;
  const window = input.cluster?.role === "restored" ? (input.cluster.window ?? {}) : {};
  for (const t of topics) {
    const row: { backup: number; expected?: number; cluster?: number; missing?: number } = { backup: 0 };
    perTopic[t.name] = row;
    for (const p of t.partitions) {
      const stated = records(p);
      row.backup += stated;
      total += stated;
      // The manifest against the segments: what it states against what each segment holds.
      for (const s of p.segments) {
        const span = s.lastOffset - s.firstOffset + 1;
        if (s.recordCount > span) failures.push(`${s.key}: the manifest states ${s.recordCount} records in ${span} offsets`);
        const scan = input.scans?.get(s.key);
        if (scan?.records !== undefined && scan.records !== s.recordCount)
          failures.push(`${s.key}: holds ${scan.records} records, the manifest states ${s.recordCount}`);
      }
      const cluster = input.cluster;
      if (!cluster) continue;
      if (cluster.role === "restored") {
        const target = cluster.topicMapping?.[t.name] ?? t.name;
        let expected = 0;
        let unknown = 0;
        for (const s of p.segments) {
          const known = segmentCountInWindow(s, window);
          const n = known ?? input.scans?.get(s.key)?.inWindow;
          if (n === undefined) unknown++;
          else expected += n;
        }
        row.expected = (row.expected ?? 0) + expected;
        if (unknown) {
          failures.push(`${t.name}/${p.partition}: ${plural(unknown, "segment")} could not be counted in the window`);
          continue;
        }
        const w = cluster.watermarks.get(partitionKey(target, p.partition));
        if (!w) {
          if (expected > 0) failures.push(`${target}/${p.partition}: not in the cluster (expected ${expected} records)`);
          continue;
        }
        const actual = w.high - w.low;
        row.cluster = (row.cluster ?? 0) + actual;
        if (actual < expected) {
          clusterMissing += expected - actual;
          row.missing = (row.missing ?? 0) + (expected - actual);
        } else if (actual > expected)
          warnings.push(`${target}/${p.partition}: ${actual} records in the cluster, ${expected} expected from the backup`);
      } else {
        // The source: offsets the cluster holds that the backup does not (yet).
        const w = cluster.watermarks.get(partitionKey(t.name, p.partition));
        const next = nextOffsetOf(p);
        if (!w) {
          failures.push(`${t.name}/${p.partition}: not in the cluster`);
          continue;
        }
        if (next !== undefined && w.high < next) {
          failures.push(
            `${t.name}/${p.partition}: the cluster's high watermark ${w.high} is below the backup's next offset ${next} (topic truncated or recreated?)`,
          );
          continue;
        }
        const behind = Math.max(0, w.high - Math.max(next ?? 0, w.low));
        row.cluster = (row.cluster ?? 0) + (w.high - w.low);
        if (behind) {
          clusterMissing += behind;
          row.missing = (row.missing ?? 0) + behind;
        }
      }
    }
  }
  const details = { records: total, failThreshold: threshold, topics: perTopic, ...(input.cluster ? { clusterMissing } : {}) };
  if (input.cluster && clusterMissing > threshold) {
    failures.push(
      input.cluster.role === "restored"
        ? `${clusterMissing} records of the backup are missing from the cluster (threshold ${threshold})`
        : `the cluster holds ${clusterMissing} offsets the backup does not (threshold ${threshold})`,
    );
  }
  const scope = `${plural(total, "record")} in ${plural(topics.length, "topic")}`;
  if (failures.length) return { checkName: "messageCount", outcome: "Failed", message: summarize(failures), details };
  if (warnings.length)
    return { checkName: "messageCount", outcome: "Warning", message: `${scope}; ${summarize(warnings)}`, details };
  const versus = input.cluster
    ? input.cluster.role === "restored"
      ? "; every expected record is in the cluster"
      : clusterMissing
        ? `; the cluster is ${plural(clusterMissing, "offset")} ahead (within threshold ${threshold})`
        : "; the backup is level with the cluster"
    : "";
  return { checkName: "messageCount", outcome: "Passed", message: `${scope} match the manifest${versus}`, details };
}

// ── offsetRange ────────────────────────────────────────────────────────────────────────────────

export interface OffsetRangeInput {
  manifest: Manifest;
  topics?: readonly string[];
  cluster?: { role: ClusterRole; watermarks: ReadonlyMap<string, Watermarks | null> };
}

export function offsetRangeCheck(input: OffsetRangeInput): Omit<CheckResult, "durationMs"> {
  const { topics, missing } = selectTopics(input.manifest, input.topics);
  const failures: string[] = missing.map((t) => `topic ${t} is not in the backup`);
  const warnings: string[] = [];
  const ranges: Record<string, { first?: number; next?: number; gaps: number; low?: number; high?: number }> = {};
  for (const t of topics) {
    for (const p of t.partitions) {
      const where = partitionKey(t.name, p.partition);
      const segments = [...p.segments].sort((a, b) => a.firstOffset - b.firstOffset);
      let previous: ManifestSegment | undefined;
      for (const s of segments) {
        if (s.firstOffset > s.lastOffset) failures.push(`${s.key}: first offset ${s.firstOffset} after last ${s.lastOffset}`);
        if (s.recordCount < 1) failures.push(`${s.key}: holds no records`);
        if (previous && s.firstOffset <= previous.lastOffset)
          failures.push(`${where}: ${s.key} overlaps ${previous.key} (offsets ${s.firstOffset} ≤ ${previous.lastOffset})`);
        previous = s;
      }
      const next = nextOffsetOf(p);
      if (previous && next !== undefined && next <= previous.lastOffset)
        failures.push(`${where}: next offset ${next} is not past the last segment's offset ${previous.lastOffset}`);
      const lost = p.gaps.reduce((n, g) => n + (g.end - g.start), 0);
      if (lost) warnings.push(`${where}: ${plural(lost, "offset")} lost to retention before they were backed up`);
      const row: { first?: number; next?: number; gaps: number; low?: number; high?: number } = { gaps: lost };
      if (segments[0]) row.first = segments[0].firstOffset;
      if (next !== undefined) row.next = next;
      ranges[where] = row;
      if (input.cluster?.role === "source") {
        const w = input.cluster.watermarks.get(where);
        if (!w) {
          failures.push(`${where}: not in the cluster`);
          continue;
        }
        row.low = w.low;
        row.high = w.high;
        if (next !== undefined && next > w.high)
          failures.push(`${where}: the backup reaches offset ${next - 1}, beyond the cluster's high watermark ${w.high}`);
      }
    }
  }
  const details = { partitions: ranges, ...(input.cluster ? { clusterRole: input.cluster.role } : {}) };
  const count = Object.keys(ranges).length;
  if (failures.length) return { checkName: "offsetRange", outcome: "Failed", message: summarize(failures), details };
  if (warnings.length) return { checkName: "offsetRange", outcome: "Warning", message: summarize(warnings), details };
  const versus =
    input.cluster?.role === "source"
      ? " and within the cluster's watermarks"
      : input.cluster?.role === "restored"
        ? " (a restore renumbers offsets: the cluster is compared by count in messageCount)"
        : "";
  return {
    checkName: "offsetRange",
    outcome: "Passed",
    message: `offsets of ${plural(count, "partition")} are ordered, non-overlapping${versus}`,
    details,
  };
}

// ── consumerGroupOffsets ───────────────────────────────────────────────────────────────────────

/** The consumer-group snapshot stored with a backup (the Rust engine's shape, which we write too). */
export interface GroupSnapshot {
  snapshot_time: number;
  groups: Array<{ group_id: string; offsets: Record<string, Record<string, number>> }>;
}

export function parseGroupSnapshot(text: string, where: string): GroupSnapshot {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: not JSON: ${(err as Error).message}`);
  }
  const o = json as Partial<GroupSnapshot>;
  if (!o || !Array.isArray(o.groups)) throw new Error(`${where}: no "groups" list`);
  for (const g of o.groups) {
    if (typeof g?.group_id !== "string" || typeof g.offsets !== "object" || g.offsets === null)
      throw new Error(`${where}: a group entry lacks group_id or offsets`);
  }
  return { snapshot_time: Number(o.snapshot_time ?? 0), groups: o.groups };
}

export interface ConsumerGroupInput {
  manifest: Manifest;
  /** undefined: the backup has no snapshot. */
  snapshot: GroupSnapshot | undefined;
  groups?: readonly string[];
  cluster?: {
    role: ClusterRole;
    /** Committed offsets now, by group, then by the cluster's topic/partition. */
    committed: ReadonlyMap<string, ReadonlyMap<string, number>>;
    watermarks: ReadonlyMap<string, Watermarks | null>;
    topicMapping?: Readonly<Record<string, string>>;
  };
}

export function consumerGroupCheck(input: ConsumerGroupInput): Omit<CheckResult, "durationMs"> {
  const name = "consumerGroupOffsets";
  const wanted = input.groups?.length ? new Set(input.groups) : undefined;
  if (!input.snapshot) {
    if (wanted)
      return {
        checkName: name,
        outcome: "Failed",
        message: `the backup has no consumer-group snapshot, so groups ${[...wanted].join(", ")} cannot be checked (set consumerGroupSnapshot: true on the KafkaBackup)`,
      };
    return {
      checkName: name,
      outcome: "Warning",
      message: "the backup has no consumer-group snapshot (set consumerGroupSnapshot: true on the KafkaBackup)",
    };
  }
  const partitions = new Map<string, ManifestPartition>();
  for (const t of input.manifest.topics) for (const p of t.partitions) partitions.set(partitionKey(t.name, p.partition), p);
  const failures: string[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  let checked = 0;
  for (const g of input.snapshot.groups) {
    if (wanted && !wanted.has(g.group_id)) continue;
    seen.add(g.group_id);
    const now = input.cluster?.committed.get(g.group_id);
    for (const [topic, byPartition] of Object.entries(g.offsets)) {
      for (const [partitionText, committed] of Object.entries(byPartition)) {
        checked++;
        const where = `group ${g.group_id} ${topic}/${partitionText}`;
        const p = partitions.get(partitionKey(topic, Number(partitionText)));
        if (!p) {
          warnings.push(`${where}: committed ${committed}, but the partition is not in the backup`);
          continue;
        }
        const first = p.segments[0]?.firstOffset;
        const next = nextOffsetOf(p);
        if (first !== undefined && committed < first)
          warnings.push(`${where}: committed ${committed} is before the backup's first offset ${first}`);
        else if (next !== undefined && committed > next)
          warnings.push(`${where}: committed ${committed} is past the backup's end ${next}`);
        if (!input.cluster) continue;
        if (input.cluster.role === "source") {
          const current = now?.get(partitionKey(topic, Number(partitionText)));
          if (current === undefined) warnings.push(`${where}: no committed offset in the cluster now`);
          else if (current < committed)
            warnings.push(`${where}: committed ${current} now, behind the snapshot's ${committed} (reset?)`);
        } else {
          const target = input.cluster.topicMapping?.[topic] ?? topic;
          const targetKey = partitionKey(target, Number(partitionText));
          const current = now?.get(targetKey);
          const w = input.cluster.watermarks.get(targetKey);
          if (current === undefined) failures.push(`${where}: no committed offset on ${targetKey} in the restored cluster`);
          else if (w && (current < w.low || current > w.high))
            failures.push(`${where}: committed ${current} on ${targetKey} is outside its offsets ${w.low}..${w.high}`);
        }
      }
    }
  }
  for (const g of wanted ?? []) if (!seen.has(g)) failures.push(`group ${g} is not in the backup's consumer-group snapshot`);
  const details = { groups: seen.size, partitions: checked, snapshotTime: input.snapshot.snapshot_time };
  if (failures.length) return { checkName: name, outcome: "Failed", message: summarize(failures), details };
  if (warnings.length) return { checkName: name, outcome: "Warning", message: summarize(warnings), details };
  if (!seen.size) return { checkName: name, outcome: "Warning", message: "the consumer-group snapshot holds no groups", details };
  return {
    checkName: name,
    outcome: "Passed",
    message: `${plural(seen.size, "group")} (${plural(checked, "partition")}) committed within the backup's offsets${input.cluster ? (input.cluster.role === "restored" ? " and present in the restored cluster" : " and not behind in the cluster") : ""}`,
    details,
  };
}

// ── deepIntegrity ──────────────────────────────────────────────────────────────────────────────

export function deepIntegrityCheck(scans: readonly SegmentScan[]): Omit<CheckResult, "durationMs"> {
  const failed = scans.filter((s) => !s.ok);
  const undecoded = scans.filter((s) => s.ok && s.undecoded);
  const recordsRead = scans.reduce((n, s) => n + (s.records ?? 0), 0);
  const bytes = scans.reduce((n, s) => n + s.bytes, 0);
  const details = {
    segments: scans.length,
    records: recordsRead,
    bytes,
    failedSegments: failed.map((s) => ({ key: s.key, error: s.error })),
    ...(undecoded.length ? { undecodedSegments: undecoded.map((s) => s.key) } : {}),
  };
  if (failed.length) {
    return {
      checkName: "deepIntegrity",
      outcome: "Failed",
      message: `${plural(failed.length, "segment")} of ${scans.length} failed: ${summarize(failed.map((s) => `${s.key}: ${s.error}`))}`,
      details,
    };
  }
  if (undecoded.length) {
    return {
      checkName: "deepIntegrity",
      outcome: "Warning",
      message: `${plural(undecoded.length, "encrypted segment")} checked by checksum only (no encryption key); ${plural(recordsRead, "record")} decoded in the rest`,
      details,
    };
  }
  return {
    checkName: "deepIntegrity",
    outcome: "Passed",
    message: `${plural(scans.length, "segment")} read, checksums valid, ${plural(recordsRead, "record")} decoded`,
    details,
  };
}

/** What decoding a segment must agree on with the manifest entry. */
export function segmentMismatch(
  segment: ManifestSegment,
  decoded: { count: number; firstOffset?: number; lastOffset?: number },
): string | undefined {
  if (decoded.count !== segment.recordCount) return `holds ${decoded.count} records, the manifest states ${segment.recordCount}`;
  if (decoded.count && decoded.firstOffset !== segment.firstOffset)
    return `first offset ${decoded.firstOffset}, the manifest states ${segment.firstOffset}`;
  if (decoded.count && decoded.lastOffset !== segment.lastOffset)
    return `last offset ${decoded.lastOffset}, the manifest states ${segment.lastOffset}`;
  return undefined;
}

// ── customWebhooks ─────────────────────────────────────────────────────────────────────────────

export function webhookCheck(
  name: string,
  expectedStatus: number,
  response: { status: number } | { error: string; timedOut: boolean },
): Omit<CheckResult, "durationMs"> {
  const checkName = `webhook:${name}`;
  if ("error" in response) {
    return {
      checkName,
      outcome: "Failed",
      message: response.timedOut ? `no answer within the timeout` : `request failed: ${response.error}`,
    };
  }
  if (response.status !== expectedStatus)
    return { checkName, outcome: "Failed", message: `answered HTTP ${response.status}, expected ${expectedStatus}` };
  return { checkName, outcome: "Passed", message: `answered HTTP ${response.status}` };
}

// ── The whole run ──────────────────────────────────────────────────────────────────────────────

export function overallResult(results: readonly Pick<CheckResult, "outcome">[]): ValidationResult {
  if (results.some((r) => r.outcome === "Failed")) return "Fail";
  if (results.some((r) => r.outcome === "Warning")) return "Warn";
  if (results.every((r) => r.outcome === "Skipped")) return "Skip";
  return "Pass";
}

export function countOutcomes(results: readonly Pick<CheckResult, "outcome">[]): {
  total: number;
  passed: number;
  failed: number;
  warned: number;
  skipped: number;
} {
  const n = (o: Outcome) => results.filter((r) => r.outcome === o).length;
  return { total: results.length, passed: n("Passed"), failed: n("Failed"), warned: n("Warning"), skipped: n("Skipped") };
}

/** The first few findings, and how many more: status messages stay readable. */
function summarize(items: readonly string[], max = 5): string {
  const shown = items.slice(0, max).join("; ");
  return items.length > max ? `${shown}; and ${items.length - max} more` : shown;
}
