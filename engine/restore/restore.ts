// Restoring a backup set into Kafka, following a RestorePlan. Records are produced with our own
// record batches (headers exactly as backed up) and an idempotent producer id, so a retried
// batch is never stored twice. A restore that stops (killed, cancelled) and runs again skips
// exactly what its target partitions already hold: its checkpoint records each target
// partition's end offset before the first write, and records are produced in one deterministic
// order, so "already written" is the target's growth since then.
import { setTimeout as sleep } from "node:timers/promises";
import { readManifest, readSegment } from "../backupset/catalog.ts";
import type { BackupRecord } from "../format/record.ts";
import { type KafkaClient, retriableFetchErrors } from "../kafka/client.ts";
import { javaPartition } from "../kafka/partitioner.ts";
import { encodeRecordBatch } from "../kafka/record-batch-encoder.ts";
import { type Logger, silentLogger } from "../log.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { ObjectNotFoundError } from "../storage/errors.ts";
import { planRestore, type RestorePlan, type RestoreSelection, selected, targetPartition } from "./plan.ts";

export interface RestoreOptions {
  backupId: string;
  /** Names the restore's checkpoint; a rerun with the same id resumes. */
  restoreId: string;
  selection: RestoreSelection;
  createTopics?: boolean;
  replicationFactor?: number;
  encryptionKey?: Buffer;
  /** Records per produced batch (and per request). */
  batchRecords?: number;
  /** Kafka compression id for produced batches: 0 none … 4 zstd. */
  compression?: number;
  signal?: AbortSignal;
  log?: Logger;
}

export interface RestoreResult {
  restoreId: string;
  records: number;
  skippedAsAlreadyRestored: number;
  targetTopics: string[];
  durationMs: number;
  cancelled: boolean;
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
  completed: boolean;
}

const checkpointKey = (backupId: string, restoreId: string) => `${backupId}/restores/${restoreId}/checkpoint.json`;
const tp = (topic: string, partition: number) => `${topic}/${partition}`;

export async function runRestore(kafka: KafkaClient, store: StorageBackend, options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const log = (options.log ?? silentLogger).child({ backupId: options.backupId, restoreId: options.restoreId });
  const manifest = await readManifest(store, options.backupId);
  const plan = planRestore(manifest, options.selection);
  const admin = await kafka.admin();
  await ensureTopics(kafka, plan, options);

  // Where each target partition stood before this restore first wrote to it.
  const key = checkpointKey(options.backupId, options.restoreId);
  let checkpoint = await loadCheckpoint(store, key);
  const ends = new Map<string, number>();
  for (const t of plan.targetTopics) {
    for (const p of await admin.fetchTopicOffsets(t.name)) ends.set(tp(t.name, p.partition), Number(p.high));
  }
  if (!checkpoint) {
    checkpoint = {
      format: "kafka-backup-operator/restore-checkpoint",
      restoreId: options.restoreId,
      backupId: options.backupId,
      startOffsets: Object.fromEntries(ends),
      completed: false,
    };
    await store.put(key, Buffer.from(JSON.stringify(checkpoint)));
  }
  const alreadyWritten = new Map<string, number>();
  for (const [target, end] of ends) alreadyWritten.set(target, end - (checkpoint.startOffsets[target] ?? end));

  const { producerId, producerEpoch } = await kafka.initProducerId();
  const sequences = new Map<string, number>();
  const buffers = new Map<string, BackupRecord[]>();
  const skipped = new Map<string, number>();
  let records = 0;
  let skippedTotal = 0;
  const batchRecords = options.batchRecords ?? 1000;

  const send = async (target: string, batch: BackupRecord[]) => {
    const [topic, partitionText] = [target.slice(0, target.lastIndexOf("/")), target.slice(target.lastIndexOf("/") + 1)];
    const partition = Number(partitionText);
    const sequence = sequences.get(target) ?? 0;
    const bytes = await encodeRecordBatch(batch, { producerId, producerEpoch, baseSequence: sequence }, options.compression ?? 4);
    for (let attempt = 1; ; attempt++) {
      const leader = (await kafka.leaders([topic], attempt > 1)).get(topic)?.get(partition);
      const result =
        leader === undefined
          ? { errorCode: 5 }
          : await kafka.produce(leader, topic, partition, bytes, { acks: -1, timeoutMs: 30_000 }).catch((err: Error) => {
              log.warn({ target, err: err.message }, "produce failed; resending the same batch");
              return { errorCode: 13 };
            });
      // 46 = DUPLICATE_SEQUENCE_NUMBER: an earlier attempt of this very batch was stored.
      if (result.errorCode === 0 || result.errorCode === 46) break;
      if (!retriableFetchErrors.has(result.errorCode) || attempt > 20) {
        throw new RestoreError("KafkaError", `produce to ${target} failed with Kafka error code ${result.errorCode}`);
      }
      await sleep(Math.min(5000, 200 * 2 ** attempt));
    }
    sequences.set(target, sequence + batch.length);
    records += batch.length;
  };

  let cancelled = false;
  outer: for (const p of [...plan.partitions].sort(
    (a, b) => a.sourceTopic.localeCompare(b.sourceTopic) || a.sourcePartition - b.sourcePartition,
  )) {
    for (const segment of p.segments) {
      if (options.signal?.aborted) {
        cancelled = true;
        break outer;
      }
      const segmentRecords = await readSegment(
        store,
        segment,
        options.encryptionKey ? { encryptionKey: options.encryptionKey } : {},
      );
      for (const r of segmentRecords) {
        if (!selected(r, p, plan.window)) continue;
        const target = tp(p.targetTopic, targetPartition(p.routing, r, p.sourcePartition, javaPartition));
        const done = skipped.get(target) ?? 0;
        if (done < (alreadyWritten.get(target) ?? 0)) {
          skipped.set(target, done + 1);
          skippedTotal++;
          continue;
        }
        const buffer = buffers.get(target) ?? [];
        buffer.push(r);
        buffers.set(target, buffer);
        if (buffer.length >= batchRecords) {
          buffers.set(target, []);
          await send(target, buffer);
        }
      }
    }
    // Each source partition ends with its batches sent: progress is never ahead of Kafka.
    for (const [target, buffer] of buffers) {
      if (!buffer.length) continue;
      buffers.set(target, []);
      await send(target, buffer);
    }
  }
  if (!cancelled) await store.put(key, Buffer.from(JSON.stringify({ ...checkpoint, completed: true })));
  const result: RestoreResult = {
    restoreId: options.restoreId,
    records,
    skippedAsAlreadyRestored: skippedTotal,
    targetTopics: plan.targetTopics.map((t) => t.name),
    durationMs: Date.now() - started,
    cancelled,
  };
  log.info(result, cancelled ? "restore stopped; rerun to resume" : "restore completed");
  return result;
}

async function loadCheckpoint(store: StorageBackend, key: string): Promise<RestoreCheckpoint | undefined> {
  try {
    return JSON.parse((await store.getBuffer(key)).body.toString("utf8")) as RestoreCheckpoint;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

async function ensureTopics(kafka: KafkaClient, plan: RestorePlan, options: RestoreOptions): Promise<void> {
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
        replicationFactor: options.replicationFactor ?? t.replicationFactor ?? -1,
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
