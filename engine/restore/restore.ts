// Restoring a backup set into Kafka, following a RestorePlan. Records are produced with our own
// record batches (headers exactly as backed up) and an idempotent producer id, so a retried
// batch is never stored twice. A restore that stops (killed, cancelled) and runs again skips
// exactly what its target partitions already hold: its checkpoint records each target
// partition's end offset before the first write, and records are produced in one deterministic
// order per target partition, so "already written" is the target's growth since then.
//
// While records go out, the offset mapping is built (where each source offset landed); at the
// end the consumer groups' committed offsets are translated with it, committed through their
// coordinators, and the mapping report is stored with the backup.
import { setTimeout as sleep } from "node:timers/promises";
import { Lease } from "../backup/lease.ts";
import { MemoryBudget } from "../backup/memory.ts";
import { Throttle } from "../backup/throttle.ts";
import { readManifest, readSegmentContent } from "../backupset/catalog.ts";
import type { BackupRecord, RecordHeader } from "../format/record.ts";
import type { BatchEntry } from "../format/segment.ts";
import { tuneHeapForBuffers } from "../heap.ts";
import {
  ATTR_COMPRESSION,
  BATCH_HEADER_BYTES,
  batchForProduce,
  batchRecordsRegion,
  isLogAppendTime,
  viewBatch,
  withRecordsRegion,
} from "../kafka/batch-view.ts";
import type { KafkaClient } from "../kafka/client.ts";
import { compressKafka } from "../kafka/codecs.ts";
import { commitGroupOffsets, describeGroup, GroupHasMembersError } from "../kafka/groups.ts";
import { javaPartition } from "../kafka/partitioner.ts";
import { decodeRecordSet } from "../kafka/record-batch.ts";
import { encodeRecordBatch } from "../kafka/record-batch-encoder.ts";
import { type Logger, silentLogger } from "../log.ts";
import { type ShardRef, shareOf } from "../shards/assignment.ts";
import { readShardReports, writeShardReport } from "../shards/report.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { ObjectNotFoundError } from "../storage/errors.ts";
import { loadGroupSnapshot, type RequestedGroups, requestGroups } from "./groups.ts";
import { type RustOffsetHeaders, withoutRustOffsetHeaders } from "./kbak-headers.ts";
import {
  type GroupOffsetMapping,
  OffsetMappingBuilder,
  type OffsetMappingReport,
  offsetMappingFormat,
  offsetMappingKey,
  translateGroup,
} from "./offset-mapping.ts";
import { PartitionProducer } from "./partition-producer.ts";
import {
  type PartitionPlan,
  planRestore,
  type RestorePlan,
  type RestoreSelection,
  restoreLanes,
  sameNameTargets,
  selected,
  targetPartition,
} from "./plan.ts";
import { ResumeCheck } from "./resume-check.ts";
import { type SourceTopicChange, sourceTopicChanges } from "./source-topics.ts";

export interface RestoreOptions {
  backupId: string;
  /** Names the restore's checkpoint; a rerun with the same id resumes. */
  restoreId: string;
  selection: RestoreSelection;
  createTopics?: boolean;
  replicationFactor?: number;
  /** Delete the records of existing target topics before the first write (once per restore). */
  purgeTopics?: boolean;
  encryptionKey?: Buffer;
  /** Records per produced batch (and per request). */
  batchRecords?: number;
  /** Uncompressed bytes per produced batch (default 512 KiB, under Kafka's default 1 MiB message limit). */
  batchBytes?: number;
  /**
   * Compression of produced batches: "source" (the default) keeps each batch's codec at the
   * source; a Kafka compression id (0 none … 4 zstd) uses that one for every batch.
   */
  compression?: number | "source";
  /** Bytes of segments and batches held at once (default 32 MiB). */
  memoryBudgetBytes?: number;
  /** -1 (all, default) or 1; 0 is sent as 1, because an idempotent retry needs the broker's answer. */
  acks?: -1 | 0 | 1;
  produceTimeoutMs?: number;
  recordsPerSec?: number;
  bytesPerSec?: number;
  /** Target partitions written at the same time. Default 4. */
  maxConcurrentPartitions?: number;
  /** Consumer groups whose offsets are translated (and, with commit, committed) after the restore. */
  consumerGroups?: RequestedGroups;
  /** Add kbo-source-topic/-partition/-offset headers to every record (off: records as backed up). */
  addSourceHeaders?: boolean;
  /** KBAK v1 sets: the Rust engine's x-original-* headers dropped (default) or kept (kbak-headers.ts). */
  rustOffsetHeaders?: RustOffsetHeaders;
  /**
   * One worker of a sharded restore (issue #13): shard 0 prepares the targets (checks, creates,
   * purges) and records their start offsets; every shard restores its share of the lanes under a
   * lease of its own; the last to finish merges the offset mappings and commits the groups.
   */
  shard?: ShardRef;
  /** Sharded: the lease holder; a restarted worker with the same holder takes its lease back at once. */
  leaseHolder?: string;
  signal?: AbortSignal;
  log?: Logger;
  onProgress?: (p: RestoreProgress) => void;
}

