// Backing up topics into a backup set. Per partition: fetch raw batches from the leader, buffer
// records up to the segment limits, encode and store the segment, and only then move the
// partition's checkpoint. A crash at any moment therefore resumes exactly at the checkpoint:
// nothing is lost, and nothing is stored twice (a half-written segment is overwritten under the
// same key, or swept at the end of the run).
import { setTimeout as sleep } from "node:timers/promises";
import type { Codec } from "../format/codec.ts";
import { type Manifest, type ManifestSegment, parseManifest } from "../format/manifest.ts";
import type { BackupRecord } from "../format/record.ts";
import { keyFingerprint, prepareSegment, sealSegment } from "../format/segment.ts";
import { ErrorCode, type KafkaClient, retriableFetchErrors } from "../kafka/client.ts";
import { fetchTopicIds } from "../kafka/topic-ids.ts";
import { type Logger, silentLogger } from "../log.ts";
import { assignShards, type ShardRef } from "../shards/assignment.ts";
import { readShardReports, writeShardReport } from "../shards/report.ts";
import {
  buildManifest,
  type Checkpoint,
  emptyCheckpoint,
  parseCheckpoint,
  type TopicMetadata,
  withGap,
  withProgress,
  withSegment,
} from "./checkpoint.ts";
import {
  checkpointKey,
  groupSnapshotKey,
  manifestKey,
  partitionDir,
  segmentKey,
  shardAssignmentKey,
  shardLeaseKey,
} from "./layout.ts";
import { Lease } from "./lease.ts";
import type { BackupMetrics } from "./metrics.ts";
import { selectTopics, type TopicSelection } from "./selection.ts";
import type { BackupSpec } from "./spec.ts";
import { isNotFound, isPreconditionFailed, type ObjectStore } from "./store.ts";
import { Throttle } from "./throttle.ts";

export interface BackupOptions {
  backupId: string;
  selection: TopicSelection;
  /** `snapshot` stops at the partition ends seen at start; `continuous` runs until aborted. */
  mode: "snapshot" | "continuous";
  codec: Codec;
  compressionLevel?: number;
  segmentMaxBytes?: number;
  segmentMaxRecords?: number;
  segmentMaxIntervalMs?: number;
  /**
   * Record bytes held in memory at once across partitions (buffers and segments being stored).
   * Segments are cut smaller than segmentMaxBytes when needed to stay within it.
   */
  memoryBudgetBytes?: number;
  maxConcurrentPartitions?: number;
  recordsPerSec?: number;
  bytesPerSec?: number;
  /** Committed data only (the default), or everything including aborted transactions. */
  readCommitted?: boolean;
  encryptionKey?: Buffer;
  consumerGroupSnapshot?: boolean;
  sourceClusterId?: string;
  /** Who writes: a restarted runner with the same holder takes its own lease back at once. */
  leaseHolder: string;
  leaseTtlMs?: number;
  /**
   * One worker of a sharded run (issue #13): it backs up its share of the partitions under a lease
   * of its own, reports to `{backupId}/shards/`, and the last worker to finish writes the manifest
   * from every partition's checkpoint. Snapshot mode only.
   */
  shard?: ShardRef;
  /** Continuous mode: how often the manifest is rewritten from the checkpoints. */
  manifestIntervalMs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: BackupProgress) => void;
  progressIntervalMs?: number;
  metrics?: BackupMetrics;
  log?: Logger;
}

/** The settings a KafkaBackup spec gives a run, in one place for the controller and the CLI. */
export function optionsFromSpec(spec: BackupSpec): Omit<BackupOptions, "backupId" | "leaseHolder"> {
  const limits = spec.rateLimiting;
  return {
    selection: {
      ...(spec.topics ? { topics: spec.topics } : {}),
      ...(spec.includeTopics ? { include: spec.includeTopics } : {}),
      ...(spec.excludeTopics ? { exclude: spec.excludeTopics } : {}),
      includeInternal: spec.includeInternalTopics ?? false,
    },
    mode: spec.continuous ? "continuous" : "snapshot",
    codec: spec.compression ?? "zstd",
    compressionLevel: spec.compressionLevel ?? 3,
    ...(spec.segmentMaxBytes ? { segmentMaxBytes: spec.segmentMaxBytes } : {}),
    ...(spec.segmentMaxIntervalMs ? { segmentMaxIntervalMs: spec.segmentMaxIntervalMs } : {}),
    ...(spec.segmentMaxRecords ? { segmentMaxRecords: spec.segmentMaxRecords } : {}),
    ...(limits?.maxConcurrentPartitions ? { maxConcurrentPartitions: limits.maxConcurrentPartitions } : {}),
    ...(limits?.recordsPerSec ? { recordsPerSec: limits.recordsPerSec } : {}),
    ...(limits?.bytesPerSec ? { bytesPerSec: limits.bytesPerSec } : {}),
    ...(spec.sourceClusterId ? { sourceClusterId: spec.sourceClusterId } : {}),
    consumerGroupSnapshot: spec.consumerGroupSnapshot ?? false,
  };
}

