// The KafkaBackup controller. It watches KafkaBackups; decides whether a run is due (one-shot,
// cron schedule, or continuous), claims each scheduled tick exactly once with a conditional
// status write, and runs the backup engine outside the reconcile, writing progress, results and
// retention to status. With `execution.mode: job` a run is an Indexed Job of workers instead; the
// controller follows it from the shards' reports and the Job's status. Deleting the resource
// cancels its run; data stays unless `deletionPolicy: Delete`.
import type { KafkaBackupSpec, KafkaBackupStatus } from "../crds/generated/types.ts";
import { type ChainPlan, type ChainPolicy, planOptions, prepareChainPlan } from "../engine/backup/chain.ts";
import type { BackupProgress, BackupResult } from "../engine/backup/engine.ts";
import { kafkaBackupSetId } from "../engine/backup/layout.ts";
import { LeaseHeldError } from "../engine/backup/lease.ts";
import { BackupMetrics } from "../engine/backup/metrics.ts";
import { applyRetention, deleteOwnedSets, discardIfEmpty } from "../engine/backup/retention.ts";
import { optionsFromSpec } from "../engine/backup/spec.ts";
import { type DeletedTopic, describeDeleted, describeRecreated, type RecreatedTopic } from "../engine/backup/topic-changes.ts";
import { readSetManifest, summarize } from "../engine/backupset/catalog.ts";
import { parseEncryptionKey } from "../engine/cli/spec.ts";
import { setOwnerOf } from "../engine/k8s/backup-source.ts";
import { openSharedStorage, sharedStorage } from "../engine/k8s/clients.ts";
import { setCondition } from "../engine/k8s/conditions.ts";
import { type Action, type Context, runController } from "../engine/k8s/controller.ts";
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
import { type CustomResource, keyOf } from "../engine/k8s/resource.ts";
import { dueTick, parseSchedule, ScheduleError } from "../engine/k8s/schedule.ts";
import { failValidation, suspend, waitForConfiguration, writeFinalStatus, writeStatus } from "../engine/k8s/status.ts";
import type { KafkaClient } from "../engine/kafka/client.ts";
import type { KafkaClusterConfig } from "../engine/kafka/config.ts";
import { kafkaFailureReason } from "../engine/kafka/errors.ts";
import { resolveKafkaCluster } from "../engine/kafka/spec.ts";
import type { StorageBackend } from "../engine/storage/backend.ts";
import type { StorageCredentials } from "../engine/storage/config.ts";
import { checkStorage } from "../engine/storage/open.ts";

// ── What it watches ────────────────────────────────────────────────────────────────────────────

type KafkaBackup = CustomResource<KafkaBackupSpec, KafkaBackupStatus>;
type Ctx = Context<KafkaBackupSpec, KafkaBackupStatus>;

const pvcMountRoot = process.env.PVC_MOUNT_ROOT ?? "/data";
/** Keys whose last run failed or found its set locked: no new start before this time. */
const notBefore = new Map<string, number>();
/** A new value resumes a failed one-shot backup (the same annotation as KafkaRestore's). */
const retryAnnotation = "kafka.oso.sh/retry";
/** A new value makes the next scheduled set a full one: a new chain. */
const fullBackupAnnotation = "kafka.oso.sh/full-backup";

// ── How it decides ─────────────────────────────────────────────────────────────────────────────

