// A validation run: reads the backup set (manifest, segments, consumer-group snapshot) and, when
// a cluster is given, its watermarks and commits; hands what it read to the decisions in
// checks.ts; builds the evidence report and stores it (signed when a key is given) beside the
// backup. Used as it is by the CLI and by controllers/validation.ts.
import type { KeyObject } from "node:crypto";
import type { ValidationChecksSpec } from "../../crds/generated/types.ts";
import pkg from "../../package.json" with { type: "json" };
import { groupSnapshotKey, manifestKey } from "../backup/layout.ts";
import { BackupNotFoundError, decodeSegmentObject, readManifest, summarize } from "../backupset/catalog.ts";
import { type ManifestSegment, parseManifest } from "../format/manifest.ts";
import { EncryptionError } from "../format/segment.ts";
import type { KafkaClient } from "../kafka/client.ts";
import { type Logger, silentLogger } from "../log.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { ObjectNotFoundError } from "../storage/errors.ts";
import {
  type CheckResult,
  type ClusterRole,
  consumerGroupCheck,
  countOutcomes,
  deepIntegrityCheck,
  type GroupSnapshot,
  inWindow,
  messageCountCheck,
  offsetRangeCheck,
  overallResult,
  parseGroupSnapshot,
  partitionKey,
  type SegmentScan,
  segmentMismatch,
  segmentsToCount,
  selectTopics,
  type TimeWindow,
  type Watermarks,
  webhookCheck,
} from "./checks.ts";
import {
  canonicalJson,
  EVIDENCE_SCHEMA,
  EVIDENCE_SCHEMA_VERSION,
  type EvidenceReport,
  evidenceFolder,
  evidenceFolderTime,
  evidenceKey,
  sha256Hex,
  signatureKey,
  signEvidence,
} from "./evidence.ts";
import { displayUrl, postJson } from "./notify.ts";

export interface ValidationRunOptions {
  backupId: string;
  checks: ValidationChecksSpec;
  /** The cluster to compare against ("when asked": kafkaCluster given). */
  kafka?: KafkaClient;
  /** Set when the cluster holds a restore of the backup rather than its source. */
  restored?: { topicMapping?: Record<string, string>; window?: TimeWindow };
  encryptionKey?: Buffer;
  validation: { name: string; namespace?: string; triggeredBy: string };
  /** Segments read at once by the deep check (default 4). */
  concurrency?: number;
  /** Stored bytes of segments held in memory at once (default 256 MiB; one segment always fits). */
  memoryBudgetBytes?: number;
  signal?: AbortSignal;
  log?: Logger;
}

const enabled = (check: { enabled?: boolean } | undefined) => check !== undefined && check.enabled !== false;