export interface BackupProgress {
  backupId: string;
  records: number;
  bytes: number;
  segments: number;
  /** Offsets left to the captured ends (snapshot mode) or to the current ends (continuous). */
  lag: number;
  recordsPerSec: number;
  bytesPerSec: number;
  /** Seconds to completion at the current rate; undefined in continuous mode or before any progress. */
  etaSeconds?: number;
  percent?: number;
  currentTopic?: string;
  /** Topics and partitions in this run; partitions at their stop offset (snapshot mode; 0 when continuous). */
  topics: number;
  partitions: number;
  partitionsCompleted: number;
}

export interface BackupResult {
  backupId: string;
  topics: string[];
  partitions: number;
  records: number;
  bytes: number;
  storedBytes: number;
  segments: number;
  skippedOffsets: number;
  gaps: number;
  durationMs: number;
  manifestKey: string;
  cancelled: boolean;
  /** Sharded runs: whether this worker found every shard done and wrote the merged manifest. */
  merged?: boolean;
}

export class BackupError extends Error {
  readonly reason: string;
  override name = "BackupError";
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

interface PartitionTask {
  topic: string;
  partition: number;
  checkpoint: Checkpoint;
  /** Snapshot mode: stop here (the end seen at start). */
  target: number;
  /** Latest end offset seen, for lag. */
  end: number;
  fetchOffset: number;
  /** Offset after the last record taken into a buffer: what progress counts. */
  position: number;
}

const defaults = {
  compressionLevel: 3,
  segmentMaxBytes: 32 * 1024 * 1024,
  segmentMaxIntervalMs: 60_000,
  maxConcurrentPartitions: 4,
  leaseTtlMs: 30_000,
  manifestIntervalMs: 30_000,
  progressIntervalMs: 1000,
  /** Per fetch and partition: the broker returns at least one batch even if it is larger. */
  fetchMaxBytes: 2 * 1024 * 1024,
  memoryBudgetBytes: 128 * 1024 * 1024,
};

/** Approximate in-memory size of a record, for the segment size limit. */
const recordSize = (r: BackupRecord) =>
  24 +
  (r.key?.length ?? 0) +
  (r.value?.length ?? 0) +
  r.headers.reduce((n, h) => n + h.key.length + (h.value?.length ?? 0) + 8, 0);

export async function runBackup(kafka: KafkaClient, store: ObjectStore, options: BackupOptions): Promise<BackupResult> {
  const merged = { ...defaults, ...options };
  // Each partition in flight holds a filling buffer and a segment being encoded and stored.
  const perSegment = Math.floor(merged.memoryBudgetBytes / (3 * merged.maxConcurrentPartitions));
  const o = { ...merged, segmentMaxBytes: Math.max(1024 * 1024, Math.min(merged.segmentMaxBytes, perSegment)) };
  const log = (o.log ?? silentLogger).child({ backupId: o.backupId });
  const started = Date.now();
  const readCommitted = o.readCommitted ?? true;
  const shard = o.shard;
  if (shard && o.mode !== "snapshot") {
    throw new BackupError(
      "ShardedContinuous",
      "a continuous backup runs in one process; sharded runs (execution.mode job) are one-shot",
    );
  }
  const lease = await Lease.acquire(
    store,
    o.backupId,
    o.leaseHolder,
    o.leaseTtlMs,
    log,
    ...(shard ? [shardLeaseKey(o.backupId, shard.index)] : []),
  );
  // Stops every partition: when the caller cancels, and when one partition fails for good.
  const runAbort = new AbortController();
  const runSignal = runAbort.signal;
  const onCancel = () => runAbort.abort(o.signal?.reason);
  if (o.signal?.aborted) onCancel();
  o.signal?.addEventListener("abort", onCancel, { once: true });
  let manifestWrites: Promise<void> = Promise.resolve();
  const recordThrottle = new Throttle(o.recordsPerSec ?? 0);
  const byteThrottle = new Throttle(o.bytesPerSec ?? 0);
  const totals = { records: 0, bytes: 0, storedBytes: 0, segments: 0, skipped: 0, gaps: 0 };
  let progressTimer: NodeJS.Timeout | undefined;
  let manifestTimer: NodeJS.Timeout | undefined;
  let reportTimer: NodeJS.Timeout | undefined;
  try {
    const admin = await kafka.admin();
    const topics = selectTopics(await admin.listTopics(), o.selection);
    if (!topics.length) throw new BackupError("NoTopicsSelected", "no topic matches the selection");
    const cluster = await admin.describeCluster();
    const sourceClusterId = o.sourceClusterId ?? cluster.clusterId;
    const metadata = await topicMetadata(kafka, topics);
    const existing = await loadManifest(store, o.backupId);

    let partitions: PartitionRange[] = [];
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        partitions.push({ topic, partition: p.partition, low: Number(p.low), high: Number(p.high) });
      }
    }
    // A sharded run backs up to the ends the first worker saw, whichever worker starts (or restarts) when.
    const assignment = shard ? await shardAssignment(store, o.backupId, partitions, shard.count) : undefined;
    if (shard && assignment) {
      // The ends are the assignment's; the starts are today's (retention may have moved them since).
      const lows = new Map(partitions.map((p) => [`${p.topic}/${p.partition}`, p.low]));
      partitions = assignment.partitions
        .filter((p) => p.shard === shard.index)
        .map((p) => ({ ...p, low: lows.get(`${p.topic}/${p.partition}`) ?? p.low }));
    }

