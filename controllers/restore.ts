// The KafkaRestore controller. It watches KafkaRestores; runs each one once (a dry run checks
// and plans, a restore writes), outside the reconcile, with progress in status; resumes a
// restore a dead controller left Running from its checkpoint; and reports consumer-group offsets
// per group. A finished restore never runs again on its own: editing its spec changes nothing
// (an Event says so); a new value of the annotation kafka.oso.sh/retry resumes a failed one. With
// `execution.mode: job` the restore runs as an Indexed Job of workers, followed from the shards'
// reports and the Job's status.
import type { KafkaRestoreSpec, KafkaRestoreStatus } from "../crds/generated/types.ts";
import { readManifest } from "../engine/backupset/catalog.ts";
import { type BackupSource, resolveBackupSource, warnIfIncomplete } from "../engine/k8s/backup-source.ts";
import { openSharedStorage } from "../engine/k8s/clients.ts";
import type { Action, Context } from "../engine/k8s/controller.ts";
import { runController } from "../engine/k8s/controller.ts";
import {
  deleteWorkerJob,
  ensureWorkerJob,
  inspectWorkerJob,
  JobRejectedError,
  jobMode,
  recordingSecretReader,
  workerJob,
  workerJobName,
} from "../engine/k8s/jobs.ts";
import { loadRollbackSnapshot, type PersistedSnapshot, persistOffsetSnapshot } from "../engine/k8s/offset-snapshots.ts";
import { type CustomResource, keyOf } from "../engine/k8s/resource.ts";
import { failValidation, waitForConfiguration, writeFinalStatus } from "../engine/k8s/status.ts";
import { KafkaClient } from "../engine/kafka/client.ts";
import { kafkaFailureReason } from "../engine/kafka/errors.ts";
import { resolveKafkaCluster } from "../engine/kafka/spec.ts";
import { rollbackOffsets } from "../engine/offsets/reset.ts";
import { snapshotIdFor } from "../engine/offsets/snapshot.ts";
import { dryRunRestore } from "../engine/restore/dry-run.ts";
import { carriedGroupIds } from "../engine/restore/groups.ts";
import { readOffsetMapping } from "../engine/restore/offset-mapping.ts";
import { planRestore, RestorePlanError } from "../engine/restore/plan.ts";
import { type RestoreProgress, type RestoreResult, restoreDir, runRestore } from "../engine/restore/restore.ts";
import { describeSourceTopicChange } from "../engine/restore/source-topics.ts";
import { restoreOptionsFromSpec, restoreSelection } from "../engine/restore/spec.ts";
import { clearShardReports } from "../engine/shards/report.ts";

// ── What it watches ────────────────────────────────────────────────────────────────────────────

type KafkaRestore = CustomResource<KafkaRestoreSpec, KafkaRestoreStatus>;
type Ctx = Context<KafkaRestoreSpec, KafkaRestoreStatus>;

const pvcMountRoot = process.env.PVC_MOUNT_ROOT ?? "/data";
const retryAnnotation = "kafka.oso.sh/retry";
const finished = new Set(["Completed", "Failed", "RolledBack"]);

/** One restore id per object: a resumed or retried run continues the same checkpoint. */
export const restoreIdOf = (o: KafkaRestore) =>
  `${o.metadata.namespace}.${o.metadata.name}.${(o.metadata.uid ?? "").slice(0, 8)}`;

// ── How it decides ─────────────────────────────────────────────────────────────────────────────

async function reconcile(o: KafkaRestore, ctx: Ctx): Promise<Action> {
  const status = o.status ?? {};
  if (ctx.work.running(keyOf(o))) return { requeueAfterMs: 30_000 };

  const retry = o.metadata.annotations?.[retryAnnotation];
  if ((status.phase === "Failed" || status.phase === "RolledBack") && retry && retry !== status.retryToken && !o.spec.dryRun) {
    return await start(ctx, o, `retry ${retry}`, { retryToken: retry });
  }
  if (status.phase && finished.has(status.phase)) {
    if (status.observedGeneration !== undefined && status.observedGeneration !== o.metadata.generation) {
      await ignoredEdit(ctx, o);
    }
    return {};
  }
  // Running as a Job: follow it. Left Running by a controller that stopped: continue from the checkpoint.
  if (status.phase === "Running" && status.job?.name) return await followJob(ctx, o);
  if (status.phase === "Running") return await start(ctx, o, "resumed");
  return await start(ctx, o, o.spec.dryRun ? "dry run" : "new");
}

