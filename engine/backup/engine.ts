// Backing up topics into a backup set: a pipeline of small stages. The fetcher (fetcher.ts)
// fetches each broker's partitions in one request, the next in flight while the last is
// processed; each partition's writer (partition-writer.ts) checks and filters the record batches,
// appends them to its open segment as Kafka encoded them, stores the segment, and only then moves
// the partition's checkpoint. A crash at any moment therefore resumes exactly at the checkpoint:
// nothing is lost, and nothing is stored twice (a half-written segment is overwritten under the
// same key, or swept at the end of the run). One memory budget bounds everything held at once.
import { assertWritableBy } from "../backupset/chain.ts";
import type { Codec } from "../format/codec.ts";
import { type ChainLink, type Manifest, parseManifest, type SetOwner, type SetRunState } from "../format/manifest.ts";
import { keyFingerprint } from "../format/segment.ts";
import { tuneHeapForBuffers } from "../heap.ts";
import type { KafkaClient } from "../kafka/client.ts";
import { TopicNotFoundError } from "../kafka/errors.ts";
import { fetchTopicIds } from "../kafka/topic-ids.ts";
import { type Logger, silentLogger } from "../log.ts";
import { assignShards, type ShardRef } from "../shards/assignment.ts";
import { readShardReports, writeShardReport } from "../shards/report.ts";
import {
  buildManifest,
  type Checkpoint,
  emptyCheckpoint,
  readCheckpoint,
  storeCheckpoint,
  type TopicMetadata,
  withGap,
} from "./checkpoint.ts";
import { BackupError } from "./errors.ts";
import { fetchPartitions } from "./fetcher.ts";
import { checkpointKey, groupSnapshotKey, manifestKey, partitionDir, shardAssignmentKey, shardLeaseKey } from "./layout.ts";
import { Lease } from "./lease.ts";
import { MemoryBudget } from "./memory.ts";
import type { BackupMetrics } from "./metrics.ts";
import { PartitionWriter } from "./partition-writer.ts";
import { selectTopics, type TopicSelection, topicMatcher } from "./selection.ts";
import { isNotFound, isPreconditionFailed, type ObjectStore } from "./store.ts";
import { Throttle } from "./throttle.ts";
import {
  type DeletedTopic,
  deletedTopics,
  describeRecreated,
  type RecreatedTopic,
  recreatedTopics,
  TopicDeletedError,
  TopicRecreatedError,
} from "./topic-changes.ts";

export { optionsFromSpec } from "./spec.ts";
export { BackupError };

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
  /**
   * Continuous mode: how often the selection is listed again (new topics, added partitions, topics
   * recreated). New topics and partitions are backed up from their log start in the same set.
   * Either mode: how long a topic of the run must stay missing to count as deleted.
   */
  topicRefreshIntervalMs?: number;
  // ── Chains and ownership (engine/backup/chain.ts plans them; the engine only records them) ──
  /** Where a partition without a checkpoint starts, by "topic/partition": its base set's end. Default: the log start. */
  startOffsets?: Readonly<Record<string, number>>;
  /** The KafkaBackup the set belongs to, recorded in the manifest; the run refuses a set another one owns. */
  owner?: SetOwner;
  /** The set's place in its chain, recorded in the manifest. */
  chain?: ChainLink;
  signal?: AbortSignal;
  /**
   * Continuous mode: topics of the set found deleted (and not created again): at the start of a
   * resumed run, and when the run finds them gone. Their partitions end in the set with what was
   * stored; the run goes on with the other topics.
   */
  onTopicsDeleted?: (topics: DeletedTopic[]) => void;
  onProgress?: (progress: BackupProgress) => void;
  progressIntervalMs?: number;
  metrics?: BackupMetrics;
  log?: Logger;
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
  /**
   * Continuous mode: topics deleted and created again under the run. The set ended there (run
   * state `complete`, with what it held of the old topics); the next records belong in a new set.
   */
  recreatedTopics?: RecreatedTopic[];
  /** Continuous mode: topics of the set deleted under it, whose partitions ended with what was stored. */
  deletedTopics?: DeletedTopic[];
  /**
   * What the set holds of this run's partitions, earlier runs of it included: a resumed run's own
   * `records` count only what it stored itself (after a failover, often almost nothing).
   */
  held: { records: number; segments: number };
}