    const tasks: PartitionTask[] = [];
    for (const { topic, partition, low, high } of partitions) {
      let checkpoint = await loadCheckpoint(store, o.backupId, topic, partition);
      checkpoint ??= emptyCheckpoint(topic, partition, low);
      if (checkpoint.nextOffset < low) {
        log.warn(
          { topic, partition, from: checkpoint.nextOffset, to: low },
          "offsets deleted by retention before backup: recording a gap",
        );
        checkpoint = withGap(checkpoint, low, "retention");
        totals.gaps++;
        o.metrics?.gaps.inc({ backup_id: o.backupId, topic });
        await writeCheckpoint(store, o.backupId, checkpoint);
      }
      tasks.push({
        topic,
        partition,
        checkpoint,
        target: o.mode === "snapshot" ? high : Number.POSITIVE_INFINITY,
        end: high,
        fetchOffset: checkpoint.nextOffset,
        position: checkpoint.nextOffset,
      });
    }
    const initialLag = tasks.reduce((n, t) => n + Math.max(0, Math.min(t.target, t.end) - t.fetchOffset), 0);
    log.info(
      {
        topics: topics.length,
        partitions: tasks.length,
        lag: initialLag,
        mode: o.mode,
        segmentMaxBytes: o.segmentMaxBytes,
        ...(shard ? { shard: shard.index, shards: shard.count } : {}),
      },
      "backup started",
    );

