// The KafkaBackupValidation controller. It watches KafkaBackupValidations; decides whether a run
// is due (once per generation, or on each cron tick, claimed exactly once with a conditional
// status write); runs the checks outside the reconcile; stores the evidence report (signed when
// a key is configured) beside the backup; writes the result to status with Ready telling the
// truth (Fail is Ready=False); and notifies Slack and PagerDuty on failure.
import type { KafkaBackupValidationSpec, KafkaBackupValidationStatus } from "../crds/generated/types.ts";
import { BackupNotFoundError } from "../engine/backupset/catalog.ts";
import { resolveBackupSource, warnIfIncomplete } from "../engine/k8s/backup-source.ts";
import { openSharedStorage } from "../engine/k8s/clients.ts";
import type { Condition } from "../engine/k8s/conditions.ts";
import { type Action, type Context, runController } from "../engine/k8s/controller.ts";
import { type CustomResource, keyOf } from "../engine/k8s/resource.ts";
import { dueTick, parseSchedule, ScheduleError } from "../engine/k8s/schedule.ts";
import { failValidation, suspend, waitForConfiguration, writeFinalStatus, writeStatus } from "../engine/k8s/status.ts";
import { KafkaClient } from "../engine/kafka/client.ts";
import { resolveKafkaCluster } from "../engine/kafka/spec.ts";
import type { StorageBackend } from "../engine/storage/backend.ts";
import type { ValidationResult } from "../engine/validation/checks.ts";
import { type EvidenceReport, parsePrivateKey } from "../engine/validation/evidence.ts";
import { type FailureNotice, notifyPagerDuty, notifySlack } from "../engine/validation/notify.ts";
import { applyEvidenceRetention, runValidation, storeEvidence } from "../engine/validation/run.ts";
import { checkSpec, restoredFromSpec, ValidationSpecError } from "../engine/validation/spec.ts";

// ── What it watches ────────────────────────────────────────────────────────────────────────────

type KafkaBackupValidation = CustomResource<KafkaBackupValidationSpec, KafkaBackupValidationStatus>;
type Ctx = Context<KafkaBackupValidationSpec, KafkaBackupValidationStatus>;

const pvcMountRoot = process.env.PVC_MOUNT_ROOT ?? "/data";

// ── How it decides ─────────────────────────────────────────────────────────────────────────────

/** What a result means for the resource: phase, the Ready condition, the Event. Pure. */
export function statusForResult(
  result: ValidationResult,
  summary: string,
): { phase: "Completed" | "Failed"; ready: Omit<Condition, "type" | "lastTransitionTime">; event: "Normal" | "Warning" } {
  switch (result) {
    case "Pass":
      return { phase: "Completed", ready: { status: "True", reason: "ValidationPassed", message: summary }, event: "Normal" };
    case "Warn":
      // Usable, with findings to read: Ready, and a Warning Event so nobody misses them.
      return { phase: "Completed", ready: { status: "True", reason: "ValidationWarning", message: summary }, event: "Warning" };
    case "Skip":
      return { phase: "Completed", ready: { status: "Unknown", reason: "ValidationSkipped", message: summary }, event: "Normal" };
    default:
      return { phase: "Failed", ready: { status: "False", reason: "ValidationFailed", message: summary }, event: "Warning" };
  }
}