/** The spec of a finished restore changed: say once that nothing runs, and how to run again. */
async function ignoredEdit(ctx: Ctx, o: KafkaRestore): Promise<void> {
  const message =
    "this restore has finished; spec changes do not run it again. Create a new KafkaRestore to restore again, or set the annotation kafka.oso.sh/retry to a new value to resume a failed one";
  await ctx.resources.patchStatus(o, { observedGeneration: o.metadata.generation, message });
  await ctx.events.record(o, "Normal", "SpecChangeIgnored", message);
}

interface Resolved {
  kafka: KafkaClient;
  source: BackupSource;
  /** The Secret keys read in the restore's namespace: what a worker Job mounts. */
  secretRefs: Array<{ secretName: string; key: string }>;
}

async function resolve(ctx: Ctx, o: KafkaRestore): Promise<Resolved> {
  const own = o.metadata.namespace;
  const recorder = recordingSecretReader(ctx.secrets(own));
  const pointInTime = restoreSelection(o.spec).window?.end;
  const source = await resolveBackupSource(
    ctx.kube,
    (ns) => (ns === own ? recorder.read : ctx.secrets(ns)),
    own,
    o.spec.backupRef,
    {
      pvcMountRoot,
      logger: ctx.log,
      // A point-in-time restore by KafkaBackup name reads the first complete set made after its end.
      ...(pointInTime !== undefined ? { pointInTime } : {}),
    },
  );
  const cluster = await resolveKafkaCluster(
    o.spec.kafkaCluster,
    recorder.read,
    `kafka-backup-operator/${o.metadata.namespace}/${o.metadata.name}`,
  );
  return { kafka: new KafkaClient(cluster, ctx.log), source, secretRefs: recorder.refs() };
}

async function start(ctx: Ctx, o: KafkaRestore, why: string, claim: Partial<KafkaRestoreStatus> = {}): Promise<Action> {
  let resolved: Resolved;
  try {
    resolved = await resolve(ctx, o);
  } catch (err) {
    // A missing Secret, KafkaBackup or backup set may appear: look again soon.
    return await waitForConfiguration(ctx, o, err);
  }
  const { backupId } = resolved.source;
  const dryRun = o.spec.dryRun ?? false;
  if (jobMode(o.spec.execution) && !dryRun) return await startJob(ctx, o, why, claim, resolved);
  const message = dryRun ? `dry run of backup ${backupId} running` : `${why} restore of backup ${backupId} running`;
  const claimed = await ctx.resources.patchStatus(
    o,
    {
      ...claim,
      phase: "Running",
      backupId,
      observedGeneration: o.metadata.generation,
      message,
      resumable: !dryRun,
      ...(o.status?.startTime && why === "resumed" ? {} : { startTime: new Date().toISOString() }),
    },
    o.metadata.resourceVersion,
  );
  await ctx.events.record(claimed, "Normal", dryRun ? "DryRunStarted" : "RestoreStarted", message);
  await warnIfIncomplete(ctx, claimed, resolved.source);
  ctx.work.start(
    keyOf(o),
    (signal) => (dryRun ? executeDryRun(ctx, claimed, resolved, signal) : execute(ctx, claimed, resolved, signal)),
    ctx.shutdown,
  );
  return { requeueAfterMs: 30_000 };
}