    const writeOnce = async (checkpoints = tasks.map((t) => t.checkpoint)) => {
      const manifest = buildManifest({
        backupId: o.backupId,
        createdAt: existing?.createdAt ?? started,
        sourceClusterId,
        compression: o.codec,
        ...(o.encryptionKey ? { encryptionKeyFingerprint: keyFingerprint(o.encryptionKey).toString("hex") } : {}),
        topics: metadata,
        checkpoints,
        ...(o.consumerGroupSnapshot ? { consumerGroupSnapshot: groupSnapshotKey(o.backupId) } : {}),
      });
      // Topics an earlier run of this set backed up and this run does not select stay listed.
      for (const t of existing?.topics ?? []) if (!topics.includes(t.name)) manifest.topics.push(t);
      lease.check();
      await store.put(manifestKey(o.backupId), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
    };
    // One manifest write at a time, in order: a slow periodic write never lands after the final one.
    // A shard writes no manifest of its own: the merge writes the one manifest at the end.
    const writeManifest = () => {
      if (shard) return Promise.resolve();
      manifestWrites = manifestWrites.catch(() => {}).then(() => writeOnce());
      return manifestWrites;
    };
    await writeManifest();

    const progress = (): BackupProgress => {
      const elapsed = Math.max(0.001, (Date.now() - started) / 1000);
      const lag = tasks.reduce((n, t) => n + Math.max(0, (o.mode === "snapshot" ? t.target : t.end) - t.position), 0);
      const recordsPerSec = totals.records / elapsed;
      const done = initialLag - lag;
      const offsetsPerSec = done / elapsed;
      return {
        backupId: o.backupId,
        records: totals.records,
        bytes: totals.bytes,
        segments: totals.segments,
        lag,
        topics: topics.length,
        partitions: tasks.length,
        partitionsCompleted: tasks.filter((t) => t.position >= t.target).length,
        recordsPerSec,
        bytesPerSec: totals.bytes / elapsed,
        ...(o.mode === "snapshot" && offsetsPerSec > 0 ? { etaSeconds: lag / offsetsPerSec } : {}),
        ...(o.mode === "snapshot" ? { percent: initialLag === 0 ? 100 : Math.min(100, (100 * done) / initialLag) } : {}),
      };
    };
    if (o.onProgress) {
      progressTimer = setInterval(() => o.onProgress?.(progress()), o.progressIntervalMs);
      progressTimer.unref();
    }
    const report = (state: "Running" | "Completed") => {
      if (!shard) return Promise.resolve();
      const p = progress();
      return writeShardReport(store, o.backupId, {
        index: shard.index,
        count: shard.count,
        state,
        units: tasks.length,
        records: p.records,
        bytes: p.bytes,
        percent: state === "Completed" ? 100 : (p.percent ?? 0),
      });
    };
    if (shard) {
      await report("Running");
      reportTimer = setInterval(
        () => void report("Running").catch((err: Error) => log.warn({ err: err.message }, "shard report write failed")),
        // The controller looks every 2 s: no point writing more often.
        Math.max(2000, o.progressIntervalMs),
      );
      reportTimer.unref();
    }
    if (o.mode === "continuous") {
      manifestTimer = setInterval(
        () => void writeManifest().catch((err: Error) => log.warn({ err: err.message }, "manifest write failed; will retry")),
        o.manifestIntervalMs,
      );
      manifestTimer.unref();
    }

    const ctx: PartitionContext = {
      kafka,
      store,
      o,
      log,
      lease,
      totals,
      readCommitted,
      recordThrottle,
      byteThrottle,
      signal: runSignal,
    };
    try {
      // Continuous partitions never finish, so each needs its own worker; snapshots share a few.
      const workers = o.mode === "continuous" ? tasks.length : o.maxConcurrentPartitions;
      await runLimited(
        tasks,
        workers,
        (task) => backupPartition(ctx, task),
        (err) => runAbort.abort(err),
      );
    } catch (err) {
      // What was stored before the failure is listed in the manifest all the same.
      await writeManifest().catch((e: Error) => log.warn({ err: e.message }, "could not update the manifest after a failure"));
      throw err;
    }

    // Once per set: the first shard takes the groups' snapshot.
    if (o.consumerGroupSnapshot && !runSignal.aborted && (shard?.index ?? 0) === 0) {
      await snapshotConsumerGroups(kafka, store, o.backupId, topics, log);
    }
    await writeManifest();
    if (o.mode === "snapshot" && !o.signal?.aborted) await sweepOrphans(store, o.backupId, tasks, log);
    let merged: boolean | undefined;
    if (shard && assignment && !o.signal?.aborted) {
      clearInterval(reportTimer);
      await report("Completed");
      // Each worker reports before it looks, so the last of them to finish always sees all done.
      const reports = await readShardReports(store, o.backupId, shard.count);
      merged = reports.every((r) => r?.state === "Completed");
      if (merged) {
        const checkpoints: Checkpoint[] = [];
        for (const p of assignment.partitions) {
          checkpoints.push(
            (await loadCheckpoint(store, o.backupId, p.topic, p.partition)) ?? emptyCheckpoint(p.topic, p.partition, p.low),
          );
        }
        await writeOnce(checkpoints);
        log.info({ shards: shard.count, partitions: checkpoints.length }, "every shard is done: wrote the merged manifest");
      }
    }
    o.metrics?.compressionRatio.set({ backup_id: o.backupId }, totals.storedBytes ? totals.bytes / totals.storedBytes : 0);
    o.onProgress?.(progress());
    const result: BackupResult = {
      backupId: o.backupId,
      topics,
      partitions: tasks.length,
      records: totals.records,
      bytes: totals.bytes,
      storedBytes: totals.storedBytes,
      segments: totals.segments,
      skippedOffsets: totals.skipped,
      gaps: totals.gaps,
      durationMs: Date.now() - started,
      manifestKey: manifestKey(o.backupId),
      cancelled: Boolean(o.signal?.aborted),
      ...(merged !== undefined ? { merged } : {}),
    };
    log.info(result, o.signal?.aborted ? "backup stopped; resumable from its checkpoints" : "backup completed");
    return result;
  } finally {
    clearInterval(progressTimer);
    clearInterval(manifestTimer);
    clearInterval(reportTimer);
    o.signal?.removeEventListener("abort", onCancel);
    await manifestWrites.catch(() => {});
    await lease.release();
  }
}