function heldBy(checkpoints: Checkpoint[]): BackupResult["held"] {
  let records = 0;
  let segments = 0;
  for (const c of checkpoints) {
    segments += c.segments.length;
    for (const s of c.segments) records += s.recordCount;
  }
  return { records, segments };
}

export const backupDefaults = {
  compressionLevel: 3,
  segmentMaxBytes: 32 * 1024 * 1024,
  segmentMaxIntervalMs: 60_000,
  maxConcurrentPartitions: 16,
  leaseTtlMs: 30_000,
  manifestIntervalMs: 30_000,
  topicRefreshIntervalMs: 30_000,
  progressIntervalMs: 1000,
  /** Per partition and fetch (Java's max.partition.fetch.bytes): the broker returns at least one batch even if it is larger. */
  fetchMaxBytes: 1024 * 1024,
  memoryBudgetBytes: 32 * 1024 * 1024,
};

/**
 * The sizes a memory budget allows. A Fetch response is held twice while it arrives (the
 * socket's chunks, then the response they make), and two are held at once (one processed, one
 * in flight): a quarter of the budget. Each partition fetched at once may hold an open segment,
 * counted twice while it is stored, in the other three quarters.
 */
export function budgetShares(budget: number, partitions: number, segmentMaxBytes: number, partitionMaxBytes: number) {
  const requestMaxBytes = Math.max(256 * 1024, Math.floor(budget / 16));
  const perSegment = Math.floor((budget * 3) / 4 / (2 * Math.max(1, partitions)));
  return {
    requestMaxBytes,
    partitionMaxBytes: Math.max(64 * 1024, Math.min(partitionMaxBytes, requestMaxBytes)),
    segmentMaxBytes: Math.max(1024 * 1024, Math.min(segmentMaxBytes, perSegment)),
  };
}