/** The restore's Indexed Job: its spec reads the backup from storage directly, with the same ids in every pod. */
function restoreJob(o: KafkaRestore, r: Resolved, retry: string | undefined) {
  const { execution, ...spec } = o.spec;
  const { backupId, storage, encryptionKeySecret: key } = r.source;
  return workerJob({
    // A retry is a new Job; it resumes the same restore id.
    name: workerJobName(o.metadata.name, `${restoreIdOf(o)}/${retry ?? ""}`),
    owner: o,
    operation: "restore",
    image: process.env.WORKER_IMAGE ?? "",
    spec: { ...spec, backupRef: { storage, backupId } },
    args: [
      "--backup-id",
      backupId,
      "--restore-id",
      restoreIdOf(o),
      ...(key ? ["--encryption-key-secret", `${key.name}/${key.key}`] : []),
    ],
    secrets: r.secretRefs,
    execution: execution ?? {},
    ...(storage.storageType === "pvc" && storage.pvc ? { pvcClaim: storage.pvc.claimName } : {}),
  });
}

async function startJob(
  ctx: Ctx,
  o: KafkaRestore,
  why: string,
  claim: Partial<KafkaRestoreStatus>,
  r: Resolved,
): Promise<Action> {
  const { backupId } = r.source;
  const backupNamespace = r.source.kafkaBackup?.split("/")[0];
  const problem = !process.env.WORKER_IMAGE
    ? "spec.execution.mode job: this controller has no worker image (the WORKER_IMAGE variable, which the Pulumi component and deploy/ set)"
    : backupNamespace && backupNamespace !== o.metadata.namespace
      ? `spec.execution.mode job: KafkaBackup ${r.source.kafkaBackup} keeps its Secrets in namespace ${backupNamespace}, and worker pods mount Secrets of their own namespace only: run the restore in ${backupNamespace}, or give spec.backupRef.storage with Secrets in ${o.metadata.namespace}`
      : undefined;
  if (problem) {
    await r.kafka.close();
    return await failValidation(ctx, o, "InvalidExecution", problem);
  }
  try {
    await snapshotBeforeRestore(ctx, o, r);
  } catch (err) {
    await r.kafka.close();
    await fail(ctx, o, err, backupId);
    return {};
  }
  await r.kafka.close();
  const job = restoreJob(o, r, claim.retryToken ?? o.status?.retryToken);
  const workers = job.spec?.completions ?? 1;
  // A retry finds the failed run's reports: they must not judge the new one.
  await clearShardReports(r.source.store, restoreDir(backupId, restoreIdOf(o)), workers);
  const message = `${why} restore of backup ${backupId} running as Job ${job.metadata?.name} with ${workers} workers`;
  const claimed = await ctx.resources.patchStatus(
    o,
    {
      ...claim,
      phase: "Running",
      backupId,
      observedGeneration: o.metadata.generation,
      message,
      resumable: true,
      job: { name: job.metadata?.name as string, workers, active: 0, succeeded: 0, failed: 0 },
      ...(o.status?.startTime && why === "resumed" ? {} : { startTime: new Date().toISOString() }),
    },
    o.metadata.resourceVersion,
  );
  // A rejected Job fails the run at the next look (followJob), with the API server's message.
  await ensureWorkerJob(ctx.kube, job).catch((err: Error) => {
    if (!(err instanceof JobRejectedError)) throw err;
  });
  await ctx.events.record(claimed, "Normal", "RestoreStarted", message);
  await warnIfIncomplete(ctx, claimed, r.source);
  return { requeueAfterMs: 2_000 };
}

/** A restore executing as a Job: aggregate the shards' reports into status; finish or fail it. */
async function followJob(ctx: Ctx, o: KafkaRestore): Promise<Action> {
  let r: Resolved;
  try {
    r = await resolve(ctx, o);
  } catch (err) {
    return await waitForConfiguration(ctx, o, err);
  }
  try {
    return await followJobWith(ctx, o, r);
  } finally {
    await r.kafka.close();
  }
}