export interface RestoreProgress {
  /** Selected records now in the target (written by this run or found already restored). */
  recordsRestored: number;
  bytesRestored: number;
  segmentsProcessed: number;
  currentTopic?: string;
  /** 0-100, by records read from the planned segments. */
  percent: number;
  recordsPerSec: number;
  bytesPerSec: number;
  etaMs?: number;
}

export interface RestoreResult {
  restoreId: string;
  backupId: string;
  /** Selected records in the target (written now plus found already restored). */
  records: number;
  skippedAsAlreadyRestored: number;
  bytes: number;
  segments: number;
  targetTopics: string[];
  purgedTopics: string[];
  durationMs: number;
  cancelled: boolean;
  /** Key of the offset mapping report (absent when cancelled). */
  offsetMappingKey?: string;
  consumerGroups: GroupOffsetMapping[];
  /** Source topics deleted or recreated since the backup (restoring into the source cluster; source-topics.ts). */
  sourceTopics?: SourceTopicChange[];
}

export class RestoreError extends Error {
  readonly reason: string;
  override name = "RestoreError";
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

interface RestoreCheckpoint {
  format: "kafka-backup-operator/restore-checkpoint";
  restoreId: string;
  backupId: string;
  /** Each target partition's end offset before this restore wrote to it. */
  startOffsets: Record<string, number>;
  purged?: string[];
  completed: boolean;
}

export const restoreDir = (backupId: string, restoreId: string) => `${backupId}/restores/${restoreId}`;
export const restoreCheckpointKey = (backupId: string, restoreId: string) => `${restoreDir(backupId, restoreId)}/checkpoint.json`;
const shardMappingKey = (dir: string, index: number) => `${dir}/shards/mapping-${index}.json`;

/** What a shard leaves for the merge: its part of the offset mapping. */
interface ShardMapping {
  partitions: OffsetMappingReport["partitions"];
  targetEnds: Record<string, number>;
}
const tp = (topic: string, partition: number) => `${topic}/${partition}`;
const splitTp = (key: string) => {
  const at = key.lastIndexOf("/");
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
};

/** Segment bytes held in memory at once across lanes (a segment is decoded whole). */
const defaultMemoryBudgetBytes = 32 * 1024 * 1024;
/** Produced batches stay under the broker's default message.max.bytes (1 MiB). */
const maxProducedBatchBytes = 1000 * 1024;

export async function runRestore(kafka: KafkaClient, store: StorageBackend, options: RestoreOptions): Promise<RestoreResult> {
  tuneHeapForBuffers();
  const started = Date.now();
  const log = (options.log ?? silentLogger).child({ backupId: options.backupId, restoreId: options.restoreId });
  const manifest = await readManifest(store, options.backupId);
  const plan = planRestore(manifest, options.selection);
  const groups = options.consumerGroups
    ? requestGroups(await loadGroupSnapshot(store, options.backupId), options.consumerGroups, plan)
    : [];
  const admin = await kafka.admin();
  // Source topics gone or recreated since the backup, by topic ID: reported (source-topics.ts).
  const sourceTopics = await sourceTopicChanges(kafka, manifest, [...new Set(plan.partitions.map((p) => p.sourceTopic))], log);

  const key = restoreCheckpointKey(options.backupId, options.restoreId);
  const dir = restoreDir(options.backupId, options.restoreId);
  const shard = options.shard;
  const lease = shard
    ? await Lease.acquire(
        store,
        options.backupId,
        options.leaseHolder ?? options.restoreId,
        30_000,
        log,
        `${dir}/shards/lease-${shard.index}.json`,
      )
    : undefined;
  try {
    let checkpoint = await loadCheckpoint(store, key);
    // Shards other than 0 start once shard 0 has checked, created and purged the targets.
    while (!checkpoint && shard && shard.index > 0 && !options.signal?.aborted) {
      await sleep(500, undefined, { signal: options.signal }).catch(() => {});
      checkpoint = await loadCheckpoint(store, key);
    }
    let purgedTopics: string[] = checkpoint?.purged ?? [];
    if (!checkpoint) {
      // Checked once, before anything is written: a resumed restore finds its own topics.
      const existing = new Set(await admin.listTopics());
      const live = sameNameTargets(plan).filter((t) => existing.has(t));
      if (live.length && !options.purgeTopics) {
        throw new RestoreError(
          "TargetTopicsLive",
          `topics ${live.join(", ")} exist in the target cluster under the name they are restored from; set purgeTopics to replace their records, or map them to new names with topicMapping`,
        );
      }
      await ensureTopics(kafka, plan, options);
      if (options.purgeTopics) purgedTopics = await purge(kafka, plan, existing, log);
    } else {
      await ensureTopics(kafka, plan, options);
    }

    const ends = new Map<string, number>();
    for (const t of plan.targetTopics) {
      for (const p of await kafka.endOffsets(t.name)) ends.set(tp(t.name, p.partition), p.high);
    }
    if (!checkpoint) {
      checkpoint = {
        format: "kafka-backup-operator/restore-checkpoint",
        restoreId: options.restoreId,
        backupId: options.backupId,
        startOffsets: Object.fromEntries(ends),
        purged: purgedTopics,
        completed: false,
      };
      await store.put(key, Buffer.from(JSON.stringify(checkpoint)));
    }
    const startOffsets = checkpoint.startOffsets;
    const startOf = (target: string) => startOffsets[target] ?? ends.get(target) ?? 0;
    const alreadyWritten = new Map<string, number>();
    for (const [target, end] of ends) alreadyWritten.set(target, end - startOf(target));
    // What a resume skips as already written is read back and checked to be ours (resume-check.ts).
    const resumeCheck = new ResumeCheck(kafka, options.restoreId);

    const allLanes = restoreLanes(plan);
    const lanes = shard
      ? shareOf(
          allLanes,
          shard,
          (lane) => lane.reduce((n, p) => n + p.recordsUpperBound, 0),
          (lane) => `${lane[0]?.targetTopic}/${lane[0]?.routing.kind === "partition" ? lane[0].routing.partition : "*"}`,
        )
      : allLanes;
    const mapping = new OffsetMappingBuilder();
    for (const g of groups) for (const s of g.source) mapping.anchor(s.sourceTopic, s.sourcePartition, s.sourceOffset);
    for (const p of lanes.flat()) {
      if (p.routing.kind === "partition") mapping.declare(p.sourceTopic, p.sourcePartition, p.targetTopic, p.routing.partition);
    }

    const { producerId, producerEpoch } = await kafka.initProducerId();
    const acks = options.acks === -1 || options.acks === undefined ? -1 : 1;
    const timeoutMs = options.produceTimeoutMs ?? 30_000;
    const batchRecords = options.batchRecords ?? 1000;
    const batchBytes = options.batchBytes ?? 512 * 1024;
    const recordThrottle = new Throttle(options.recordsPerSec ?? 0);
    const byteThrottle = new Throttle(options.bytesPerSec ?? 0);
    /** Selected records routed to each target partition so far, in write order (skipped included). */
    const positions = new Map<string, number>();
    const unexpectedOffsets: string[] = [];
    let reported = 0;
    const report = (state: "Running" | "Completed", p?: RestoreProgress) =>
      shard
        ? writeShardReport(store, dir, {
            index: shard.index,
            count: shard.count,
            state,
            units: lanes.length,
            records: p?.recordsRestored ?? progress.totals().records,
            bytes: p?.bytesRestored ?? progress.totals().bytes,
            percent: state === "Completed" ? 100 : (p?.percent ?? 0),
          })
        : Promise.resolve();
    const onProgress = (p: RestoreProgress) => {
      options.onProgress?.(p);
      if (!shard || Date.now() - reported < 2000) return;
      reported = Date.now();
      void report("Running", p).catch((err: Error) => log.warn({ err: err.message }, "shard report write failed"));
    };
    const progress = new ProgressMeter(shard ? { partitions: lanes.flat() } : plan, onProgress);
    await report("Running");
    const memory = new MemoryBudget(options.memoryBudgetBytes ?? defaultMemoryBudgetBytes);
    const compression = options.compression ?? "source";

    const producers = new Map<string, PartitionProducer>();
    const producerFor = (target: string) => {
      let producer = producers.get(target);
      if (!producer) {
        const { topic, partition } = splitTp(target);
        producer = new PartitionProducer(
          kafka,
          topic,
          partition,
          { producerId, producerEpoch },
          {
            acks,
            timeoutMs,
            maxInFlight: 5,
            log,
            ...(lease ? { beforeSend: () => lease.check() } : {}),
            onStored: (baseOffset, expected) => {
              if (baseOffset === expected || unexpectedOffsets.length >= 20) return;
              unexpectedOffsets.push(`${target}: expected ${expected}, got ${baseOffset}`);
              log.warn({ target, expected, got: baseOffset }, "another producer is writing to the target partition");
            },
          },
        );
        producers.set(target, producer);
      }
      return producer;
    };

    /** Records re-batched (the slow path: cut by a window or bounds, repartitioned, old formats). */
    const send = async (target: string, batch: BackupRecord[], firstPosition: number, codec: number) => {
      const bytes = batch.reduce((n, r) => n + recordBytes(r), 0);
      await recordThrottle.take(batch.length, options.signal);
      await byteThrottle.take(bytes, options.signal);
      // Compressed before the producer numbers it: the sequence is written into the finished batch.
      const encoded = await encodeRecordBatch(batch, { producerId, producerEpoch, baseSequence: 0 }, codec);
      await producerFor(target).send(
        (producer) => batchForProduce(encoded, producer),
        batch.length,
        startOf(target) + firstPosition,
        () => progress.restored(batch.length, bytes),
      );
    };

    /** A stored batch sent as it is: only its producer fields and CRC rewritten (and its codec, when asked). */
    const sendStored = async (target: string, entry: BatchEntry, firstPosition: number) => {
      await recordThrottle.take(entry.recordCount, options.signal);
      await byteThrottle.take(entry.recordBytes, options.signal);
      let batch = entry.batch;
      const stored = batch.readInt16BE(21) & ATTR_COMPRESSION;
      const wanted = compression === "source" ? entry.sourceCodec : compression;
      if (stored !== wanted) {
        const view = viewBatch(batch);
        let region = batch.subarray(BATCH_HEADER_BYTES);
        if (stored !== 0) region = await batchRecordsRegion(view, target);
        if (wanted !== 0) region = await compressKafka(wanted, region);
        batch = withRecordsRegion(view, region, wanted);
      }
      await producerFor(target).send(
        (producer) => batchForProduce(batch, producer),
        entry.recordCount,
        startOf(target) + firstPosition,
        () => progress.restored(entry.recordCount, entry.recordBytes),
      );
    };

    /** Whether a stored batch goes to the target whole and unchanged. */
    const passesWhole = (entry: BatchEntry, p: PartitionPlan) =>
      p.routing.kind === "partition" &&
      entry.contiguous &&
      !options.addSourceHeaders &&
      !isLogAppendTime(viewBatch(entry.batch)) &&
      (p.startOffset === undefined || entry.firstOffset >= p.startOffset) &&
      (p.endOffset === undefined || entry.lastOffset <= p.endOffset) &&
      (plan.window.start === undefined || entry.minTimestamp >= plan.window.start) &&
      (plan.window.end === undefined || entry.maxTimestamp <= plan.window.end) &&
      entry.batch.length <= maxProducedBatchBytes;
    /** Whether no record of a stored batch is selected. */
    const selectsNone = (entry: BatchEntry, p: PartitionPlan) =>
      (p.startOffset !== undefined && entry.lastOffset < p.startOffset) ||
      (p.endOffset !== undefined && entry.firstOffset > p.endOffset) ||
      (plan.window.start !== undefined && entry.maxTimestamp < plan.window.start) ||
      (plan.window.end !== undefined && entry.minTimestamp > plan.window.end);

    const restoreLane = async (lane: PartitionPlan[]): Promise<boolean> => {
      const buffers = new Map<string, { records: BackupRecord[]; firstPosition: number; bytes: number; codec: number }>();
      const flushOne = async (target: string) => {
        const buffer = buffers.get(target);
        if (!buffer?.records.length) return;
        buffers.delete(target);
        await send(target, buffer.records, buffer.firstPosition, buffer.codec);
      };
      const flush = async () => {
        for (const target of [...buffers.keys()]) await flushOne(target);
      };
      /** One record through the slow path: selected, routed, mapped, skipped if already written, buffered. */
      const restoreRecord = async (r: BackupRecord, p: PartitionPlan, codec: number) => {
        progress.read();
        if (!selected(r, p, plan.window)) return;
        const partition = targetPartition(p.routing, r, p.sourcePartition, javaPartition);
        const target = tp(p.targetTopic, partition);
        const position = positions.get(target) ?? 0;
        positions.set(target, position + 1);
        mapping.observe(
          p.sourceTopic,
          p.sourcePartition,
          r.offset,
          r.timestamp,
          p.targetTopic,
          partition,
          startOf(target) + position,
        );
        if (position < (alreadyWritten.get(target) ?? 0)) {
          // A resume checks what it skips is its own (resume-check.ts).
          const written = options.addSourceHeaders ? withSourceHeaders(r, p) : r;
          await resumeCheck.verify(p.targetTopic, partition, startOf(target), startOf(target) + position, written);
          progress.skipped(1, recordBytes(r));
          return;
        }
        let buffer = buffers.get(target);
        if (buffer && buffer.codec !== codec) {
          await flushOne(target);
          buffer = undefined;
        }
        if (!buffer) {
          buffer = { records: [], firstPosition: position, bytes: 0, codec };
          buffers.set(target, buffer);
        }
        buffer.records.push(options.addSourceHeaders ? withSourceHeaders(r, p) : r);
        buffer.bytes += recordBytes(r);
        // Batches stay under the broker's message size limit (a bigger record goes alone).
        if (buffer.records.length >= batchRecords || buffer.bytes >= batchBytes) await flushOne(target);
      };
      const restoreEntry = async (entry: BatchEntry, p: PartitionPlan) => {
        if (selectsNone(entry, p)) {
          progress.read(entry.recordCount);
          return;
        }
        const target = p.routing.kind === "partition" ? tp(p.targetTopic, p.routing.partition) : undefined;
        const position = target ? (positions.get(target) ?? 0) : 0;
        const written = target ? (alreadyWritten.get(target) ?? 0) : 0;
        if (
          target &&
          p.routing.kind === "partition" &&
          passesWhole(entry, p) &&
          (position >= written || position + entry.recordCount <= written)
        ) {
          progress.read(entry.recordCount);
          await flushOne(target);
          positions.set(target, position + entry.recordCount);
          mapping.observeRun(
            p.sourceTopic,
            p.sourcePartition,
            entry.firstOffset,
            entry.recordCount,
            viewBatch(entry.batch).baseTimestamp,
            entry.lastTimestamp,
            p.targetTopic,
            p.routing.partition,
            startOf(target) + position,
          );
          if (position + entry.recordCount <= written) {
            // A resume checks what it skips is its own, record by record (resume-check.ts).
            await resumeCheck.verifyBatch(
              p.targetTopic,
              p.routing.partition,
              startOf(target),
              startOf(target) + position,
              entry.batch,
            );
            progress.skipped(entry.recordCount, entry.recordBytes);
          } else await sendStored(target, entry, position);
          return;
        }
        const codec = compression === "source" ? entry.sourceCodec : compression;
        for (const batch of await decodeRecordSet(entry.batch, `${p.sourceTopic}/${p.sourcePartition}`)) {
          for (const r of batch.records) await restoreRecord(r, p, codec);
        }
      };
      for (const p of lane) {
        for (const segment of p.segments) {
          if (options.signal?.aborted || failure) return false;
          progress.current(p.targetTopic);
          // Held: the object and its decompressed block.
          const held = segment.storedBytes + (segment.recordBlockBytes ?? segment.storedBytes);
          await memory.acquire(held, options.signal);
          try {
            const content = await readSegmentContent(
              store,
              segment,
              options.encryptionKey ? { encryptionKey: options.encryptionKey } : {},
            );
            if (content.kind === "batches") {
              for (const entry of content.entries) await restoreEntry(entry, p);
            } else {
              const codec = compression === "source" ? 0 : compression;
              // KBAK v1: the headers the Rust engine appended go unless kept (kbak-headers.ts).
              const strip = segment.format === "kbak-v1" && options.rustOffsetHeaders !== "Keep";
              for (const r of content.records) await restoreRecord(strip ? withoutRustOffsetHeaders(r) : r, p, codec);
            }
            await flush();
          } finally {
            memory.release(held);
          }
          progress.segment();
        }
      }
      await flush();
      return true;
    };

    let next = 0;
    let cancelled = false;
    // The first lane that fails stops the others at their next segment; all have stopped when this
    // returns (nothing keeps producing on a client the caller is about to close).
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      while (next < lanes.length && !failure) {
        const lane = lanes[next++] as PartitionPlan[];
        try {
          if (!(await restoreLane(lane))) cancelled = true;
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.maxConcurrentPartitions ?? 4, lanes.length)) }, worker));
    // Every batch acknowledged before anything is counted as restored or mapped.
    const drained = await Promise.allSettled([...producers.values()].map((producer) => producer.drain()));
    if (failure) throw failure.error;
    for (const d of drained) if (d.status === "rejected") throw d.reason;
    cancelled ||= options.signal?.aborted ?? false;

    let consumerGroups: GroupOffsetMapping[] = [];
    let reportKey: string | undefined;
    let merged: ShardMapping | undefined;
    if (!cancelled) {
      const targetEnds: Record<string, number> = {};
      for (const target of new Set([...ends.keys(), ...positions.keys()])) {
        targetEnds[target] = startOf(target) + (positions.get(target) ?? 0);
      }
      merged = { partitions: mapping.partitions(), targetEnds };
      if (shard) {
        // Own targets only: the rest are other shards' (their start offsets until they report).
        const own = new Set(lanes.flat().map((p) => p.targetTopic));
        const mine: ShardMapping = {
          partitions: merged.partitions,
          targetEnds: Object.fromEntries(
            Object.entries(targetEnds).filter(([t]) => own.has(splitTp(t).topic) && positions.has(t)),
          ),
        };
        await store.put(shardMappingKey(dir, shard.index), Buffer.from(JSON.stringify(mine)));
        await report("Completed");
        // Each shard reports before it looks, so the last of them to finish always sees all done.
        const reports = await readShardReports(store, dir, shard.count);
        merged = reports.every((r) => r?.state === "Completed")
          ? await mergeShardMappings(store, dir, shard.count, targetEnds)
          : undefined;
      }
    }
    if (merged) {
      const { partitions, targetEnds } = merged;
      consumerGroups = await commitGroups(
        kafka,
        groups,
        { partitions, targetEnds },
        options.consumerGroups?.commit ?? false,
        log,
      );
      const report: OffsetMappingReport = {
        format: offsetMappingFormat,
        version: 1,
        backupId: options.backupId,
        restoreId: options.restoreId,
        createdAt: new Date().toISOString(),
        ...(manifest.sourceClusterId ? { sourceClusterId: manifest.sourceClusterId } : {}),
        partitions,
        targetEnds,
        consumerGroups,
      };
      reportKey = offsetMappingKey(options.backupId, options.restoreId);
      await store.put(reportKey, Buffer.from(JSON.stringify(report)));
      await store.put(key, Buffer.from(JSON.stringify({ ...checkpoint, completed: true })));
      if (shard) log.info({ shards: shard.count }, "every shard is done: merged the offset mappings");
    }
    const totals = progress.totals();
    const result: RestoreResult = {
      restoreId: options.restoreId,
      backupId: options.backupId,
      records: totals.records,
      skippedAsAlreadyRestored: totals.skipped,
      bytes: totals.bytes,
      segments: totals.segments,
      targetTopics: plan.targetTopics.map((t) => t.name),
      purgedTopics,
      durationMs: Date.now() - started,
      cancelled,
      ...(reportKey ? { offsetMappingKey: reportKey } : {}),
      consumerGroups,
      ...(sourceTopics.length ? { sourceTopics } : {}),
    };
    if (unexpectedOffsets.length) log.warn({ unexpectedOffsets }, "target partitions were written by others during the restore");
    log.info(
      { records: result.records, skipped: result.skippedAsAlreadyRestored, groups: consumerGroups.length },
      cancelled ? "restore stopped; rerun to resume" : "restore completed",
    );
    return result;
  } finally {
    await lease?.release();
  }
}