export async function runValidation(store: StorageBackend, o: ValidationRunOptions): Promise<EvidenceReport> {
  const log = o.log ?? silentLogger;
  const started = new Date();
  const mKey = manifestKey(o.backupId);
  let manifestBytes: Buffer;
  try {
    manifestBytes = (await store.getBuffer(mKey)).body;
  } catch (err) {
    if (err instanceof ObjectNotFoundError)
      throw new BackupNotFoundError(`backup ${o.backupId} not found: no ${store.location(mKey)}`);
    throw err;
  }
  const own = parseManifest(manifestBytes.toString("utf8"), mKey);
  // A set in a chain is validated with the sets it builds on (one view of their segments), and the
  // evidence names every set's manifest by its hash.
  const manifest = own.chain?.base ? await readManifest(store, o.backupId) : own;
  const chainSets = [];
  for (const backupId of manifest.chainSets ?? []) {
    const bytes = backupId === o.backupId ? manifestBytes : (await store.getBuffer(manifestKey(backupId))).body;
    chainSets.push({ backupId, manifestSha256: sha256Hex(bytes) });
  }
  const checks = o.checks;
  const role: ClusterRole = o.restored ? "restored" : "source";
  const mapping = o.restored?.topicMapping ?? {};
  const window = o.restored?.window ?? {};
  const results: CheckResult[] = [];
  const timed = async (fn: () => Promise<Omit<CheckResult, "durationMs">> | Omit<CheckResult, "durationMs">) => {
    const t0 = Date.now();
    const r = await fn();
    results.push({ ...r, durationMs: Date.now() - t0 });
  };

  // Segments: every one for the deep check; only those a window cuts through for counting.
  const deep = enabled(checks.deepIntegrity);
  const countTopics = selectTopics(manifest, checks.messageCount?.topics).topics;
  const toRead: ManifestSegment[] = deep
    ? manifest.topics.flatMap((t) => t.partitions.flatMap((p) => p.segments))
    : enabled(checks.messageCount) && o.kafka && o.restored
      ? segmentsToCount(countTopics, window)
      : [];
  const where = new Map<string, { topic: string; partition: number }>();
  for (const t of manifest.topics)
    for (const p of t.partitions) for (const s of p.segments) where.set(s.key, { topic: t.name, partition: p.partition });
  const deepStarted = Date.now();
  const scans = await scanSegments(store, toRead, where, window, o);
  const scanMs = Date.now() - deepStarted;
  const scanByKey = new Map(scans.map((s) => [s.key, s]));
  log.info({ backupId: o.backupId, segments: scans.length, ms: scanMs }, "segments read");

  // The cluster, when asked.
  let watermarks: Map<string, Watermarks | null> | undefined;
  if (o.kafka) {
    const topics = new Set<string>();
    for (const t of manifest.topics) topics.add(role === "restored" ? (mapping[t.name] ?? t.name) : t.name);
    watermarks = await clusterWatermarks(o.kafka, [...topics]);
  }

  if (enabled(checks.messageCount)) {
    await timed(() =>
      messageCountCheck({
        manifest,
        ...(checks.messageCount?.topics ? { topics: checks.messageCount.topics } : {}),
        ...(checks.messageCount?.failThreshold !== undefined ? { failThreshold: checks.messageCount.failThreshold } : {}),
        scans: scanByKey,
        ...(watermarks ? { cluster: { role, watermarks, topicMapping: mapping, window } } : {}),
      }),
    );
  }
  if (enabled(checks.offsetRange)) {
    await timed(() => offsetRangeCheck({ manifest, ...(watermarks ? { cluster: { role, watermarks } } : {}) }));
  }
  if (enabled(checks.consumerGroupOffsets)) {
    await timed(async () => {
      const snapshot = await readGroupSnapshot(store, manifest.consumerGroupSnapshot ?? groupSnapshotKey(o.backupId));
      const groups = checks.consumerGroupOffsets?.consumerGroups ?? [];
      let cluster: Parameters<typeof consumerGroupCheck>[0]["cluster"];
      if (o.kafka && watermarks && snapshot) {
        const wanted = snapshot.groups.filter((g) => !groups.length || groups.includes(g.group_id));
        cluster = {
          role,
          committed: await clusterCommits(o.kafka, wanted, role === "restored" ? mapping : {}),
          watermarks,
          topicMapping: mapping,
        };
      }
      return consumerGroupCheck({ manifest, snapshot, groups, ...(cluster ? { cluster } : {}) });
    });
  }
  if (deep) results.push({ ...deepIntegrityCheck(scans), durationMs: scanMs });

  const summary = summarize(manifest);
  for (const hook of checks.customWebhooks ?? []) {
    await timed(async () => {
      const out = await postJson(
        hook.url,
        {
          event: "kafka_backup_validation",
          validation: o.validation,
          backupId: o.backupId,
          manifestSha256: sha256Hex(manifestBytes),
          backup: {
            topics: summary.topics,
            partitions: summary.partitions,
            records: summary.records,
            segments: summary.segments,
          },
          ...(o.kafka ? { cluster: { bootstrapServers: o.kafka.bootstrapServers, role } } : {}),
          checks: results.map((r) => ({ checkName: r.checkName, outcome: r.outcome, message: r.message })),
        },
        (hook.timeoutSecs ?? 120) * 1000,
        o.signal,
      );
      const r = webhookCheck(hook.name, hook.expectedStatusCode ?? 200, out);
      return { ...r, details: { url: displayUrl(hook.url), ...("status" in out ? { status: out.status } : {}) } };
    });
  }

  const completed = new Date();
  const counts = countOutcomes(results);
  return {
    schema: EVIDENCE_SCHEMA,
    schemaVersion: EVIDENCE_SCHEMA_VERSION,
    reportId: `${o.validation.name}-${started.toISOString()}`,
    tool: { name: "kafka-backup-operator", version: pkg.version },
    validation: o.validation,
    backup: {
      backupId: o.backupId,
      location: store.location(o.backupId),
      writer: manifest.writer,
      createdAt: new Date(manifest.createdAt).toISOString(),
      updatedAt: new Date(manifest.updatedAt).toISOString(),
      ...(manifest.sourceClusterId ? { sourceClusterId: manifest.sourceClusterId } : {}),
      topics: summary.topics,
      partitions: summary.partitions,
      segments: summary.segments,
      records: summary.records,
      storedBytes: summary.storedBytes,
      gaps: summary.gaps,
      encrypted: summary.encrypted,
      manifestSha256: sha256Hex(manifestBytes),
      ...(own.chain && chainSets.length ? { chain: { id: own.chain.id, sets: chainSets } } : {}),
    },
    ...(o.kafka
      ? {
          cluster: {
            bootstrapServers: o.kafka.bootstrapServers,
            role,
            ...(o.restored?.topicMapping && Object.keys(o.restored.topicMapping).length
              ? { topicMapping: o.restored.topicMapping }
              : {}),
            ...(window.start !== undefined || window.end !== undefined
              ? {
                  window: {
                    ...(window.start !== undefined ? { start: new Date(window.start).toISOString() } : {}),
                    ...(window.end !== undefined ? { end: new Date(window.end).toISOString() } : {}),
                  },
                }
              : {}),
          },
        }
      : {}),
    result: overallResult(results),
    counts: {
      checks: counts.total,
      passed: counts.passed,
      failed: counts.failed,
      warned: counts.warned,
      skipped: counts.skipped,
    },
    checks: results,
    ...(deep
      ? {
          segments: scans.map((s) => ({
            key: s.key,
            bytes: s.bytes,
            sha256: s.sha256,
            ok: s.ok,
            ...(s.records !== undefined ? { records: s.records } : {}),
          })),
        }
      : {}),
    startedAt: started.toISOString(),
    completedAt: completed.toISOString(),
    durationMs: completed.getTime() - started.getTime(),
  };
}