interface PartitionContext {
  kafka: KafkaClient;
  store: ObjectStore;
  o: BackupOptions & typeof defaults;
  log: Logger;
  lease: Lease;
  totals: { records: number; bytes: number; storedBytes: number; segments: number; skipped: number; gaps: number };
  readCommitted: boolean;
  recordThrottle: Throttle;
  byteThrottle: Throttle;
  signal: AbortSignal;
}

async function backupPartition(ctx: PartitionContext, task: PartitionTask): Promise<void> {
  const { kafka, o, totals } = ctx;
  const { topic, partition } = task;
  const log = ctx.log.child({ topic, partition });
  const labels = { backup_id: o.backupId, topic };
  let buffer: BackupRecord[] = [];
  let bufferBytes = 0;
  let bufferOpenedAt = 0;
  /** Offsets skipped on purpose (markers, aborted data) that no checkpoint counts yet. */
  let pendingSkipped: number[] = [];
  let coveredUntil = task.checkpoint.nextOffset;
  let pendingUpload: Promise<void> | undefined;
  let leader: number | undefined;
  let staleLeader = false;
  let failures = 0;

  const takeSkipped = (below: number): number => {
    const before = pendingSkipped.length;
    pendingSkipped = pendingSkipped.filter((offset) => offset >= below);
    return before - pendingSkipped.length;
  };

  /** Stores the buffered records as one segment covering offsets up to `sealedAt` (exclusive). */
  const seal = async (sealedAt: number) => {
    await pendingUpload;
    pendingUpload = undefined;
    if (!buffer.length) {
      const skipped = takeSkipped(sealedAt);
      if (sealedAt > task.checkpoint.nextOffset || skipped) {
        const next = withProgress(task.checkpoint, sealedAt, skipped);
        ctx.lease.check();
        await writeCheckpoint(ctx.store, o.backupId, next);
        task.checkpoint = next;
        totals.skipped += skipped;
        o.metrics?.skipped.inc(labels, skipped);
      }
      return;
    }
    let records: BackupRecord[] | undefined = buffer;
    const recordCount = records.length;
    const skipped = takeSkipped(sealedAt);
    const rawBytes = bufferBytes;
    buffer = [];
    bufferBytes = 0;
    pendingUpload = (async () => {
      const encodeOptions = {
        partition,
        codec: o.codec,
        level: o.compressionLevel,
        ...(o.encryptionKey ? { encryptionKey: o.encryptionKey } : {}),
      };
      const prepared = prepareSegment(records ?? [], encodeOptions);
      // The records (and the fetch buffers they point into) can go while the block is compressed and stored.
      records = undefined;
      const segment = await sealSegment(prepared, encodeOptions);
      const key = segmentKey(o.backupId, topic, partition, segment.info.firstOffset, o.codec);
      ctx.lease.check();
      const writeStarted = performance.now();
      await ctx.store.put(key, segment.bytes);
      o.metrics?.storageWriteLatency.observe({ backup_id: o.backupId }, (performance.now() - writeStarted) / 1000);
      const entry: ManifestSegment = {
        key,
        format: "kbos-v1",
        firstOffset: segment.info.firstOffset,
        lastOffset: segment.info.lastOffset,
        recordCount: segment.info.recordCount,
        minTimestamp: segment.info.minTimestamp,
        maxTimestamp: segment.info.maxTimestamp,
        codec: segment.info.codec,
        encrypted: segment.info.encrypted,
        storedBytes: segment.info.storedBytes,
        recordBlockBytes: segment.info.recordBlockBytes,
        sha256: segment.sha256,
      };
      const next = withSegment(task.checkpoint, entry, sealedAt, skipped);
      ctx.lease.check();
      await writeCheckpoint(ctx.store, o.backupId, next);
      // Only a stored checkpoint is published (the manifest is built from task.checkpoint).
      task.checkpoint = next;
      // Counted only now: an offset is backed up once its segment and checkpoint are stored.
      totals.records += recordCount;
      totals.bytes += rawBytes;
      totals.storedBytes += segment.bytes.length;
      totals.segments++;
      totals.skipped += skipped;
      o.metrics?.records.inc(labels, recordCount);
      o.metrics?.bytes.inc(labels, rawBytes);
      o.metrics?.segments.inc(labels);
      o.metrics?.skipped.inc(labels, skipped);
      o.metrics?.storageWriteBytes.inc({ backup_id: o.backupId }, segment.bytes.length);
    })();
    // Surface an upload failure at the next await rather than as an unhandled rejection.
    pendingUpload.catch(() => {});
  };
  const flush = () => seal(coveredUntil);

  try {
    while (!ctx.signal.aborted && task.fetchOffset < task.target) {
      ctx.lease.check();
      leader ??= (await kafka.leaders([topic], staleLeader)).get(topic)?.get(partition);
      staleLeader = false;
      if (leader === undefined || leader < 0) {
        await backoff(++failures, `no leader for ${topic}/${partition}`, log, ctx.signal);
        leader = undefined;
        staleLeader = true;
        continue;
      }
      let result: Awaited<ReturnType<KafkaClient["fetch"]>>[number] | undefined;
      try {
        [result] = await kafka.fetch(leader, [{ topic, partition, fetchOffset: task.fetchOffset, maxBytes: o.fetchMaxBytes }], {
          readCommitted: ctx.readCommitted,
          // Wake up in time to seal a segment that reaches its age limit while no data arrives.
          maxWaitMs: Math.max(
            50,
            Math.min(
              o.mode === "continuous" ? 1000 : 250,
              buffer.length ? bufferOpenedAt + o.segmentMaxIntervalMs - Date.now() : 1000,
            ),
          ),
          maxBytes: o.fetchMaxBytes,
        });
      } catch (err) {
        o.metrics?.retries.inc({ backup_id: o.backupId, kind: "connection" });
        await backoff(++failures, `fetch ${topic}/${partition}: ${(err as Error).message}`, log, ctx.signal);
        leader = undefined;
        staleLeader = true;
        continue;
      }
      if (!result) throw new BackupError("KafkaProtocolError", `fetch of ${topic}/${partition} returned no partition`);
      if (result.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
        const admin = await kafka.admin();
        const offsets = await admin.fetchTopicOffsets(topic);
        const p = offsets.find((x) => x.partition === partition);
        const low = Number(p?.low ?? 0);
        const high = Number(p?.high ?? 0);
        if (task.fetchOffset < low) {
          await flush();
          await pendingUpload;
          log.warn({ from: task.checkpoint.nextOffset, to: low }, "offsets deleted by retention during backup: recording a gap");
          const next = withGap(task.checkpoint, low, "retention");
          ctx.lease.check();
          await writeCheckpoint(ctx.store, o.backupId, next);
          task.checkpoint = next;
          totals.gaps++;
          o.metrics?.gaps.inc(labels);
          task.fetchOffset = low;
          task.position = low;
          coveredUntil = low;
          continue;
        }
        if (task.fetchOffset <= high || !p) {
          // A leader that just changed can answer out of range for an offset it will have: retry.
          await backoff(
            ++failures,
            `fetch ${topic}/${partition}: offset ${task.fetchOffset} out of range on a stale leader`,
            log,
            ctx.signal,
          );
          leader = undefined;
          staleLeader = true;
          continue;
        }
        throw new BackupError(
          "OffsetBeyondEnd",
          `${topic}/${partition}: the backup is at offset ${task.fetchOffset} but the partition ends at ${high}; the log was truncated or the topic recreated — back it up into a new backup set`,
        );
      }
      if (retriableFetchErrors.has(result.errorCode)) {
        o.metrics?.retries.inc({ backup_id: o.backupId, kind: `error_${result.errorCode}` });
        await backoff(++failures, `fetch ${topic}/${partition}: Kafka error ${result.errorCode}`, log, ctx.signal);
        leader = undefined;
        staleLeader = true;
        continue;
      }
      if (result.errorCode !== 0) {
        throw new BackupError(
          "KafkaError",
          `fetch of ${topic}/${partition} at offset ${task.fetchOffset} failed with Kafka error code ${result.errorCode}`,
        );
      }
      failures = 0;
      task.end = result.highWatermark;
      let records = result.records;
      let nextOffset = result.nextOffset;
      if (nextOffset > task.target) {
        // Snapshot mode stops exactly at the captured end; what lies beyond is the next run's.
        records = records.filter((r) => r.offset < task.target);
        nextOffset = task.target;
      }
      for (const offset of result.skipped) if (offset < nextOffset) pendingSkipped.push(offset);
      for (const r of records) {
        if (!buffer.length) bufferOpenedAt = Date.now();
        const size = recordSize(r);
        await ctx.recordThrottle.take(1, ctx.signal);
        await ctx.byteThrottle.take(size, ctx.signal);
        buffer.push(r);
        bufferBytes += size;
        task.position = r.offset + 1;
        if (bufferBytes >= o.segmentMaxBytes || (o.segmentMaxRecords !== undefined && buffer.length >= o.segmentMaxRecords)) {
          await seal(r.offset + 1);
        }
      }
      coveredUntil = nextOffset;
      task.fetchOffset = nextOffset;
      task.position = nextOffset;
      if (buffer.length > 0 && Date.now() - bufferOpenedAt >= o.segmentMaxIntervalMs) await flush();
    }
    await flush();
    await pendingUpload;
  } catch (err) {
    await pendingUpload?.catch(() => {});
    throw err;
  }
}