async function reconcile(o: KafkaBackup, ctx: Ctx): Promise<Action> {
  const key = keyOf(o);
  const status = o.status ?? {};
  const spec = o.spec;
  const now = new Date();
  const running = ctx.work.running(key);

  if (spec.suspend) {
    if (status.phase === "Running" && status.job?.name) await deleteWorkerJob(ctx.kube, o.metadata.namespace, status.job.name);
    return await suspend(ctx, o, "backup");
  }
  if (jobMode(spec.execution) && spec.continuous) {
    return await failValidation(
      ctx,
      o,
      "InvalidExecution",
      "spec.execution.mode job runs one-shot and scheduled backups; a continuous backup runs in process: remove spec.continuous or spec.execution",
    );
  }
  // A run executing as a Job: follow it.
  if (status.phase === "Running" && status.job?.name && status.backupId) return await followJob(ctx, o, status.backupId);
  let schedule: ReturnType<typeof parseSchedule> | undefined;
  try {
    schedule = spec.schedule ? parseSchedule(spec.schedule, spec.timeZone) : undefined;
  } catch (err) {
    if (err instanceof ScheduleError) return await failValidation(ctx, o, err.reason, err.message);
    throw err;
  }
  const wait = (notBefore.get(key) ?? 0) - now.getTime();
  if (!running && wait > 0 && (spec.continuous || status.phase === "Running")) return { requeueAfterMs: wait };
  if (running) {
    // A tick during a run: Forbid (default) lets the run finish; Replace starts the new tick now.
    const anchor = new Date(status.lastScheduleTime ?? o.metadata.creationTimestamp);
    if (!(schedule && spec.concurrencyPolicy === "Replace" && dueTick(schedule, anchor, now).tick))
      return { requeueAfterMs: 30_000 };
    await ctx.work.cancel(key, "replaced by the next scheduled run");
    const latest = await ctx.resources.get(o.metadata.namespace, o.metadata.name);
    return await reconcile({ ...latest, status: { ...latest.status, phase: "Completed" } }, ctx);
  }

  // A run this controller (or a replica that died) left Running resumes into the same set.
  if (status.phase === "Running" && status.backupId) {
    ctx.log.info({ backupId: status.backupId }, "resuming a backup left running");
    return await start(ctx, o, status.backupId, "resumed");
  }

  if (spec.continuous) {
    const backupId = status.backupId ?? kafkaBackupSetId(o.metadata.namespace, o.metadata.name, now);
    return await start(ctx, o, backupId, "continuous", { lastScheduleTime: now.toISOString() });
  }

  if (!schedule) {
    // One-shot: one run per generation of the spec; a failed one resumes its set when retried.
    if (status.observedGeneration === o.metadata.generation && (status.phase === "Completed" || status.phase === "Failed")) {
      const retry = status.phase === "Failed" && status.backupId ? retryDecision(o, now) : undefined;
      if (retry?.start) return await start(ctx, o, status.backupId as string, retry.why, retry.claim);
      return retry?.afterMs !== undefined ? { requeueAfterMs: retry.afterMs } : {};
    }
    return await start(ctx, o, kafkaBackupSetId(o.metadata.namespace, o.metadata.name, now), "one-shot", {
      lastScheduleTime: now.toISOString(),
      observedGeneration: o.metadata.generation,
      retryCount: 0,
    });
  }

  const anchor = new Date(status.lastScheduleTime ?? o.metadata.creationTimestamp);
  const due = dueTick(schedule, anchor, now, spec.startingDeadlineSeconds);
  if (due.missed) {
    await ctx.resources.patchStatus(o, { lastScheduleTime: due.missed.toISOString() }, o.metadata.resourceVersion);
    await ctx.events.record(
      o,
      "Warning",
      "MissedSchedule",
      `skipped the ${due.missed.toISOString()} run: past startingDeadlineSeconds`,
    );
  } else if (due.tick) {
    // The conditional write claims the tick: a second replica or a stale cache gets 409.
    return await start(ctx, o, kafkaBackupSetId(o.metadata.namespace, o.metadata.name, due.tick), "scheduled", {
      lastScheduleTime: due.tick.toISOString(),
      observedGeneration: o.metadata.generation,
      ...(due.next ? { nextScheduledBackup: due.next.toISOString() } : {}),
    });
  }
  if (
    status.phase === undefined ||
    status.phase === "Pending" ||
    status.phase === "Suspended" ||
    status.observedGeneration !== o.metadata.generation
  ) {
    // Waiting for the first tick: check the Secrets now rather than when it comes.
    try {
      await resolve(ctx, o);
    } catch (err) {
      return await waitForConfiguration(ctx, o, err);
    }
    await writeStatus(
      ctx,
      o,
      {
        phase: "Ready",
        message: "schedule active",
        observedGeneration: o.metadata.generation,
        ...(due.next ? { nextScheduledBackup: due.next.toISOString() } : {}),
      },
      { status: "True", reason: "ScheduleActive", message: `next run ${due.next?.toISOString() ?? "never"}` },
    );
  }
  // Woken at the next tick (a spec change wakes it sooner; the informer's resync is the safety
  // net): a cap of a minute here made 5,000 idle scheduled backups 83 reconciles a second.
  return { requeueAfterMs: due.next ? Math.min(Math.max(0, due.next.getTime() - Date.now()), 15 * 60_000) : 3_600_000 };
}

/**
 * A failed one-shot backup: retried now (a new value of the retry annotation, or spec.retryPolicy's
 * backoff has passed), later, or not at all. Pure.
 */