/** Every shard's mapping in one: lanes own disjoint target partitions, so the parts never overlap. */
async function mergeShardMappings(
  store: StorageBackend,
  dir: string,
  count: number,
  startEnds: Record<string, number>,
): Promise<ShardMapping> {
  const partitions: ShardMapping["partitions"] = [];
  const targetEnds: Record<string, number> = {};
  // A target no shard wrote ends where it started (this shard's view covers every target).
  for (const [target, end] of Object.entries(startEnds)) targetEnds[target] = end;
  for (let index = 0; index < count; index++) {
    const part = JSON.parse((await store.getBuffer(shardMappingKey(dir, index))).body.toString("utf8")) as ShardMapping;
    partitions.push(...part.partitions);
    Object.assign(targetEnds, part.targetEnds);
  }
  partitions.sort(
    (a, b) =>
      a.sourceTopic.localeCompare(b.sourceTopic) ||
      a.sourcePartition - b.sourcePartition ||
      a.targetTopic.localeCompare(b.targetTopic) ||
      a.targetPartition - b.targetPartition,
  );
  return { partitions, targetEnds };
}

function withSourceHeaders(r: BackupRecord, p: PartitionPlan): BackupRecord {
  const extra: RecordHeader[] = [
    { key: "kbo-source-topic", value: Buffer.from(p.sourceTopic) },
    { key: "kbo-source-partition", value: Buffer.from(String(p.sourcePartition)) },
    { key: "kbo-source-offset", value: Buffer.from(String(r.offset)) },
  ];
  return { ...r, headers: [...r.headers, ...extra] };
}