async function reconcile(o: KafkaBackupValidation, ctx: Ctx): Promise<Action> {
  const key = keyOf(o);
  const status = o.status ?? {};
  const spec = o.spec;
  const now = new Date();
  const running = ctx.work.running(key);

  if (spec.suspend) return await suspend(ctx, o, "validation");
  let schedule: ReturnType<typeof parseSchedule> | undefined;
  try {
    schedule = spec.schedule ? parseSchedule(spec.schedule, spec.timeZone) : undefined;
    checkSpec(spec);
  } catch (err) {
    if (err instanceof ScheduleError || err instanceof ValidationSpecError)
      return await failValidation(ctx, o, err.reason, err.message);
    throw err;
  }
  // One run at a time: a tick during a run waits for it (the run re-enqueues the key when done).
  if (running) return { requeueAfterMs: 30_000 };

  // A run a controller left Running (it died): validation has no partial state, so run again.
  if (status.phase === "Running") {
    // The cache may not have the run's final status yet: only the API server can tell.
    const latest = await ctx.resources.get(o.metadata.namespace, o.metadata.name);
    if (latest.status?.phase !== "Running") return await reconcile(latest, ctx);
    ctx.log.info("re-running a validation left running");
    return await start(ctx, latest, "resumed", {});
  }

  if (!schedule) {
    // Once per generation of the spec.
    if (status.observedGeneration === o.metadata.generation && (status.phase === "Completed" || status.phase === "Failed"))
      return {};
    return await start(ctx, o, "one-shot", { lastScheduleTime: now.toISOString(), observedGeneration: o.metadata.generation });
  }

  const anchor = new Date(status.lastScheduleTime ?? o.metadata.creationTimestamp);
  const due = dueTick(schedule, anchor, now);
  if (due.tick) {
    // The conditional write claims the tick: a second replica or a stale cache gets 409.
    return await start(ctx, o, "scheduled", {
      lastScheduleTime: due.tick.toISOString(),
      observedGeneration: o.metadata.generation,
      ...(due.next ? { nextScheduledValidation: due.next.toISOString() } : {}),
    });
  }
  if (
    status.phase === undefined ||
    status.phase === "Suspended" ||
    (status.phase === "Pending" && status.nextScheduledValidation !== due.next?.toISOString()) ||
    status.observedGeneration !== o.metadata.generation
  ) {
    // Waiting for the first tick: check the references and Secrets now rather than when it comes.
    try {
      await (await resolve(ctx, o)).close();
    } catch (err) {
      return await waitForConfiguration(ctx, o, err);
    }
    const next = due.next?.toISOString();
    const last = status.validationResult;
    const waiting = { observedGeneration: o.metadata.generation, ...(next ? { nextScheduledValidation: next } : {}) };
    if (!last) {
      // Before the first run there is no result: Ready is Unknown, not a guess.
      await writeStatus(
        ctx,
        o,
        { ...waiting, phase: "Pending", message: `schedule active; first run ${next ?? "never"}` },
        { status: "Unknown", reason: "AwaitingFirstRun", message: `first validation at ${next ?? "never"}` },
      );
    } else if (status.phase === "Suspended" || status.phase === "Pending") {
      // Resumed, or a missing reference now resolves: the last result speaks again until the next run.
      const d = statusForResult(last, `last result ${last} (backup ${status.backupId ?? "?"}); next run ${next ?? "never"}`);
      await writeStatus(ctx, o, { ...waiting, phase: d.phase, message: d.ready.message ?? "" }, d.ready);
    } else {
      await writeStatus(ctx, o, waiting, undefined);
    }
  }
  return { requeueAfterMs: due.next ? Math.min(Math.max(0, due.next.getTime() - Date.now()), 60_000) : 3_600_000 };
}

interface Resolved {
  store: StorageBackend;
  evidenceStore: StorageBackend;
  backupId: string;
  /** The reference named a set whose run did not complete. */
  warning?: string;
  kafka?: KafkaClient;
  encryptionKey?: Buffer;
  signingKey?: ReturnType<typeof parsePrivateKey>;
  slackUrl?: string;
  pagerDutyKey?: string;
  close(): Promise<void>;
}