export async function runBackup(kafka: KafkaClient, store: ObjectStore, options: BackupOptions): Promise<BackupResult> {
  tuneHeapForBuffers();
  const o = { ...backupDefaults, ...options };
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
  /** Recorded in every manifest write: `complete` only in the write after the run finished. */
  let runState: SetRunState = "running";
  const recordThrottle = new Throttle(o.recordsPerSec ?? 0);
  const byteThrottle = new Throttle(o.bytesPerSec ?? 0);
  const totals = { records: 0, bytes: 0, storedBytes: 0, segments: 0, skipped: 0, gaps: 0 };
  let progressTimer: NodeJS.Timeout | undefined;
  let manifestTimer: NodeJS.Timeout | undefined;
  let reportTimer: NodeJS.Timeout | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;
  /** Continuous mode: the re-listing in progress, awaited before the run's last manifest write. */
  let refreshing: Promise<void> | undefined;
  /** Why a continuous set ended without being cancelled (a topic recreated), in its manifest. */
  let endReason: string | undefined;
  let recreated: RecreatedTopic[] = [];
  /** Continuous mode: topics of the set deleted under it (not created again), by name. */
  const deleted = new Map<string, DeletedTopic>();
  /** Topics of the run the cluster answered missing for, since when (epoch ms). */
  const missingSince = new Map<string, number>();
  const reportDeleted = (topics: DeletedTopic[]) => {
    try {
      o.onTopicsDeleted?.(topics);
    } catch (err) {
      log.warn({ err: (err as Error).message }, "could not report the deleted topics");
    }
  };
  try {
    const admin = await kafka.admin();
    const existing = await loadManifest(store, o.backupId);
    assertWritableBy(existing, o.owner, o.backupId);
    const listed = await admin.listTopics();
    // A continuous set resumed after some of its selected topics were deleted: they stay in the
    // set with what it holds of them, and the run goes on with the others (even with none left:
    // it waits for topics the selection takes).
    if (o.mode === "continuous" && existing) {
      const selects = topicMatcher(o.selection);
      const now = Date.now();
      const gone = existing.topics.filter((t) => !listed.includes(t.name) && selects(t.name));
      for (const t of deletedTopics(gone, new Map(gone.map((g) => [g.name, now])), now)) deleted.set(t.topic, t);
    }
    const topics = selectTopics(listed, o.selection, [...deleted.keys()]);
    if (!topics.length && !deleted.size) throw new BackupError("NoTopicsSelected", "no topic matches the selection");
    const cluster = await admin.describeCluster();
    const sourceClusterId = o.sourceClusterId ?? cluster.clusterId;
    const metadata = await topicMetadata(kafka, topics);
    if (deleted.size) {
      log.warn(
        { deleted: [...deleted.values()] },
        "topics of this continuous set were deleted: they end with what the set holds",
      );
      reportDeleted([...deleted.values()]);
    }
    // A set resumed after its topic was deleted and created again: the new topic's offsets start
    // at 0 again and would be read as the old one's. A snapshot run fails (its ends are gone); a
    // continuous set ends where it is, and the caller starts a new one.
    const stale = existing ? recreatedTopics(existing.topics, topicIdsOf(metadata)) : [];
    if (stale.length) {
      if (o.mode === "snapshot") throw new TopicRecreatedError(o.backupId, stale);
      log.warn({ recreated: stale }, "topic recreated since this continuous set last ran: ending the set");
      await store.put(
        manifestKey(o.backupId),
        Buffer.from(
          `${JSON.stringify(
            {
              ...existing,
              updatedAt: Date.now(),
              run: { state: "complete", mode: o.mode, finishedAt: Date.now(), endReason: endedBy(stale) },
            },
            null,
            2,
          )}\n`,
        ),
      );
      return {
        backupId: o.backupId,
        topics,
        partitions: 0,
        records: 0,
        bytes: 0,
        storedBytes: 0,
        segments: 0,
        skippedOffsets: 0,
        gaps: 0,
        durationMs: Date.now() - started,
        manifestKey: manifestKey(o.backupId),
        cancelled: false,
        recreatedTopics: stale,
        held: { records: 0, segments: 0 },
      };
    }

    let partitions: PartitionRange[] = [];
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        partitions.push({ topic, partition: p.partition, low: Number(p.low), high: Number(p.high) });
      }
    }
    // A sharded run backs up to the ends the first worker saw, whichever worker starts (or restarts) when.
    const assignment = shard ? await shardAssignment(store, o.backupId, partitions, shard.count, metadata) : undefined;
    if (shard && assignment) {
      // A shard writes no manifest until the merge: the assignment holds the topic IDs the set began
      // with, so a worker started again after a recreation fails as an in-process run would, instead
      // of reading the new topic from the old topic's checkpoints.
      const stale = recreatedTopics(
        Object.entries(assignment.topicIds ?? {}).map(([name, topicId]) => ({ name, topicId })),
        topicIdsOf(metadata),
      );
      if (stale.length) throw new TopicRecreatedError(o.backupId, stale);
      // The ends are the assignment's; the starts are today's (retention may have moved them since).
      const lows = new Map(partitions.map((p) => [`${p.topic}/${p.partition}`, p.low]));
      partitions = assignment.partitions
        .filter((p) => p.shard === shard.index)
        .map((p) => ({ ...p, low: lows.get(`${p.topic}/${p.partition}`) ?? p.low }));
    }

    // Continuous: every partition is fetched, also those found later.
    const activeLimit =
      o.mode === "continuous" ? Number.POSITIVE_INFINITY : Math.min(partitions.length, o.maxConcurrentPartitions);
    const shares = budgetShares(
      o.memoryBudgetBytes,
      Math.min(activeLimit, partitions.length),
      o.segmentMaxBytes,
      o.fetchMaxBytes,
    );
    const tasks: PartitionWriter[] = [];
    // When the budget runs short, the largest open segment is stored early.
    const memory = new MemoryBudget(o.memoryBudgetBytes, () => {
      let largest: PartitionWriter | undefined;
      for (const t of tasks) if (t.openBytes > (largest?.openBytes ?? 0)) largest = t;
      largest?.seal();
    });
    const shared = {
      settings: {
        backupId: o.backupId,
        codec: o.codec,
        compressionLevel: o.compressionLevel,
        ...(o.encryptionKey ? { encryptionKey: o.encryptionKey } : {}),
        segmentMaxBytes: shares.segmentMaxBytes,
        ...(o.segmentMaxRecords !== undefined ? { segmentMaxRecords: o.segmentMaxRecords } : {}),
        segmentMaxIntervalMs: o.segmentMaxIntervalMs,
        readCommitted,
      },
      store,
      lease,
      memory,
      recordThrottle,
      byteThrottle,
      totals,
      ...(o.metrics ? { metrics: o.metrics } : {}),
      signal: runSignal,
    };
    const writerFor = async ({ topic, partition, low, high }: PartitionRange) => {
      let checkpoint = await loadCheckpoint(store, o.backupId, topic, partition);
      checkpoint ??= emptyCheckpoint(topic, partition, o.startOffsets?.[`${topic}/${partition}`] ?? low);
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
      return new PartitionWriter(shared, log, {
        topic,
        partition,
        checkpoint,
        target: o.mode === "snapshot" ? high : Number.POSITIVE_INFINITY,
        end: high,
      });
    };
    for (const p of partitions) tasks.push(await writerFor(p));

    /**
     * Whether the named topics are still the ones the run began with. A recreated topic fails a
     * snapshot run (TopicRecreatedError) and ends a continuous one: every partition stops at its
     * last checkpoint, the set is complete, and the result names the topics.
     */
    const topicCheck = async (names: string[]) => {
      if (recreated.length) return;
      let ids: Map<string, string>;
      let missing: Set<string>;
      try {
        ({ ids, missing } = await fetchTopicIds(kafka, names));
      } catch (err) {
        // The check goes with the next retry; a cluster that cannot answer fails the run elsewhere.
        log.warn({ err: (err as Error).message, topics: names }, "could not read topic IDs; will look again");
        return;
      }
      // The IDs this run began with, and those an earlier run of the set recorded for topics this
      // run did not select at its start (a topic deleted then, created again since).
      const recorded = [...metadata, ...(existing?.topics ?? []).filter((t) => !metadata.some((m) => m.name === t.name))];
      // Topics of the run that no longer exist, once they stayed missing for a re-listing period
      // (a topic created again meanwhile is a recreation, below; and one Metadata answer is not
      // taken as final): a snapshot run cannot reach its ends; in a continuous one they end with
      // what was stored, and the run goes on with the others.
      const now = Date.now();
      for (const name of names) {
        if (!missing.has(name)) missingSince.delete(name);
        else if (!missingSince.has(name)) missingSince.set(name, now);
      }
      const gone = deletedTopics(
        metadata.filter((m) => names.includes(m.name) && !deleted.has(m.name)),
        missingSince,
        now,
        o.topicRefreshIntervalMs,
      );
      if (gone.length && !recreated.length) {
        if (o.mode === "snapshot") throw new TopicDeletedError(o.backupId, gone);
        for (const t of gone) {
          deleted.set(t.topic, t);
          const m = metadata.find((x) => x.name === t.topic);
          if (m) m.deletedAt = t.deletedAt;
        }
        // Nothing asks for them again: kafkajs would fail every metadata request for the others.
        kafka.forgetTopics(gone.map((t) => t.topic));
        log.warn({ deleted: gone }, "topic deleted under the backup: its partitions end with what was stored; the others go on");
        reportDeleted(gone);
      }
      const found = recreatedTopics(
        recorded.filter((m) => names.includes(m.name)),
        ids,
      );
      if (!found.length || recreated.length) return;
      if (o.mode === "snapshot") throw new TopicRecreatedError(o.backupId, found);
      recreated = found;
      endReason = endedBy(found);
      log.warn({ recreated: found }, "topic deleted and created again under the backup: ending this continuous set");
      runAbort.abort(new TopicRecreatedError(o.backupId, found));
    };

    /** Continuous mode: writers of partitions found since the start, waiting for the fetch loop. */
    const found: PartitionWriter[] = [];
    const refreshTopics = async () => {
      const known = metadata.map((m) => m.name);
      let selected: string[];
      try {
        selected = selectTopics(await (await kafka.admin()).listTopics(), o.selection, [...deleted.keys()]);
      } catch (err) {
        // A listed topic that is gone (deleted): no new topics this time; the others go on.
        if (!(err instanceof TopicNotFoundError)) throw err;
        selected = [];
      }
      await topicCheck([...new Set([...known, ...selected])]);
      if (runSignal.aborted) return;
      // After the check: a topic found deleted replaces the admin client (KafkaClient.forgetTopics).
      const admin = await kafka.admin();
      const added: PartitionRange[] = [];
      // Partitions added to topics of the run.
      const listed = selected.filter((t) => known.includes(t));
      const counts = listed.length ? (await admin.fetchTopicMetadata({ topics: listed })).topics : [];
      for (const t of counts) {
        const have = new Set(tasks.filter((w) => w.topic === t.name).map((w) => w.partition));
        if (t.partitions.every((p) => have.has(p.partitionId))) continue;
        for (const p of await kafka.endOffsets(t.name)) if (!have.has(p.partition)) added.push({ topic: t.name, ...p });
        const m = metadata.find((x) => x.name === t.name);
        if (m) m.partitionCount = Math.max(m.partitionCount, t.partitions.length);
      }
      // Topics the selection matches now and did not at the start.
      const fresh = selected.filter((t) => !known.includes(t));
      if (fresh.length) {
        const described = await topicMetadata(kafka, fresh);
        for (const t of fresh) for (const p of await kafka.endOffsets(t)) added.push({ topic: t, ...p });
        if (runSignal.aborted) return;
        metadata.push(...described);
        topics.push(...fresh);
      }
      if (!added.length || runSignal.aborted) return;
      const writers: PartitionWriter[] = [];
      for (const p of added) writers.push(await writerFor(p));
      if (runSignal.aborted) return;
      tasks.push(...writers);
      found.push(...writers);
      log.info(
        { topics: fresh, partitions: added.map((p) => `${p.topic}/${p.partition}`) },
        "new topics or partitions match the selection: backing them up from their log start",
      );
    };
    const initialLag = tasks.reduce((n, t) => n + Math.max(0, Math.min(t.target, t.end) - t.fetchOffset), 0);
    log.info(
      {
        topics: topics.length,
        partitions: tasks.length,
        lag: initialLag,
        mode: o.mode,
        memoryBudgetBytes: o.memoryBudgetBytes,
        ...shares,
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
      // Whose set, how far its run got, its place in a chain (docs/format.md, "Complete sets, owners and chains").
      Object.assign(manifest, {
        ...(o.owner ? { owner: o.owner } : {}),
        run: {
          state: runState,
          mode: o.mode,
          ...(runState === "running" ? {} : { finishedAt: Date.now() }),
          ...(endReason ? { endReason } : {}),
        },
        ...(o.chain ? { chain: o.chain } : {}),
      });
      // Topics an earlier run of this set backed up and this run does not select stay listed.
      // Those deleted say when the run found them gone.
      for (const t of existing?.topics ?? []) {
        if (topics.includes(t.name)) continue;
        const gone = deleted.get(t.name);
        manifest.topics.push(gone && t.deletedAt === undefined ? { ...t, deletedAt: gone.deletedAt } : t);
      }
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
      // A deleted topic's unread end went with it: no lag.
      const lag = tasks
        .filter((t) => !deleted.has(t.topic))
        .reduce((n, t) => n + Math.max(0, (o.mode === "snapshot" ? t.target : t.end) - t.position), 0);
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
      refreshTimer = setInterval(() => {
        if (refreshing || runSignal.aborted) return;
        refreshing = refreshTopics()
          .catch((err: Error) => log.warn({ err: err.message }, "listing the selected topics again failed; will retry"))
          .finally(() => {
            refreshing = undefined;
          });
      }, o.topicRefreshIntervalMs);
      refreshTimer.unref();
    }

    try {
      await fetchPartitions(tasks, {
        kafka,
        memory,
        log,
        backupId: o.backupId,
        readCommitted,
        activeLimit,
        ...(o.mode === "continuous" ? { more: () => found.splice(0) } : {}),
        topicCheck,
        deleted: (topic) => deleted.has(topic),
        requestMaxBytes: shares.requestMaxBytes,
        partitionMaxBytes: shares.partitionMaxBytes,
        // Wakes in time to seal a segment that reaches its age limit while no data arrives.
        maxWaitMs: Math.max(50, Math.min(o.mode === "continuous" ? 500 : 250, o.segmentMaxIntervalMs)),
        ...(o.metrics ? { metrics: o.metrics } : {}),
        signal: runSignal,
      });
      clearInterval(refreshTimer);
      await refreshing;
      log.info({ peakMemoryBytes: memory.peak }, "every partition fetched");
    } catch (err) {
      clearInterval(refreshTimer);
      await refreshing;
      // What was stored before the failure is listed in the manifest all the same.
      runState = o.signal?.aborted ? "cancelled" : "failed";
      await writeManifest().catch((e: Error) => log.warn({ err: e.message }, "could not update the manifest after a failure"));
      throw err;
    }

    // Once per set: the first shard takes the groups' snapshot.
    if (o.consumerGroupSnapshot && !runSignal.aborted && (shard?.index ?? 0) === 0) {
      await snapshotConsumerGroups(kafka, store, o.backupId, topics, log);
    }
    runState = o.signal?.aborted ? "cancelled" : "complete";
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
            (await loadCheckpoint(store, o.backupId, p.topic, p.partition)) ??
              emptyCheckpoint(p.topic, p.partition, o.startOffsets?.[`${p.topic}/${p.partition}`] ?? p.low),
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
      held: heldBy(tasks.map((t) => t.checkpoint)),
      ...(merged !== undefined ? { merged } : {}),
      ...(recreated.length ? { recreatedTopics: recreated } : {}),
      ...(deleted.size ? { deletedTopics: [...deleted.values()] } : {}),
    };
    log.info(
      result,
      o.signal?.aborted
        ? "backup stopped; resumable from its checkpoints"
        : recreated.length
          ? "continuous set ended: a topic was recreated"
          : "backup completed",
    );
    return result;
  } finally {
    clearInterval(progressTimer);
    clearInterval(manifestTimer);
    clearInterval(reportTimer);
    clearInterval(refreshTimer);
    o.signal?.removeEventListener("abort", onCancel);
    await manifestWrites.catch(() => {});
    await lease.release();
  }
}

const topicIdsOf = (metadata: readonly TopicMetadata[]) =>
  new Map(metadata.flatMap((m) => (m.topicId ? [[m.name, m.topicId] as const] : [])));

const endedBy = (topics: readonly RecreatedTopic[]) =>
  `ended: ${topics.length === 1 ? "topic" : "topics"} ${describeRecreated(topics)} deleted and created again`;

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
  /** Topic name → the topic ID the set began with (Metadata v10), where the cluster gave one. */
  topicIds?: Record<string, string>;
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
  metadata: readonly TopicMetadata[],
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
      topicIds: Object.fromEntries(topicIdsOf(metadata)),
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
    return await readCheckpoint(store, key);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function writeCheckpoint(store: ObjectStore, backupId: string, checkpoint: Checkpoint): Promise<void> {
  await storeCheckpoint(store, checkpointKey(backupId, checkpoint.topic, checkpoint.partition), checkpoint);
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
async function sweepOrphans(store: ObjectStore, backupId: string, tasks: PartitionWriter[], log: Logger): Promise<void> {
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