async function followJobWith(ctx: Ctx, o: KafkaRestore, r: Resolved): Promise<Action> {
  const { namespace } = o.metadata;
  const backupId = o.status?.backupId ?? r.source.backupId;
  const source = { ...r, source: { ...r.source, backupId } };
  const dir = restoreDir(backupId, restoreIdOf(o));
  const { name, verdict, shards } = await inspectWorkerJob(ctx.kube, o, r.source.store, dir, () =>
    restoreJob(o, source, o.status?.retryToken),
  );
  const labels = { resource_namespace: namespace, name: o.metadata.name };
  if (verdict.state === "running") {
    await ctx.resources.patchStatus(o, {
      job: verdict.job,
      recordsRestored: shards.records,
      bytesRestored: shards.bytes,
      progressPercent: Math.round(shards.percent * 10) / 10,
      lastCheckpointTime: new Date().toISOString(),
    });
    return { requeueAfterMs: 2_000 };
  }
  if (verdict.state === "failed") {
    await deleteWorkerJob(ctx.kube, namespace, name);
    ctx.metrics.restores.inc({ outcome: "failure", ...labels });
    await ctx.resources.patchStatus(o, { job: verdict.job });
    let failure = Object.assign(new Error(verdict.message), { reason: verdict.reason });
    let snapshot: PersistedSnapshot | undefined;
    try {
      snapshot = o.spec.rollback?.autoRollbackOnFailure ? await takenSnapshot(ctx, o) : undefined;
    } catch (err) {
      const message = `${verdict.message}; the offset snapshot could not be read for autoRollbackOnFailure: ${(err as Error).message}`;
      failure = Object.assign(new Error(message), { reason: verdict.reason });
    }
    if (snapshot) await rollBack(ctx, o, r, snapshot, failure);
    else await fail(ctx, o, failure, backupId);
    return {};
  }
  const reportKey = `${dir}/offset-mapping.json`;
  const report = await readOffsetMapping(r.source.store, reportKey);
  const started = Date.parse(o.status?.startTime ?? "") || Date.now();
  const records = report.partitions.reduce((n, p) => n + p.records, 0);
  await finish(
    ctx,
    o,
    r.source.store,
    {
      restoreId: restoreIdOf(o),
      backupId,
      records,
      skippedAsAlreadyRestored: 0,
      bytes: shards.bytes,
      segments: 0,
      targetTopics: [...new Set(report.partitions.map((p) => p.targetTopic))],
      purgedTopics: [],
      durationMs: Date.now() - started,
      cancelled: false,
      offsetMappingKey: reportKey,
      consumerGroups: report.consumerGroups,
    },
    { job: verdict.job },
  );
  return {};
}

// ── What it writes ─────────────────────────────────────────────────────────────────────────────

async function executeDryRun(ctx: Ctx, o: KafkaRestore, r: Resolved, signal: AbortSignal): Promise<void> {
  try {
    const plan = await dryRunRestore(r.kafka, r.source.store, {
      ...restoreOptionsFromSpec(o.spec),
      backupId: r.source.backupId,
      ...(r.source.encryptionKey ? { encryptionKey: r.source.encryptionKey } : {}),
      signal,
    });
    const status: Partial<KafkaRestoreStatus> = {
      completionTime: new Date().toISOString(),
      recordsTotal: plan.recordsTotal,
      segmentsProcessed: plan.segmentsChecked,
      resumable: false,
      // The status schema's plan has no per-set counts (the console shows them): not written, so nothing is pruned.
      plan: plan.topics.map((t) => ({ ...t, partitions: t.partitions.map(({ sets: _, ...p }) => p) })),
    };
    if (plan.problems.length) {
      const message = `dry run found ${plan.problems.length} problem(s): ${plan.problems.join("; ")}`;
      await writeFinalStatus(
        ctx,
        o,
        { ...status, phase: "Failed", message },
        {
          status: "False",
          reason: "ValidationFailed",
          message,
        },
      );
      await ctx.events.record(o, "Warning", "ValidationFailed", message);
      return;
    }
    const message = `dry run passed: ${plan.recordsTotal} records in ${plan.topics.length} topics would be restored (${plan.segmentsChecked} segments read, checksums valid); nothing was written`;
    await writeFinalStatus(
      ctx,
      o,
      { ...status, phase: "Completed", progressPercent: 100, message },
      {
        status: "True",
        reason: "DryRunPassed",
        message,
      },
    );
    await ctx.events.record(o, "Normal", "DryRunPassed", message);
  } catch (err) {
    if (signal.aborted) return;
    await fail(ctx, o, err, r.source.backupId);
  } finally {
    await r.kafka.close();
  }
}