/** References, Secrets and clients. Every Secret value stays in here and in the run. */
async function resolve(ctx: Ctx, o: KafkaBackupValidation): Promise<Resolved> {
  const { namespace, name } = o.metadata;
  const spec = o.spec;
  const read = ctx.secrets(namespace);
  const ref = spec.backupRef;
  const { store, backupId, encryptionKey, warning } = await resolveBackupSource(
    ctx.kube,
    (ns) => ctx.secrets(ns),
    namespace,
    ref,
    {
      pvcMountRoot,
      logger: ctx.log,
    },
  );
  const evidenceStore = spec.evidence?.storage
    ? await openSharedStorage(spec.evidence.storage, read, { pvcMountRoot, logger: ctx.log })
    : store;
  const signing = spec.evidence?.signing;
  let signingKey: ReturnType<typeof parsePrivateKey> | undefined;
  if (signing?.enabled) {
    const field = "spec.evidence.signing.keySecret";
    const pem = await read({
      field,
      secretName: signing.keySecret.name,
      key: signing.keySecret.privateKeyKey ?? "signing-key.pem",
    });
    signingKey = parsePrivateKey(pem, `${field} (Secret ${namespace}/${signing.keySecret.name})`);
  }
  const slack = spec.notifications?.slack;
  const slackUrl = slack
    ? await read({
        field: "spec.notifications.slack.webhookSecret",
        secretName: slack.webhookSecret.name,
        key: slack.webhookSecret.key,
      })
    : undefined;
  const pd = spec.notifications?.pagerduty;
  const pagerDutyKey = pd
    ? await read({
        field: "spec.notifications.pagerduty.routingKeySecret",
        secretName: pd.routingKeySecret.name,
        key: pd.routingKeySecret.key,
      })
    : undefined;
  const kafka = spec.kafkaCluster
    ? new KafkaClient(await resolveKafkaCluster(spec.kafkaCluster, read, `kafka-backup-operator/${namespace}/${name}`), ctx.log)
    : undefined;
  return {
    store,
    evidenceStore,
    backupId,
    ...(warning ? { warning } : {}),
    ...(kafka ? { kafka } : {}),
    ...(encryptionKey ? { encryptionKey } : {}),
    ...(signingKey ? { signingKey } : {}),
    ...(slackUrl ? { slackUrl: slackUrl.trim() } : {}),
    ...(pagerDutyKey ? { pagerDutyKey: pagerDutyKey.trim() } : {}),
    close: async () => {
      await kafka?.close();
    },
  };
}

async function start(
  ctx: Ctx,
  o: KafkaBackupValidation,
  why: string,
  claim: Partial<KafkaBackupValidationStatus>,
): Promise<Action> {
  let resolved: Resolved;
  try {
    resolved = await resolve(ctx, o);
  } catch (err) {
    if (!(err as { reason?: string }).reason) throw err;
    return await waitForConfiguration(ctx, o, err);
  }
  let claimed: KafkaBackupValidation;
  try {
    claimed = await ctx.resources.patchStatus(
      o,
      {
        ...claim,
        phase: "Running",
        backupId: resolved.backupId,
        startTime: new Date().toISOString(),
        message: `${why} validation of backup ${resolved.backupId} running`,
      },
      o.metadata.resourceVersion,
    );
  } catch (err) {
    await resolved.close();
    throw err;
  }
  await ctx.events.record(claimed, "Normal", "ValidationStarted", `${why} validation of backup ${resolved.backupId} started`);
  await warnIfIncomplete(ctx, claimed, resolved);
  ctx.work.start(keyOf(o), (signal) => execute(ctx, claimed, resolved, signal), ctx.shutdown);
  return { requeueAfterMs: 30_000 };
}

// ── What it writes ─────────────────────────────────────────────────────────────────────────────