export function retryDecision(
  o: Pick<KafkaBackup, "metadata" | "spec" | "status">,
  now: Date,
): { start: true; why: string; claim: Partial<KafkaBackupStatus> } | { start: false; afterMs?: number } {
  const status = o.status ?? {};
  const token = o.metadata.annotations?.[retryAnnotation];
  if (token && token !== status.retryToken) return { start: true, why: `retry ${token}`, claim: { retryToken: token } };
  const max = o.spec.retryPolicy?.maxRetries ?? 0;
  const count = status.retryCount ?? 0;
  if (count >= max || !status.nextRetryTime) return { start: false };
  const wait = Date.parse(status.nextRetryTime) - now.getTime();
  if (wait > 0) return { start: false, afterMs: wait };
  return { start: true, why: `retry ${count + 1} of ${max}`, claim: { retryCount: count + 1 } };
}

/** When spec.retryPolicy retries a one-shot backup that just failed; undefined when it does not. */
export function nextRetryTime(o: Pick<KafkaBackup, "spec" | "status">, failedAt: Date): string | undefined {
  const policy = o.spec.retryPolicy;
  const count = o.status?.retryCount ?? 0;
  if (o.spec.schedule || o.spec.continuous || !policy || count >= (policy.maxRetries ?? 0)) return undefined;
  const delay = Math.min((policy.backoffSeconds ?? 30) * 2 ** count, policy.maxBackoffSeconds ?? 3600);
  return new Date(failedAt.getTime() + delay * 1000).toISOString();
}

/** How this run's set joins a chain: scheduled sets chain; one-shot and continuous ones are full. */
export function chainPolicy(o: Pick<KafkaBackup, "metadata" | "spec" | "status">): ChainPolicy {
  if (o.spec.continuous) return { fullBackupEvery: 1, forceFull: "a continuous backup is one growing set" };
  if (!o.spec.schedule) return { fullBackupEvery: 1, forceFull: "a one-shot backup is a full set" };
  const token = o.metadata.annotations?.[fullBackupAnnotation];
  return {
    fullBackupEvery: o.spec.chain?.fullBackupEvery ?? 7,
    ...(token && token !== o.status?.fullBackupToken
      ? { forceFull: `full backup asked for (${fullBackupAnnotation}: ${token})` }
      : {}),
  };
}

/** Status fields of a set's place in its chain. */
const chainStatus = (plan: ChainPlan, o: KafkaBackup): Partial<KafkaBackupStatus> => {
  const token = o.metadata.annotations?.[fullBackupAnnotation];
  return {
    chainId: plan.chain.id,
    baseBackupId: plan.chain.base ?? "",
    ...(token && o.spec.schedule ? { fullBackupToken: token } : {}),
  };
};

async function planSet(o: KafkaBackup, r: Opened, backupId: string, ctx: Ctx, kafka: KafkaClient): Promise<ChainPlan> {
  return await prepareChainPlan(kafka, r.store, {
    backupId,
    owner: setOwnerOf(o),
    selection: optionsFromSpec(o.spec).selection,
    policy: chainPolicy(o),
    ...(r.encryptionKey ? { encryptionKey: r.encryptionKey } : {}),
    log: ctx.log,
  });
}

interface Resolved {
  /** The cluster's settings, Secrets read; the client is made when a run starts. */
  cluster: KafkaClusterConfig;
  /** The storage block's Secret values, read and checked; the backend is built when a run starts. */
  storageCredentials: StorageCredentials;
  encryptionKey?: Buffer;
  /** The Secret keys the spec uses: what a worker Job mounts. */
  secretRefs: Array<{ secretName: string; key: string }>;
}

/** A run's configuration with its storage backend. */
interface Opened extends Resolved {
  store: StorageBackend;
}

/**
 * The Secrets read and every setting checked, without a client: what a scheduled backup's check
 * needs (no storage SDK loads for 1,000 idle KafkaBackups). A missing Secret is a condition and an
 * Event, retried until it exists.
 */
async function resolve(ctx: Ctx, o: KafkaBackup): Promise<Resolved> {
  const recorder = recordingSecretReader(ctx.secrets(o.metadata.namespace));
  const read = recorder.read;
  const { credentials: storageCredentials } = await checkStorage(o.spec.storage, read, pvcMountRoot);
  const cluster = await resolveKafkaCluster(
    o.spec.kafkaCluster,
    read,
    `kafka-backup-operator/${o.metadata.namespace}/${o.metadata.name}`,
  );
  const encryption = o.spec.encryption;
  const encryptionKey = encryption
    ? parseEncryptionKey(
        await read({
          field: "spec.encryption.keySecret",
          secretName: encryption.keySecret.name,
          key: encryption.keySecret.key ?? "key",
        }),
        "spec.encryption.keySecret",
      )
    : undefined;
  return {
    cluster,
    storageCredentials,
    ...(encryptionKey ? { encryptionKey } : {}),
    secretRefs: recorder.refs(),
  };
}