/** Translates each group's offsets and commits them where asked; a group's failure is its own. */
async function commitGroups(
  kafka: KafkaClient,
  groups: ReturnType<typeof requestGroups>,
  mapping: Pick<OffsetMappingReport, "partitions" | "targetEnds">,
  commit: boolean,
  log: Logger,
): Promise<GroupOffsetMapping[]> {
  const out: GroupOffsetMapping[] = [];
  for (const g of groups) {
    const { target, untranslatable } = translateGroup(mapping, g.source);
    const entry: GroupOffsetMapping = { groupId: g.groupId, source: g.source, target, committed: false };
    if (g.error) entry.error = g.error;
    else if (untranslatable.length) {
      entry.error = `no exact translation for ${untranslatable.map((u) => `${u.sourceTopic}/${u.sourcePartition}@${u.sourceOffset}`).join(", ")}`;
    } else if (commit && target.length) {
      try {
        const { members, state } = await describeGroup(kafka, g.groupId);
        if (members > 0) throw new GroupHasMembersError(g.groupId, `${members} live members, state ${state}`);
        await commitGroupOffsets(kafka, g.groupId, target);
        entry.committed = true;
      } catch (err) {
        entry.error =
          err instanceof GroupHasMembersError
            ? `group has live members in the target cluster (${err.message}); stop its consumers, then apply a KafkaOffsetReset with resetStrategy from-mapping`
            : `commit failed: ${(err as Error).message}`;
      }
    }
    if (entry.error) log.warn({ groupId: g.groupId, error: entry.error }, "consumer group offsets not committed");
    out.push(entry);
  }
  return out;
}