async function execute(ctx: Ctx, o: KafkaRestore, r: Resolved, signal: AbortSignal): Promise<void> {
  const { namespace, name } = o.metadata;
  const labels = { resource_namespace: namespace, name };
  const endTimer = ctx.metrics.restoreDuration.startTimer(labels);
  let lastWrite = 0;
  // Progress writes go one at a time and end before the final status, which they never overwrite.
  let progressWrites: Promise<unknown> = Promise.resolve();
  let done = false;
  const onProgress = (p: RestoreProgress) => {
    if (done || Date.now() - lastWrite < 2000) return;
    lastWrite = Date.now();
    progressWrites = progressWrites
      .then(() => (done ? undefined : ctx.resources.patchStatus(o, progressStatus(p))))
      .catch((err: Error) => ctx.log.warn({ err: err.message }, "progress status write failed"));
  };
  let result: RestoreResult;
  let snapshot: PersistedSnapshot | undefined;
  try {
    snapshot = await snapshotBeforeRestore(ctx, o, r);
    result = await runRestore(r.kafka, r.source.store, {
      ...restoreOptionsFromSpec(o.spec),
      backupId: r.source.backupId,
      restoreId: restoreIdOf(o),
      ...(r.source.encryptionKey ? { encryptionKey: r.source.encryptionKey } : {}),
      signal,
      log: ctx.log,
      onProgress,
    });
  } catch (err) {
    done = true;
    await progressWrites;
    endTimer();
    if (signal.aborted) return void (await stopped(ctx, o, signal));
    ctx.metrics.restores.inc({ outcome: "failure", ...labels });
    if (snapshot && o.spec.rollback?.autoRollbackOnFailure) return void (await rollBack(ctx, o, r, snapshot, err));
    return void (await fail(ctx, o, err, r.source.backupId));
  } finally {
    done = true;
    await progressWrites;
    await r.kafka.close();
  }
  endTimer();
  if (result.cancelled) return void (await stopped(ctx, o, signal));
  await finish(ctx, o, r.source.store, result);
}

/** A restore that completed (in process or as a Job): the final status, per-group Events, metrics. */
async function finish(
  ctx: Ctx,
  o: KafkaRestore,
  store: BackupSource["store"],
  result: RestoreResult,
  extra: Partial<KafkaRestoreStatus> = {},
): Promise<void> {
  const labels = { resource_namespace: o.metadata.namespace, name: o.metadata.name };
  ctx.metrics.restores.inc({ outcome: "success", ...labels });
  const groups = result.consumerGroups.map((g) => ({
    groupId: g.groupId,
    committed: g.committed,
    partitions: g.target.length,
    ...(g.error ? { error: g.error } : {}),
  }));
  const notCommitted = groups.filter((g) => g.error);
  const seconds = Math.max(0.001, result.durationMs / 1000);
  const message =
    `restored ${result.records} records (${result.bytes} bytes) of backup ${result.backupId} into ${result.targetTopics.join(", ")}` +
    (result.skippedAsAlreadyRestored ? `, ${result.skippedAsAlreadyRestored} of them found already restored` : "") +
    (groups.length ? `; consumer groups: ${groups.length - notCommitted.length} of ${groups.length} carried over` : "") +
    (result.sourceTopics?.length ? `; ${result.sourceTopics.map(describeSourceTopicChange).join("; ")}` : "");
  await writeFinalStatus(
    ctx,
    o,
    {
      phase: "Completed",
      message,
      completionTime: new Date().toISOString(),
      progressPercent: 100,
      etaMs: 0,
      recordsRestored: result.records,
      recordsTotal: result.records,
      bytesRestored: result.bytes,
      segmentsProcessed: result.segments,
      throughputRecordsPerSec: Math.round(result.records / seconds),
      throughputBytesPerSec: Math.round(result.bytes / seconds),
      resumable: false,
      lastCheckpointTime: new Date().toISOString(),
      ...(result.offsetMappingKey ? { offsetMappingPath: store.location(result.offsetMappingKey) } : {}),
      consumerGroups: groups,
      ...extra,
    },
    { status: "True", reason: "RestoreSucceeded", message },
  );
  for (const g of notCommitted) {
    await ctx.events.record(o, "Warning", "ConsumerGroupNotCommitted", `consumer group ${g.groupId}: ${g.error}`);
  }
  for (const t of result.sourceTopics ?? []) {
    await ctx.events.record(o, "Warning", "SourceTopicChanged", describeSourceTopicChange(t));
  }
  await ctx.events.record(o, "Normal", "RestoreSucceeded", message);
}