/** Resolved, and the storage backend (its SDK loads here): for a run that starts or is followed. */
async function open(ctx: Ctx, o: KafkaBackup): Promise<Opened> {
  const r = await resolve(ctx, o);
  return { ...r, store: await sharedStorage(o.spec.storage, r.storageCredentials, { pvcMountRoot, logger: ctx.log }) };
}

async function start(
  ctx: Ctx,
  o: KafkaBackup,
  backupId: string,
  why: string,
  claim: Partial<KafkaBackupStatus> = {},
): Promise<Action> {
  const key = keyOf(o);
  let resolved: Opened;
  try {
    resolved = await open(ctx, o);
  } catch (err) {
    return await waitForConfiguration(ctx, o, err);
  }
  if (jobMode(o.spec.execution)) return await startJob(ctx, o, backupId, why, claim, resolved);
  const claimed = await ctx.resources.patchStatus(
    o,
    {
      ...claim,
      phase: "Running",
      backupId,
      ...startTime(o, backupId),
      message: `${why} backup ${backupId} running`,
      resumable: true,
      checkpointEnabled: true,
      conditions: setCondition(
        o.status?.conditions,
        { type: "Ready", status: "True", reason: "BackupRunning", message: `backup ${backupId} running` },
        new Date(),
      ),
    },
    o.metadata.resourceVersion,
  );
  await ctx.events.record(claimed, "Normal", "BackupStarted", `${why} backup ${backupId} started`);
  ctx.work.start(key, (signal) => execute(ctx, claimed, backupId, resolved, signal), ctx.shutdown);
  return { requeueAfterMs: 30_000 };
}

/** A new run starts the clock; a run resumed into the same set keeps its start. */
function startTime(o: KafkaBackup, backupId: string): Partial<KafkaBackupStatus> {
  const s = o.status;
  if (s?.startTime && s.backupId === backupId && s.phase === "Running") return {};
  return { startTime: new Date().toISOString() };
}

/** The run's Indexed Job: the spec (Secret references only) and the ids, for `workers` pods. */
function backupJob(o: KafkaBackup, backupId: string, r: Resolved) {
  const { execution, ...spec } = o.spec;
  const key = o.spec.encryption?.keySecret;
  return workerJob({
    name: workerJobName(o.metadata.name, backupId),
    owner: o,
    operation: "backup",
    image: process.env.WORKER_IMAGE ?? "",
    spec,
    args: ["--backup-id", backupId, ...(key ? ["--encryption-key-secret", `${key.name}/${key.key ?? "key"}`] : [])],
    secrets: r.secretRefs,
    execution: execution ?? {},
    ...(o.spec.storage.storageType === "pvc" && o.spec.storage.pvc ? { pvcClaim: o.spec.storage.pvc.claimName } : {}),
  });
}

async function startJob(
  ctx: Ctx,
  o: KafkaBackup,
  backupId: string,
  why: string,
  claim: Partial<KafkaBackupStatus>,
  r: Opened,
): Promise<Action> {
  if (!process.env.WORKER_IMAGE) {
    return await failValidation(
      ctx,
      o,
      "InvalidExecution",
      "spec.execution.mode job: this controller has no worker image (the WORKER_IMAGE variable, which the Pulumi component and deploy/ set)",
    );
  }
  // The workers read the set's chain plan from storage: decided once, here.
  let plan: ChainPlan;
  const { KafkaClient } = await import("../engine/kafka/client.ts");
  const kafka = new KafkaClient(r.cluster, ctx.log);
  try {
    plan = await planSet(o, r, backupId, ctx, kafka);
  } catch (err) {
    return await waitForConfiguration(ctx, o, err);
  } finally {
    await kafka.close();
  }
  claim = { ...claim, ...chainStatus(plan, o) };
  if (plan.recreatedTopics?.length)
    await topicRecreated(ctx, o, plan.recreatedTopics, `backup set ${backupId} starts a new chain (a full set)`);
  const job = backupJob(o, backupId, r);
  const workers = job.spec?.completions ?? 1;
  const message = `${why} backup ${backupId} running as Job ${job.metadata?.name} with ${workers} workers`;
  const claimed = await ctx.resources.patchStatus(
    o,
    {
      ...claim,
      phase: "Running",
      backupId,
      ...startTime(o, backupId),
      message,
      resumable: true,
      checkpointEnabled: true,
      job: { name: job.metadata?.name as string, workers, active: 0, succeeded: 0, failed: 0 },
      conditions: setCondition(
        o.status?.conditions,
        { type: "Ready", status: "True", reason: "BackupRunning", message },
        new Date(),
      ),
    },
    o.metadata.resourceVersion,
  );
  // A rejected Job fails the run at the next look (followJob), with the API server's message.
  await ensureWorkerJob(ctx.kube, job).catch((err: Error) => {
    if (!(err instanceof JobRejectedError)) throw err;
  });
  await ctx.events.record(claimed, "Normal", "BackupStarted", message);
  return { requeueAfterMs: 2_000 };
}