async function execute(ctx: Ctx, o: KafkaBackupValidation, r: Resolved, signal: AbortSignal): Promise<void> {
  const { namespace, name } = o.metadata;
  const labels = { resource_namespace: namespace, name };
  const endTimer = ctx.metrics.validationDuration.startTimer(labels);
  const at = new Date();
  let report: EvidenceReport;
  let evidencePath: string | undefined;
  let signed = false;
  try {
    report = await runValidation(r.store, {
      backupId: r.backupId,
      checks: o.spec.checks,
      ...(r.kafka ? { kafka: r.kafka } : {}),
      ...(restoredFromSpec(o.spec) ? { restored: restoredFromSpec(o.spec) } : {}),
      ...(r.encryptionKey ? { encryptionKey: r.encryptionKey } : {}),
      validation: { name, namespace, triggeredBy: o.spec.schedule ? `schedule ${o.spec.schedule}` : "one-shot" },
      signal,
      log: ctx.log.child({ backupId: r.backupId }),
    });
    // Named by the claimed tick (lastScheduleTime, set by every claim), not the clock: one folder a tick.
    const claimedAt = o.status?.lastScheduleTime ? new Date(o.status.lastScheduleTime) : at;
    const stored = await storeEvidence(r.evidenceStore, report, {
      at,
      folderTime: claimedAt,
      ...(r.signingKey ? { signingKey: r.signingKey } : {}),
    });
    evidencePath = stored.path;
    signed = stored.signed;
    const removed = await applyEvidenceRetention(
      r.evidenceStore,
      r.backupId,
      name,
      o.spec.evidence?.retentionDays ?? 90,
      at,
    ).catch((err: Error) => {
      ctx.log.warn({ err: err.message }, "evidence retention failed");
      return 0;
    });
    if (removed) ctx.log.info({ removed }, "old evidence reports deleted (retentionDays)");
  } catch (err) {
    endTimer();
    await r.close();
    if (signal.aborted) {
      const why = signal.reason instanceof Error ? signal.reason.message : "stopped";
      if (why !== "shutdown") await ctx.events.record(o, "Normal", "ValidationStopped", `validation stopped (${why})`);
      return;
    }
    // The run could not finish (backup gone, storage unreachable): that is a failure too.
    const reason =
      (err as { reason?: string }).reason ?? (err instanceof BackupNotFoundError ? "BackupNotFound" : "ValidationError");
    const message = `validation of backup ${r.backupId} could not complete: ${(err as Error).message}`;
    ctx.metrics.validations.inc({ outcome: "error", ...labels });
    await writeFinalStatus(
      ctx,
      o,
      {
        phase: "Failed",
        message,
        completionTime: new Date().toISOString(),
        validationResult: null as unknown as undefined,
        nextScheduledValidation: nextTick(o),
      },
      { status: "False", reason, message },
    ).catch((e: Error) => ctx.log.warn({ err: e.message }, "could not write the failure status"));
    await ctx.events.record(o, "Warning", reason, message);
    await notify(ctx, o, r, { result: "error", summary: message, failedChecks: [] });
    return;
  }
  endTimer();
  await r.close();
  ctx.metrics.validations.inc({ outcome: report.result, ...labels });
  const summary = `${report.result}: ${report.counts.passed} passed, ${report.counts.failed} failed, ${report.counts.warned} warned of ${report.counts.checks} checks on backup ${r.backupId}`;
  const decided = statusForResult(report.result, summary);
  const completion = new Date().toISOString();
  await writeFinalStatus(
    ctx,
    o,
    {
      phase: decided.phase,
      validationResult: report.result,
      message: summary,
      backupId: r.backupId,
      completionTime: completion,
      lastValidationTime: completion,
      checksTotal: report.counts.checks,
      checksCompleted: report.counts.checks,
      checksPassed: report.counts.passed,
      checksFailed: report.counts.failed,
      checksWarned: report.counts.warned,
      checkResults: report.checks.map((c) => ({
        checkName: c.checkName,
        outcome: c.outcome,
        message: c.message.slice(0, 32768),
        durationMs: c.durationMs,
        ...(c.details ? { details: boundedDetails(c.details) } : {}),
      })),
      ...(evidencePath ? { evidenceReportPath: evidencePath } : {}),
      evidenceReportSigned: signed,
      nextScheduledValidation: nextTick(o),
    },
    decided.ready,
  );
  const failed = report.checks.filter((c) => c.outcome === "Failed" || c.outcome === "Warning");
  await ctx.events.record(
    o,
    decided.event,
    decided.ready.reason ?? "ValidationCompleted",
    `${summary}${failed.length ? `; ${failed.map((c) => `${c.checkName}: ${c.message}`).join("; ")}` : ""}`,
  );
  if (evidencePath)
    await ctx.events.record(
      o,
      "Normal",
      "EvidenceStored",
      `evidence report ${signed ? "(signed) " : ""}stored at ${evidencePath}`,
    );
  const previous = o.status?.validationResult;
  if (report.result === "Fail") {
    await notify(ctx, o, r, {
      result: report.result,
      summary,
      failedChecks: report.checks
        .filter((c) => c.outcome === "Failed")
        .map((c) => ({ checkName: c.checkName, message: c.message })),
      ...(evidencePath ? { evidencePath } : {}),
    });
  } else if (previous === "Fail" && r.pagerDutyKey) {
    await sendPagerDuty(ctx, o, r, "resolve", { result: report.result, summary, failedChecks: [] });
  }
}