interface PartitionRange {
  topic: string;
  partition: number;
  low: number;
  high: number;
}

interface ShardAssignment {
  format: "kafka-backup-operator/shard-assignment";
  shards: number;
  createdAt: number;
  /** Every partition of the set with its owner and the end the run stops at. */
  partitions: Array<PartitionRange & { shard: number }>;
}

/**
 * The partitions' owners, fixed once per backup set: the first worker to start writes the
 * assignment (balanced by the offsets each partition holds) with a create-only write; every other
 * worker, and a restarted one, reads it. A restart therefore never moves a partition to another
 * shard, and every shard stops at the ends captured when the run began.
 */
async function shardAssignment(
  store: ObjectStore,
  backupId: string,
  partitions: PartitionRange[],
  shards: number,
): Promise<ShardAssignment> {
  const key = shardAssignmentKey(backupId);
  const read = async () => JSON.parse((await store.getBuffer(key)).body.toString("utf8")) as ShardAssignment;
  let assignment: ShardAssignment | undefined;
  try {
    assignment = await read();
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!assignment) {
    const named = (p: PartitionRange) => `${p.topic}/${String(p.partition).padStart(6, "0")}`;
    const owner = assignShards(partitions, shards, (p) => p.high - p.low, named);
    const owners = partitions.map((p, at) => ({ ...p, shard: owner[at] as number }));
    const fresh: ShardAssignment = {
      format: "kafka-backup-operator/shard-assignment",
      shards,
      createdAt: Date.now(),
      partitions: owners,
    };
    try {
      await store.put(key, Buffer.from(JSON.stringify(fresh)), { ifNoneMatch: true });
      assignment = fresh;
    } catch (err) {
      if (!isPreconditionFailed(err)) throw err;
      assignment = await read();
    }
  }
  if (assignment.shards !== shards) {
    throw new BackupError(
      "ShardCountChanged",
      `backup set ${backupId} is sharded over ${assignment.shards} workers (${key}); this worker was started as one of ${shards}: keep execution.workers for a run, or start a new backup set`,
    );
  }
  return assignment;
}