/** A run executing as a Job: aggregate the shards' reports into status; finish or fail it. */
async function followJob(ctx: Ctx, o: KafkaBackup, backupId: string): Promise<Action> {
  let r: Opened;
  try {
    r = await open(ctx, o);
  } catch (err) {
    return await waitForConfiguration(ctx, o, err);
  }
  const { namespace } = o.metadata;
  const { name, verdict, shards } = await inspectWorkerJob(ctx.kube, o, r.store, backupId, () => backupJob(o, backupId, r));
  const labels = { resource_namespace: namespace, name: o.metadata.name };
  if (verdict.state === "running") {
    await ctx.resources.patchStatus(o, {
      job: verdict.job,
      recordsProcessed: shards.records,
      bytesProcessed: shards.bytes,
      progressPercent: Math.round(shards.percent * 10) / 10,
      lastCheckpointTime: new Date().toISOString(),
    });
    return { requeueAfterMs: 2_000 };
  }
  if (verdict.state === "failed") {
    // Stops the workers still running (their pods go with the Job).
    await deleteWorkerJob(ctx.kube, namespace, name);
    const message = `backup ${backupId} failed: ${verdict.message}`;
    ctx.metrics.backups.inc({ outcome: "failure", ...labels });
    const retryAt = nextRetryTime(o, new Date());
    await writeFinalStatus(
      ctx,
      o,
      {
        phase: "Failed",
        message,
        resumable: true,
        job: verdict.job,
        completionTime: new Date().toISOString(),
        ...(retryAt ? { nextRetryTime: retryAt } : {}),
      },
      { status: "False", reason: verdict.reason, message },
    );
    await ctx.events.record(o, "Warning", verdict.reason, message);
    return {};
  }
  const manifest = summarize(await readSetManifest(r.store, backupId));
  const started = Date.parse(o.status?.startTime ?? o.status?.lastScheduleTime ?? "") || Date.now();
  await finish(ctx, o, r.store, backupId, {
    records: manifest.records,
    bytes: shards.bytes,
    segments: manifest.segments,
    storedBytes: manifest.storedBytes,
    gaps: manifest.gaps,
    topics: manifest.topics,
    partitions: manifest.partitions,
    durationMs: Date.now() - started,
    extra: { job: verdict.job },
  });
  return {};
}

// ── What it writes ─────────────────────────────────────────────────────────────────────────────