/** Counts for progress: records read from planned segments against all they hold. */
class ProgressMeter {
  readonly #toRead: number;
  readonly #started = Date.now();
  readonly #onProgress: ((p: RestoreProgress) => void) | undefined;
  #read = 0;
  #records = 0;
  #skipped = 0;
  #bytes = 0;
  #segments = 0;
  #currentTopic: string | undefined;

  constructor(plan: Pick<RestorePlan, "partitions">, onProgress?: (p: RestoreProgress) => void) {
    this.#toRead = plan.partitions.reduce((n, p) => n + p.recordsUpperBound, 0);
    this.#onProgress = onProgress;
  }

  read(count = 1): void {
    this.#read += count;
  }

  current(topic: string): void {
    this.#currentTopic = topic;
  }

  skipped(count: number, bytes: number): void {
    this.#skipped += count;
    this.#records += count;
    this.#bytes += bytes;
  }

  restored(count: number, bytes: number): void {
    this.#records += count;
    this.#bytes += bytes;
    this.#report();
  }

  segment(): void {
    this.#segments++;
    this.#report();
  }

  totals() {
    return { records: this.#records, skipped: this.#skipped, bytes: this.#bytes, segments: this.#segments };
  }

  #report(): void {
    if (!this.#onProgress) return;
    const seconds = Math.max(0.001, (Date.now() - this.#started) / 1000);
    const fraction = this.#toRead ? Math.min(1, this.#read / this.#toRead) : 1;
    const readRate = this.#read / seconds;
    this.#onProgress({
      recordsRestored: this.#records,
      bytesRestored: this.#bytes,
      segmentsProcessed: this.#segments,
      ...(this.#currentTopic ? { currentTopic: this.#currentTopic } : {}),
      percent: Math.round(fraction * 1000) / 10,
      recordsPerSec: this.#records / seconds,
      bytesPerSec: this.#bytes / seconds,
      ...(readRate > 0 ? { etaMs: Math.round(((this.#toRead - this.#read) / readRate) * 1000) } : {}),
    });
  }
}

const recordBytes = (r: BackupRecord) =>
  (r.key?.length ?? 0) + (r.value?.length ?? 0) + r.headers.reduce((n, h) => n + h.key.length + (h.value?.length ?? 0), 0);

async function loadCheckpoint(store: StorageBackend, key: string): Promise<RestoreCheckpoint | undefined> {
  try {
    return JSON.parse((await store.getBuffer(key)).body.toString("utf8")) as RestoreCheckpoint;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

/** Deletes every record of the existing target topics (DeleteRecords up to the end). */
async function purge(kafka: KafkaClient, plan: RestorePlan, existing: Set<string>, log: Logger): Promise<string[]> {
  const admin = await kafka.admin();
  const purged: string[] = [];
  for (const t of plan.targetTopics) {
    if (!existing.has(t.name)) continue;
    const offsets = await kafka.endOffsets(t.name);
    await admin.deleteTopicRecords({
      topic: t.name,
      partitions: offsets.map((o) => ({ partition: o.partition, offset: String(o.high) })),
    });
    purged.push(t.name);
    log.info({ topic: t.name }, "purged the target topic's records before restoring");
  }
  return purged;
}

export async function ensureTopics(
  kafka: KafkaClient,
  plan: RestorePlan,
  options: Pick<RestoreOptions, "createTopics" | "replicationFactor">,
): Promise<void> {
  const admin = await kafka.admin();
  const existing = new Set(await admin.listTopics());
  const missing = plan.targetTopics.filter((t) => !existing.has(t.name));
  if (missing.length && !options.createTopics) {
    throw new RestoreError(
      "TargetTopicMissing",
      `target topics ${missing.map((t) => t.name).join(", ")} do not exist; set createTopics`,
    );
  }
  if (missing.length) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.name,
        numPartitions: t.partitionCount,
        replicationFactor:
          options.replicationFactor && options.replicationFactor > 0 ? options.replicationFactor : (t.replicationFactor ?? -1),
        configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  const { topics } = await admin.fetchTopicMetadata({ topics: plan.targetTopics.map((t) => t.name) });
  for (const t of plan.targetTopics) {
    const have = topics.find((m) => m.name === t.name)?.partitions.length ?? 0;
    if (have < t.partitionCount) {
      throw new RestoreError(
        "TargetTopicTooSmall",
        `target topic ${t.name} has ${have} partitions; the restore needs ${t.partitionCount}`,
      );
    }
  }
}