async function backoff(attempt: number, what: string, log: Logger, signal?: AbortSignal): Promise<void> {
  if (attempt > 30) throw new BackupError("KafkaUnavailable", `${what}; gave up after ${attempt - 1} retries`);
  const delay = Math.min(10_000, 200 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
  log.warn({ attempt, delayMs: Math.round(delay) }, `${what}; retrying`);
  await sleep(delay, undefined, { signal }).catch(() => {});
}

/** Runs `fn` over the items with at most `limit` at once; the first failure stops new starts. */
async function runLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  onFailure: (err: unknown) => void,
): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        if (failed === undefined) {
          failed = err;
          onFailure(err);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
}

async function topicMetadata(kafka: KafkaClient, topics: string[]): Promise<TopicMetadata[]> {
  const admin = await kafka.admin();
  const { topics: meta } = await admin.fetchTopicMetadata({ topics });
  const configs = await admin.describeConfigs({ resources: topics.map((name) => ({ type: 2, name })), includeSynonyms: false });
  // Topic IDs (Metadata v10, engine/kafka/topic-ids.ts): a topic recreated under its name has a new one.
  const { ids } = await fetchTopicIds(kafka, topics);
  return topics.map((name) => {
    const m = meta.find((t) => t.name === name);
    const entries = configs.resources.find((r) => r.resourceName === name)?.configEntries ?? [];
    const nonDefault = Object.fromEntries(
      entries.filter((e) => !e.isDefault && !e.isSensitive).map((e) => [e.configName, e.configValue]),
    );
    return {
      name,
      ...(ids.has(name) ? { topicId: ids.get(name) as string } : {}),
      partitionCount: m?.partitions.length ?? 0,
      replicationFactor: m?.partitions[0]?.replicas.length ?? 0,
      configs: nonDefault,
    };
  });
}