async function execute(ctx: Ctx, o: KafkaBackup, backupId: string, r: Opened, signal: AbortSignal): Promise<void> {
  const { namespace, name } = o.metadata;
  const labels = { resource_namespace: namespace, name };
  const spec = o.spec;
  const endTimer = ctx.metrics.backupDuration.startTimer(labels);
  let lastWrite = 0;
  // Progress writes go one at a time and end before the final status, which they never overwrite.
  let progressWrites: Promise<unknown> = Promise.resolve();
  let finished = false;
  const onProgress = (p: BackupProgress) => {
    if (finished || Date.now() - lastWrite < 2000) return;
    lastWrite = Date.now();
    progressWrites = progressWrites
      .then(() =>
        finished
          ? undefined
          : ctx.resources.patchStatus(o, {
              recordsProcessed: p.records,
              bytesProcessed: p.bytes,
              segmentsCompleted: p.segments,
              throughputRecordsPerSec: Math.round(p.recordsPerSec),
              throughputBytesPerSec: Math.round(p.bytesPerSec),
              ...(p.percent !== undefined ? { progressPercent: Math.round(p.percent * 10) / 10 } : {}),
              ...(p.etaSeconds !== undefined ? { etaSeconds: Math.round(p.etaSeconds) } : {}),
              lagRecords: p.lag,
              topicsSelected: p.topics,
              partitionsTotal: p.partitions,
              partitionsCompleted: p.partitionsCompleted,
              lastCheckpointTime: new Date().toISOString(),
            }),
      )
      .catch((err: Error) => ctx.log.warn({ err: err.message }, "progress status write failed"));
  };
  let result: BackupResult | undefined;
  let plan: ChainPlan | undefined;
  await backupMetrics(ctx).runStarted(keyOf(o), backupId);
  // The data path (kafkajs among it) loads with the first run, not with the controller: an idle
  // controller of scheduled backups never needs it (docs/performance.md).
  let kafka: KafkaClient | undefined;
  try {
    const [{ runBackup }, { KafkaClient }] = await Promise.all([
      import("../engine/backup/engine.ts"),
      import("../engine/kafka/client.ts"),
    ]);
    kafka = new KafkaClient(r.cluster, ctx.log);
    plan = await planSet(o, r, backupId, ctx, kafka);
    if (plan.recreatedTopics?.length)
      await topicRecreated(ctx, o, plan.recreatedTopics, `backup set ${backupId} starts a new chain (a full set)`).catch(
        (err: Error) => ctx.log.warn({ err: err.message }, "could not report the recreated topic"),
      );
    result = await runBackup(kafka, r.store, {
      backupId,
      ...optionsFromSpec(spec),
      ...planOptions(plan),
      ...(r.encryptionKey ? { encryptionKey: r.encryptionKey } : {}),
      // Unique per process: after a crash the next controller waits for this lease to expire,
      // which it has by the time a standby leads (ctx.workLeaseTtlMs).
      leaseHolder: `${ctx.identity}/${namespace}/${name}`,
      ...(ctx.workLeaseTtlMs ? { leaseTtlMs: ctx.workLeaseTtlMs } : {}),
      signal,
      onProgress,
      onTopicsDeleted: (topics) =>
        void topicDeleted(ctx, o, topics, backupId).catch((err: Error) =>
          ctx.log.warn({ err: err.message }, "could not report the deleted topic"),
        ),
      metrics: backupMetrics(ctx),
      log: ctx.log,
    });
  } catch (err) {
    endTimer();
    finished = true;
    await progressWrites;
    if (signal.aborted) return void (await stopped(ctx, o, backupId, signal));
    if (err instanceof LeaseHeldError) {
      // A previous controller's lease on the set (it crashed mid-run): resume when it expires.
      const waitMs = Math.min(30_000, Math.max(1000, (err.expiresAt ?? 0) - Date.now() + 100));
      ctx.log.info({ backupId, err: err.message, retryInMs: waitMs }, "backup set still leased; resuming when the lease expires");
      notBefore.set(keyOf(o), Date.now() + waitMs);
      return;
    }
    // Continuous backups are restarted, but not in a hot loop.
    notBefore.set(keyOf(o), Date.now() + 60_000);
    const reason = (err as { reason?: string }).reason ?? kafkaFailureReason(err) ?? "BackupFailed";
    // A run that stored nothing leaves nothing listed (a retry starts the set afresh).
    const discarded = await discardIfEmpty(r.store, backupId, setOwnerOf(o)).catch(() => false);
    const message = `backup ${backupId} failed: ${(err as Error).message}${discarded ? " (nothing was stored; the empty set was removed)" : ""}`;
    ctx.metrics.backups.inc({ outcome: "failure", ...labels });
    const retryAt = nextRetryTime(o, new Date());
    await writeFinalStatus(
      ctx,
      o,
      {
        phase: "Failed",
        message,
        resumable: !discarded,
        completionTime: new Date().toISOString(),
        ...(retryAt ? { nextRetryTime: retryAt } : {}),
      },
      { status: "False", reason, message },
    ).catch(() => {});
    if (retryAt) ctx.enqueue(keyOf(o), Math.max(0, Date.parse(retryAt) - Date.now()));
    await ctx.events.record(o, "Warning", reason, message);
    return;
  } finally {
    finished = true;
    await progressWrites;
    await kafka?.close();
  }
  endTimer();
  if (result.cancelled) return void (await stopped(ctx, o, backupId, signal));
  if (result.recreatedTopics?.length) {
    // A continuous set ended where a topic was recreated under it (docs/operations.md, "Topics that
    // change under a backup"): the backup goes on at once in a new set, a new chain, which reads
    // every selected topic from its log start. Phase Pending: the next reconcile starts it.
    const next = kafkaBackupSetId(namespace, name, new Date());
    const message = `continuous backup set ${backupId} ended with what it held; the backup goes on in a new set ${next} (a new chain)`;
    await topicRecreated(ctx, o, result.recreatedTopics, message, {
      phase: "Pending",
      backupId: next,
      message: `${describeRecreated(result.recreatedTopics)} deleted and created again: ${message}`,
      lastSuccessfulBackupId: backupId,
    });
    return;
  }
  await finish(ctx, o, r.store, backupId, {
    ...result,
    topics: result.topics.length,
    ...(plan ? { extra: chainStatus(plan, o) } : {}),
  });
}