/**
 * rollback.snapshotBeforeRestore: the committed offsets of the groups this restore will move,
 * stored before anything is written (in the snapshot claim, else a ConfigMap the restore owns) and
 * referenced in status.rollback, for a KafkaOffsetRollback (restoreRef) or autoRollbackOnFailure.
 * Taken once: a resumed restore keeps the first snapshot.
 */
async function snapshotBeforeRestore(ctx: Ctx, o: KafkaRestore, r: Resolved): Promise<PersistedSnapshot | undefined> {
  const rollback = o.spec.rollback;
  if (!rollback || rollback.snapshotBeforeRestore === false || o.status?.rollback) return undefined;
  const { namespace, name } = o.metadata;
  const options = restoreOptionsFromSpec(o.spec);
  const plan = planRestore(await readManifest(r.source.store, r.source.backupId), options.selection);
  const groups = await carriedGroupIds(r.source.store, r.source.backupId, options.consumerGroups, plan);
  const claim = rollback.snapshotStorage;
  const target = claim
    ? {
        store: await openSharedStorage(
          { storageType: "pvc", pvc: { claimName: claim.pvcName, ...(claim.subPath ? { subPath: claim.subPath } : {}) } },
          ctx.secrets(namespace),
          { pvcMountRoot, logger: ctx.log },
        ),
      }
    : { configMapOwner: o };
  const at = new Date();
  const persisted = await persistOffsetSnapshot(ctx.kube, r.kafka, groups, target, {
    snapshotId: snapshotIdFor(name, at),
    takenFor: `KafkaRestore ${namespace}/${name}`,
  });
  const hours = rollback.snapshotRetentionHours ?? 24;
  await ctx.resources.patchStatus(o, {
    rollback: {
      snapshotId: persisted.snapshotId,
      snapshotTime: at.toISOString(),
      snapshotPath: persisted.path,
      rollbackAvailable: true,
      expiresAt: new Date(at.getTime() + hours * 3_600_000).toISOString(),
    },
  });
  await ctx.events.record(
    o,
    "Normal",
    "OffsetSnapshotTaken",
    `offsets of ${groups.length} consumer groups stored before the restore (${persisted.path})`,
  );
  return persisted;
}

/** The snapshot this restore took before its Job started (status.rollback), read back. */
async function takenSnapshot(ctx: Ctx, o: KafkaRestore): Promise<PersistedSnapshot | undefined> {
  const taken = o.status?.rollback;
  if (!taken?.snapshotPath || !taken.snapshotId) return undefined;
  const { snapshot } = await loadRollbackSnapshot(
    ctx.kube,
    o.metadata.namespace,
    { name: taken.snapshotId, restoreRef: o.metadata.name },
    { pvcMountRoot, logger: ctx.log },
  );
  return { snapshotId: taken.snapshotId, path: taken.snapshotPath, snapshot };
}