async function scanSegments(
  store: StorageBackend,
  segments: readonly ManifestSegment[],
  where: ReadonlyMap<string, { topic: string; partition: number }>,
  window: TimeWindow,
  o: ValidationRunOptions,
): Promise<SegmentScan[]> {
  const out: SegmentScan[] = new Array(segments.length);
  const budget = o.memoryBudgetBytes ?? 256 * 1024 * 1024;
  let next = 0;
  let held = 0;
  const waiting: Array<() => void> = [];
  const worker = async () => {
    while (next < segments.length) {
      if (o.signal?.aborted) throw o.signal.reason ?? new Error("cancelled");
      const i = next++;
      const segment = segments[i] as ManifestSegment;
      // Memory stays bounded whatever the segment size: wait while others hold the budget.
      while (held > 0 && held + segment.storedBytes > budget) await new Promise<void>((resolve) => waiting.push(resolve));
      held += segment.storedBytes;
      try {
        out[i] = await scanSegment(store, segment, where, window, o.encryptionKey, o.signal);
      } finally {
        held -= segment.storedBytes;
        for (const wake of waiting.splice(0)) wake();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 4, segments.length) }, worker));
  return out;
}

async function scanSegment(
  store: StorageBackend,
  segment: ManifestSegment,
  where: ReadonlyMap<string, { topic: string; partition: number }>,
  window: TimeWindow,
  encryptionKey: Buffer | undefined,
  signal: AbortSignal | undefined,
): Promise<SegmentScan> {
  const at = where.get(segment.key) ?? { topic: "?", partition: -1 };
  const base = { key: segment.key, topic: at.topic, partition: at.partition };
  let body: Buffer;
  try {
    body = (await store.getBuffer(segment.key, signal ? { signal } : {})).body;
  } catch (err) {
    if (signal?.aborted) throw err;
    const error = err instanceof ObjectNotFoundError ? "missing from storage" : `cannot be read: ${(err as Error).message}`;
    return { ...base, bytes: 0, sha256: null, ok: false, error };
  }
  const scan = { ...base, bytes: body.length, sha256: sha256Hex(body) };
  try {
    // Messages name the segment by its key (relative to the storage prefix).
    const records = await decodeSegmentObject(body, segment, segment.key, encryptionKey ? { encryptionKey } : {});
    const mismatch = segmentMismatch(segment, {
      count: records.length,
      ...(records.length ? { firstOffset: records[0]?.offset, lastOffset: records.at(-1)?.offset } : {}),
    });
    if (mismatch) return { ...scan, ok: false, error: mismatch, records: records.length };
    return { ...scan, ok: true, records: records.length, inWindow: records.filter((r) => inWindow(r.timestamp, window)).length };
  } catch (err) {
    if (err instanceof EncryptionError && err.reason === "EncryptionKeyMissing")
      return { ...scan, ok: true, undecoded: true, error: "encrypted; no key to decode it" };
    const message = (err as Error).message.replace(`${segment.key}: `, "");
    return { ...scan, ok: false, error: message };
  }
}