/** A run that completed (in process or as a Job): metrics, retention, the final status and Event. */
async function finish(
  ctx: Ctx,
  o: KafkaBackup,
  store: StorageBackend,
  backupId: string,
  result: {
    records: number;
    bytes: number;
    segments: number;
    storedBytes: number;
    gaps: number;
    topics: number;
    partitions: number;
    durationMs: number;
    /** What the set holds, earlier runs of it included (an in-process run that resumed it). */
    held?: { records: number; segments: number };
    extra?: Partial<KafkaBackupStatus>;
  },
): Promise<void> {
  const held = result.held ?? { records: result.records, segments: result.segments };
  const labels = { resource_namespace: o.metadata.namespace, name: o.metadata.name };
  ctx.metrics.backups.inc({ outcome: "success", ...labels });
  ctx.metrics.backupSize.set(labels, result.storedBytes);
  ctx.metrics.backupRecords.set(labels, result.records);
  const retention = await retain(ctx, o, store, backupId);
  // A resumed set (after a failover or a restart) is reported whole, with this run's share.
  const resumed = held.records !== result.records;
  const message = `backed up ${held.records} records (${held.segments} segments) of ${result.topics} topics${resumed ? `, ${result.records} of them (${result.bytes} bytes) in this run after resuming the set` : ` (${result.bytes} bytes)`}${result.gaps ? `; ${result.gaps} retention gaps recorded` : ""}`;
  await writeFinalStatus(
    ctx,
    o,
    {
      phase: "Completed",
      message,
      backupId,
      lastSuccessfulBackupId: backupId,
      lastBackupTime: new Date().toISOString(),
      completionTime: new Date().toISOString(),
      topicsSelected: result.topics,
      partitionsTotal: result.partitions,
      // A one-shot run ends when every partition reached the end captured at its start.
      partitionsCompleted: result.partitions,
      lagRecords: 0,
      recordsProcessed: held.records,
      bytesProcessed: result.bytes,
      segmentsCompleted: held.segments,
      progressPercent: 100,
      etaSeconds: 0,
      gapsRecorded: result.gaps,
      resumable: false,
      lastCheckpointTime: new Date().toISOString(),
      throughputRecordsPerSec: Math.round(result.records / Math.max(0.001, result.durationMs / 1000)),
      throughputBytesPerSec: Math.round(result.bytes / Math.max(0.001, result.durationMs / 1000)),
      ...retention,
      ...result.extra,
    },
    { status: "True", reason: "BackupSucceeded", message },
  );
  await ctx.events.record(o, "Normal", "BackupSucceeded", `backup ${backupId}: ${message}`);
}

/**
 * A topic deleted and created again under the backup: the condition `TopicRecreated` (True, naming
 * the topics, their old and new topic IDs and what the backup does about it) and a Warning Event.
 */
async function topicRecreated(
  ctx: Ctx,
  o: KafkaBackup,
  topics: readonly RecreatedTopic[],
  consequence: string,
  status: Partial<KafkaBackupStatus> = {},
): Promise<void> {
  const message = `${topics.length === 1 ? "topic" : "topics"} ${describeRecreated(topics)} deleted and created again: ${consequence}`;
  ctx.log.warn({ topics, consequence }, "topic recreated under the backup");
  // A topic reported deleted and now back: no longer "not created again".
  const latest = await ctx.resources.get(o.metadata.namespace, o.metadata.name);
  const wasDeleted = latest.status?.conditions?.some((c) => c.type === "TopicDeleted" && c.status === "True");
  await writeFinalStatus(ctx, o, status, undefined, [
    { type: "TopicRecreated", status: "True", reason: "TopicRecreated", message },
    ...(wasDeleted ? [{ type: "TopicDeleted", status: "False" as const, reason: "TopicRecreated", message }] : []),
  ]);
  await ctx.events.record(o, "Warning", "TopicRecreated", message);
}

/**
 * A topic of a continuous set deleted and not created again (docs/operations.md, "Topics that
 * change under a backup"): the condition `TopicDeleted` (True, naming the topics, their topic IDs
 * and the set that keeps what was stored of them) and a Warning Event. The backup goes on.
 */