async function loadCheckpoint(
  store: ObjectStore,
  backupId: string,
  topic: string,
  partition: number,
): Promise<Checkpoint | undefined> {
  const key = checkpointKey(backupId, topic, partition);
  try {
    return parseCheckpoint((await store.getBuffer(key)).body.toString("utf8"), key);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function writeCheckpoint(store: ObjectStore, backupId: string, checkpoint: Checkpoint): Promise<void> {
  await store.put(checkpointKey(backupId, checkpoint.topic, checkpoint.partition), Buffer.from(JSON.stringify(checkpoint)));
}

async function loadManifest(store: ObjectStore, backupId: string): Promise<Manifest | undefined> {
  try {
    return parseManifest((await store.getBuffer(manifestKey(backupId))).body.toString("utf8"), manifestKey(backupId));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Committed offsets of every group on the backed-up topics, each read through the group's own
 * coordinator (kafkajs routes OffsetFetch there). Same file layout as the Rust engine's.
 */
async function snapshotConsumerGroups(
  kafka: KafkaClient,
  store: ObjectStore,
  backupId: string,
  topics: string[],
  log: Logger,
): Promise<void> {
  const admin = await kafka.admin();
  const { groups } = await admin.listGroups();
  const snapshot: {
    snapshot_time: number;
    groups: Array<{ group_id: string; offsets: Record<string, Record<string, number>> }>;
  } = {
    snapshot_time: Date.now(),
    groups: [],
  };
  for (const { groupId } of groups) {
    const fetched = await admin.fetchOffsets({ groupId, topics });
    const offsets: Record<string, Record<string, number>> = {};
    for (const t of fetched) {
      for (const p of t.partitions) {
        if (Number(p.offset) < 0) continue;
        const byPartition = offsets[t.topic] ?? {};
        byPartition[String(p.partition)] = Number(p.offset);
        offsets[t.topic] = byPartition;
      }
    }
    if (Object.keys(offsets).length) snapshot.groups.push({ group_id: groupId, offsets });
  }
  const key = groupSnapshotKey(backupId);
  if (!snapshot.groups.length) {
    // Never replace a snapshot that has groups with an empty one (the Rust engine's bug #90).
    try {
      await store.getBuffer(key);
      log.info("no consumer group has offsets on these topics now; keeping the earlier snapshot");
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  await store.put(key, Buffer.from(JSON.stringify(snapshot, null, 2)));
  log.info({ groups: snapshot.groups.length }, "consumer group offsets snapshotted");
}

/** Segment objects no checkpoint lists: uploads of a run that died before its checkpoint write. */
async function sweepOrphans(store: ObjectStore, backupId: string, tasks: PartitionTask[], log: Logger): Promise<void> {
  for (const task of tasks) {
    const listed = new Set(task.checkpoint.segments.map((s) => s.key));
    const orphans: string[] = [];
    for await (const object of store.list(`${partitionDir(backupId, task.topic, task.partition)}/`)) {
      if (object.type !== "object") continue;
      const name = object.key.slice(object.key.lastIndexOf("/") + 1);
      if (name.startsWith("segment-") && !listed.has(object.key)) orphans.push(object.key);
    }
    if (orphans.length) {
      log.info(
        { topic: task.topic, partition: task.partition, orphans: orphans.length },
        "removing segments no checkpoint lists",
      );
      await store.delete(orphans);
    }
  }
}