/** autoRollbackOnFailure: the groups' offsets go back to the snapshot; the phase says RolledBack. */
async function rollBack(ctx: Ctx, o: KafkaRestore, r: Resolved, snapshot: PersistedSnapshot, cause: unknown): Promise<void> {
  const failure = `restore of backup ${r.source.backupId} failed: ${(cause as Error).message}`;
  try {
    const result = await rollbackOffsets(r.kafka, snapshot.snapshot, { log: ctx.log });
    const verified = result.verification?.allMatched ?? false;
    const message = `${failure}; consumer group offsets rolled back to snapshot ${snapshot.snapshotId}${verified ? " (verified)" : ` (mismatches: ${result.verification?.mismatchedGroups.join(", ")})`}`;
    await writeFinalStatus(
      ctx,
      o,
      { phase: "RolledBack", message, completionTime: new Date().toISOString(), resumable: true },
      {
        status: "False",
        reason: (cause as { reason?: string }).reason ?? "RestoreFailed",
        message,
      },
    );
    await ctx.events.record(o, "Warning", "RolledBack", message);
  } catch (err) {
    await fail(
      ctx,
      o,
      new Error(`${(cause as Error).message}; the offset rollback failed too: ${(err as Error).message}`),
      r.source.backupId,
    );
  }
}

function progressStatus(p: RestoreProgress): Partial<KafkaRestoreStatus> {
  return {
    progressPercent: p.percent,
    recordsRestored: p.recordsRestored,
    bytesRestored: p.bytesRestored,
    segmentsProcessed: p.segmentsProcessed,
    ...(p.currentTopic ? { currentTopic: p.currentTopic } : {}),
    throughputRecordsPerSec: Math.round(p.recordsPerSec),
    throughputBytesPerSec: Math.round(p.bytesPerSec),
    ...(p.etaMs !== undefined ? { etaMs: p.etaMs } : {}),
    lastCheckpointTime: new Date().toISOString(),
  };
}

async function fail(ctx: Ctx, o: KafkaRestore, err: unknown, backupId: string): Promise<void> {
  if (err instanceof RestorePlanError) {
    await failValidation(ctx, o, err.reason, err.message);
    return;
  }
  const reason = (err as { reason?: string }).reason ?? kafkaFailureReason(err) ?? "RestoreFailed";
  const message = `restore of backup ${backupId} failed: ${(err as Error).message}`;
  await writeFinalStatus(
    ctx,
    o,
    { phase: "Failed", message, completionTime: new Date().toISOString(), resumable: !o.spec.dryRun },
    { status: "False", reason, message },
  ).catch((e: Error) => ctx.log.error({ err: e.message }, "could not record the failure"));
  await ctx.events.record(o, "Warning", reason, message);
}

/** Cancelled by deletion or shutdown: on shutdown the phase stays Running and the next controller resumes. */
async function stopped(ctx: Ctx, o: KafkaRestore, signal: AbortSignal): Promise<void> {
  const why = signal.reason instanceof Error ? signal.reason.message : "stopped";
  ctx.log.info({ why }, "restore stopped at its checkpoint");
  if (why !== "shutdown") {
    await ctx.events.record(o, "Normal", "RestoreStopped", `restore stopped (${why}); resumable from its checkpoint`);
  }
}

async function finalize(o: KafkaRestore, ctx: Ctx): Promise<void> {
  if (o.status?.job?.name) await deleteWorkerJob(ctx.kube, o.metadata.namespace, o.status.job.name);
}

if (import.meta.main) {
  await runController<KafkaRestoreSpec, KafkaRestoreStatus>({
    kind: { group: "kafka.oso.sh", version: "v1alpha1", plural: "kafkarestores", kind: "KafkaRestore" },
    finalizer: "kafka.oso.sh/restore-finalizer",
    component: "kafka-restore-controller",
    metricsKind: "KafkaRestore",
    reconcile,
    finalize,
  });
}

export { finalize, reconcile };