async function topicDeleted(ctx: Ctx, o: KafkaBackup, topics: readonly DeletedTopic[], backupId: string): Promise<void> {
  const message = `${topics.length === 1 ? "topic" : "topics"} ${describeDeleted(topics)} deleted and not created again: backup set ${backupId} keeps what was stored of ${topics.length === 1 ? "it" : "them"}, and the backup goes on with the other topics`;
  ctx.log.warn({ topics, backupId }, "topic deleted under the backup");
  await writeFinalStatus(ctx, o, {}, undefined, { type: "TopicDeleted", status: "True", reason: "TopicDeleted", message });
  await ctx.events.record(o, "Warning", "TopicDeleted", message);
}

/** Cancelled by suspend, deletion or shutdown: the checkpoints make the set resumable. */
async function stopped(ctx: Ctx, o: KafkaBackup, backupId: string, signal: AbortSignal): Promise<void> {
  const why = signal.reason instanceof Error ? signal.reason.message : "stopped";
  ctx.log.info({ backupId, why }, "backup stopped at its last checkpoint");
  // On shutdown the phase stays Running, so the next controller resumes the same set.
  if (why !== "shutdown")
    await ctx.events.record(o, "Normal", "BackupStopped", `backup ${backupId} stopped (${why}); resumable from its checkpoints`);
}

async function retain(ctx: Ctx, o: KafkaBackup, store: StorageBackend, current: string): Promise<Partial<KafkaBackupStatus>> {
  const policy = o.spec.retention;
  if (!policy?.enabled) return {};
  try {
    const plan = await applyRetention(
      store,
      setOwnerOf(o),
      {
        ...(policy.keepLast !== undefined ? { keepLast: policy.keepLast } : {}),
        ...(policy.maxAgeDays !== undefined ? { maxAgeDays: policy.maxAgeDays } : {}),
        dryRun: policy.dryRun ?? false,
      },
      current,
    );
    if (plan.delete.length && !policy.dryRun) {
      await ctx.events.record(
        o,
        "Normal",
        "RetentionApplied",
        `deleted ${plan.chainsDeleted.length} old chains (${plan.delete.length} backup sets): ${plan.delete.map((s) => s.backupId).join(", ")}`,
      );
    }
    return {
      lastRetentionTime: new Date().toISOString(),
      retentionInspectedBackups: plan.inspected,
      retentionEligibleBackups: plan.delete.length,
      retentionDeletedBackups: policy.dryRun ? 0 : plan.delete.length,
      retentionReclaimedBytes: plan.reclaimedBytes,
      retentionDryRun: policy.dryRun ?? false,
      retentionError: "",
    };
  } catch (err) {
    await ctx.events.record(o, "Warning", "RetentionFailed", (err as Error).message);
    return { lastRetentionTime: new Date().toISOString(), retentionError: (err as Error).message };
  }
}

let sharedBackupMetrics: BackupMetrics | undefined;
function backupMetrics(ctx: Ctx): BackupMetrics {
  if (!sharedBackupMetrics) {
    const metrics = new BackupMetrics(ctx.metrics.registry);
    ctx.metrics.onForget((namespace, name) => metrics.ownerGone(`${namespace}/${name}`));
    sharedBackupMetrics = metrics;
  }
  return sharedBackupMetrics;
}

async function finalize(o: KafkaBackup, ctx: Ctx): Promise<void> {
  if (o.status?.job?.name) await deleteWorkerJob(ctx.kube, o.metadata.namespace, o.status.job.name);
  if (o.spec.deletionPolicy !== "Delete") return;
  try {
    const store = await openSharedStorage(o.spec.storage, ctx.secrets(o.metadata.namespace), { pvcMountRoot, logger: ctx.log });
    // Only sets whose manifest names this KafkaBackup: never a same-named one's of another namespace or cluster.
    await deleteOwnedSets(store, setOwnerOf(o));
  } catch (err) {
    // Never block deletion on storage: the data stays, and the Event says so.
    await ctx.events.record(
      o,
      "Warning",
      "DataNotDeleted",
      `deletionPolicy Delete: could not delete the backup data: ${(err as Error).message}`,
    );
  }
}

if (import.meta.main) {
  await runController<KafkaBackupSpec, KafkaBackupStatus>({
    kind: { group: "kafka.oso.sh", version: "v1alpha1", plural: "kafkabackups", kind: "KafkaBackup" },
    finalizer: "kafka.oso.sh/backup-finalizer",
    component: "kafka-backup-controller",
    metricsKind: "KafkaBackup",
    reconcile,
    finalize,
  });
}

export { finalize, reconcile };