async function readGroupSnapshot(store: StorageBackend, key: string): Promise<GroupSnapshot | undefined> {
  try {
    return parseGroupSnapshot((await store.getBuffer(key)).body.toString("utf8"), key);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

/** Low and high watermark per topic/partition; a topic the cluster lacks maps to nothing. */
async function clusterWatermarks(kafka: KafkaClient, topics: string[]): Promise<Map<string, Watermarks | null>> {
  const admin = await kafka.admin();
  const out = new Map<string, Watermarks | null>();
  const existing = new Set(await admin.listTopics());
  for (const topic of topics) {
    if (!existing.has(topic)) continue;
    for (const p of await admin.fetchTopicOffsets(topic))
      out.set(partitionKey(topic, p.partition), { low: Number(p.low), high: Number(p.high) });
  }
  return out;
}

/** Committed offsets now of the snapshot's groups, on the (mapped) topics. */
async function clusterCommits(
  kafka: KafkaClient,
  groups: GroupSnapshot["groups"],
  mapping: Readonly<Record<string, string>>,
): Promise<Map<string, Map<string, number>>> {
  const admin = await kafka.admin();
  const existing = new Set(await admin.listTopics());
  const out = new Map<string, Map<string, number>>();
  for (const g of groups) {
    const topics = Object.keys(g.offsets)
      .map((t) => mapping[t] ?? t)
      .filter((t) => existing.has(t));
    const committed = new Map<string, number>();
    if (topics.length) {
      for (const t of await admin.fetchOffsets({ groupId: g.group_id, topics })) {
        for (const p of t.partitions)
          if (Number(p.offset) >= 0) committed.set(partitionKey(t.topic, p.partition), Number(p.offset));
      }
    }
    out.set(g.group_id, committed);
  }
  return out;
}

// ── Storing the evidence ───────────────────────────────────────────────────────────────────────

export interface StoredEvidence {
  /** Where evidence.json is, as a URL without credentials. */
  path: string;
  key: string;
  signatureKey?: string;
  signed: boolean;
  bytes: Buffer;
}

/** Writes the canonical report, then (with a key) its detached signature. */
export async function storeEvidence(
  store: StorageBackend,
  report: EvidenceReport,
  opts: {
    at: Date;
    /** The time the folder is named by (default `at`): a scheduled run's tick, so that two ticks
     * run in one second (a catch-up after a takeover) keep two reports, and a rerun of a tick
     * replaces its own. */
    folderTime?: Date;
    signingKey?: KeyObject;
  },
): Promise<StoredEvidence> {
  const folder = evidenceFolder(report.backup.backupId, report.validation.name, opts.folderTime ?? opts.at);
  const bytes = Buffer.from(canonicalJson(report), "utf8");
  const key = evidenceKey(folder);
  await store.put(key, bytes, { contentType: "application/json" });
  if (!opts.signingKey) return { path: store.location(key), key, signed: false, bytes };
  const sig = signatureKey(folder);
  await store.put(sig, Buffer.from(`${JSON.stringify(signEvidence(bytes, opts.signingKey, opts.at), null, 2)}\n`), {
    contentType: "application/json",
  });
  return { path: store.location(key), key, signatureKey: sig, signed: true, bytes };
}

/** Deletes this validation's evidence folders older than retentionDays; returns how many. */
export async function applyEvidenceRetention(
  store: StorageBackend,
  backupId: string,
  validationName: string,
  retentionDays: number,
  now = new Date(),
): Promise<number> {
  const cutoff = now.getTime() - retentionDays * 86_400_000;
  let deleted = 0;
  for await (const entry of store.list(`${backupId}/validations/`, { delimiter: "/" })) {
    if (entry.type !== "prefix") continue;
    const folder = entry.prefix.replace(/\/$/, "");
    const name = folder.slice(folder.lastIndexOf("/") + 1);
    if (!name.startsWith(`${validationName}-`)) continue;
    const at = evidenceFolderTime(name);
    if (!at || at.getTime() >= cutoff || name.slice(validationName.length + 1).length !== 15) continue;
    const keys: string[] = [];
    for await (const o of store.list(`${folder}/`)) if (o.type === "object") keys.push(o.key);
    if (keys.length) await store.delete(keys);
    deleted++;
  }
  return deleted;
}