/** Status is read by people: check details beyond a few KiB are left to the evidence report. */
function boundedDetails(details: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(details);
  return text.length <= 8192 ? details : { truncated: true, note: "too large for status; see the evidence report" };
}

function nextTick(o: KafkaBackupValidation): string | undefined {
  if (!o.spec.schedule) return undefined;
  try {
    return parseSchedule(o.spec.schedule, o.spec.timeZone).next(new Date())?.toISOString();
  } catch {
    return undefined;
  }
}

async function notify(
  ctx: Ctx,
  o: KafkaBackupValidation,
  r: Resolved,
  n: Omit<FailureNotice, "namespace" | "name" | "backupId">,
): Promise<void> {
  const notice: FailureNotice = { ...n, namespace: o.metadata.namespace, name: o.metadata.name, backupId: r.backupId };
  if (r.slackUrl) {
    try {
      await notifySlack(r.slackUrl, notice);
      await ctx.events.record(o, "Normal", "NotificationSent", "failure sent to Slack");
    } catch (err) {
      ctx.log.warn({ err: (err as Error).message }, "Slack notification failed");
      await ctx.events.record(o, "Warning", "NotificationFailed", (err as Error).message);
    }
  }
  if (r.pagerDutyKey) await sendPagerDuty(ctx, o, r, "trigger", n);
}

async function sendPagerDuty(
  ctx: Ctx,
  o: KafkaBackupValidation,
  r: Resolved,
  action: "trigger" | "resolve",
  n: Omit<FailureNotice, "namespace" | "name" | "backupId">,
): Promise<void> {
  const notice: FailureNotice = { ...n, namespace: o.metadata.namespace, name: o.metadata.name, backupId: r.backupId };
  try {
    await notifyPagerDuty(r.pagerDutyKey as string, action, notice, o.spec.notifications?.pagerduty?.severity ?? "critical");
    await ctx.events.record(o, "Normal", "NotificationSent", `PagerDuty event sent (${action})`);
  } catch (err) {
    ctx.log.warn({ err: (err as Error).message }, "PagerDuty notification failed");
    await ctx.events.record(o, "Warning", "NotificationFailed", (err as Error).message);
  }
}

if (import.meta.main) {
  await runController<KafkaBackupValidationSpec, KafkaBackupValidationStatus>({
    kind: { group: "kafka.oso.sh", version: "v1alpha1", plural: "kafkabackupvalidations", kind: "KafkaBackupValidation" },
    finalizer: "kafka.oso.sh/validation-finalizer",
    component: "kafka-backup-validation-controller",
    metricsKind: "KafkaBackupValidation",
    reconcile,
  });
}

export { reconcile };
