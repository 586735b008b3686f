// The KafkaOffsetReset controller. It watches KafkaOffsetResets; runs each once per resource:
// snapshots the groups' offsets durably (unless snapshotBeforeReset is false or it is a dry run),
// then moves every group's committed offsets by its strategy, `parallelism` groups at once, each
// through its coordinator, and writes per-group results to status. A finished reset is final:
// editing its spec does not run it again (create a new resource to run again, docs/offsets.md).
import type { KafkaOffsetResetSpec, KafkaOffsetResetStatus } from "../crds/generated/types.ts";
import { openSharedStorage } from "../engine/k8s/clients.ts";
import { type Action, type Context, runController } from "../engine/k8s/controller.ts";
import { ignoreEditOfFinished } from "../engine/k8s/finished.ts";
import {
  configMapName,
  loadOffsetMappingRef,
  persistOffsetSnapshot,
  writeOwnedConfigMap,
} from "../engine/k8s/offset-snapshots.ts";
import { type CustomResource, keyOf } from "../engine/k8s/resource.ts";
import { type ReadyCondition, waitForConfiguration, writeFinalStatus } from "../engine/k8s/status.ts";
import { KafkaClient } from "../engine/kafka/client.ts";
import { resolveKafkaCluster } from "../engine/kafka/spec.ts";
import { type RunResult, resetOffsets, resetOptionsFromSpec } from "../engine/offsets/reset.ts";
import { boundedGroupResults, type GroupOutcome, succeeded, summarize } from "../engine/offsets/results.ts";
import { snapshotIdFor } from "../engine/offsets/snapshot.ts";
import type { OffsetMappingReport } from "../engine/restore/offset-mapping.ts";

// ── What it watches ────────────────────────────────────────────────────────────────────────────

type KafkaOffsetReset = CustomResource<KafkaOffsetResetSpec, KafkaOffsetResetStatus>;
type Ctx = Context<KafkaOffsetResetSpec, KafkaOffsetResetStatus>;

const pvcMountRoot = process.env.PVC_MOUNT_ROOT ?? "/data";
/** A reset found Running with no work in this process after this long is failed (the existing operator's #49 rule). */
const staleRunningMs = 30 * 60_000;
const terminal = new Set(["Completed", "PartiallyCompleted", "Failed"]);

// ── How it decides ─────────────────────────────────────────────────────────────────────────────

async function reconcile(o: KafkaOffsetReset, ctx: Ctx): Promise<Action> {
  const key = keyOf(o);
  const status = o.status ?? {};
  if (ctx.work.running(key)) return { requeueAfterMs: 30_000 };

  if (status.phase && terminal.has(status.phase)) {
    // Final: a reset moves offsets, so running it again must be a deliberate new resource.
    await ignoreEditOfFinished(ctx, o);
    return {};
  }

  if (status.phase === "Running") {
    // The cache may not have this process's final status of a run that just ended yet (failing
    // it as interrupted then overwrote a finished dry run's Completed): only the API server can tell.
    const latest = await ctx.resources.get(o.metadata.namespace, o.metadata.name);
    if (latest.status?.phase !== "Running") return await reconcile(latest, ctx);
    // Left Running by a controller that stopped (crash, shutdown, a replaced leader).
    const started = Date.parse(status.startTime ?? "") || 0;
    if (o.spec.resetStrategy === "shift-by")
      return await fail(ctx, o, "Interrupted", `the reset was interrupted; shift-by is not repeatable${rollbackHint(status)}`);
    if (Date.now() - started > staleRunningMs)
      return await fail(ctx, o, "Interrupted", `the reset was left Running for over 30 minutes${rollbackHint(status)}`);
    ctx.log.info("resuming a reset left running (its strategy is repeatable; the earlier snapshot is kept)");
    return await start(ctx, o, "resumed");
  }
  return await start(ctx, o, "started");
}

function rollbackHint(status: KafkaOffsetResetStatus): string {
  return status.snapshotId
    ? `; some groups may have moved: roll back with a KafkaOffsetRollback of snapshot ${status.snapshotId} (${status.snapshotPath})`
    : "";
}

async function fail(ctx: Ctx, o: KafkaOffsetReset, reason: string, message: string): Promise<Action> {
  await writeFinalStatus(
    ctx,
    o,
    { phase: "Failed", message, completionTime: new Date().toISOString(), observedGeneration: o.metadata.generation },
    { status: "False", reason, message },
  );
  await ctx.events.record(o, "Warning", reason, message);
  ctx.metrics.offsetResets.inc({ outcome: "failure", resource_namespace: o.metadata.namespace });
  return {};
}

interface Resolved {
  kafka: KafkaClient;
  mapping?: OffsetMappingReport;
}

/** Secrets, the Kafka client and (from-mapping) the mapping report: all before anything changes. */
async function resolve(ctx: Ctx, o: KafkaOffsetReset): Promise<Resolved> {
  const { namespace, name } = o.metadata;
  const read = ctx.secrets(namespace);
  const cluster = await resolveKafkaCluster(o.spec.kafkaCluster, read, `kafka-backup-operator/${namespace}/${name}`);
  let mapping: OffsetMappingReport | undefined;
  if (o.spec.resetStrategy === "from-mapping") {
    if (!o.spec.offsetMappingRef)
      throw Object.assign(new Error("spec.offsetMappingRef is required for from-mapping"), { reason: "ValidationFailed" });
    mapping = (await loadOffsetMappingRef(ctx.kube, namespace, o.spec.offsetMappingRef, { pvcMountRoot, logger: ctx.log }))
      .report;
  }
  return { kafka: new KafkaClient(cluster, ctx.log), ...(mapping ? { mapping } : {}) };
}

async function start(ctx: Ctx, o: KafkaOffsetReset, why: string): Promise<Action> {
  let resolved: Resolved;
  try {
    resolved = await resolve(ctx, o);
  } catch (err) {
    return await waitForConfiguration(ctx, o, err);
  }
  const resumed = o.status?.phase === "Running";
  const groupsTotal = new Set(o.spec.consumerGroups).size;
  let claimed: KafkaOffsetReset;
  try {
    // The conditional write claims the run: a second replica or a stale cache gets 409.
    claimed = await ctx.resources.patchStatus(
      o,
      {
        phase: "Running",
        message: `${o.spec.dryRun ? "dry run" : "reset"} of ${groupsTotal} groups running (${o.spec.resetStrategy})`,
        observedGeneration: o.metadata.generation,
        groupsTotal,
        ...(resumed ? {} : { startTime: new Date().toISOString(), groupsReset: 0, groupsFailed: 0 }),
      },
      o.metadata.resourceVersion,
    );
  } catch (err) {
    await resolved.kafka.close();
    throw err;
  }
  await ctx.events.record(
    claimed,
    "Normal",
    "ResetStarted",
    `offset reset ${why}: ${groupsTotal} groups, ${o.spec.resetStrategy}`,
  );
  ctx.work.start(keyOf(o), (signal) => execute(ctx, claimed, resolved, signal), ctx.shutdown);
  return { requeueAfterMs: 30_000 };
}

// ── What it writes ─────────────────────────────────────────────────────────────────────────────

async function execute(ctx: Ctx, o: KafkaOffsetReset, r: Resolved, signal: AbortSignal): Promise<void> {
  const { namespace, name } = o.metadata;
  const spec = o.spec;
  const endTimer = ctx.metrics.offsetResetDuration.startTimer({ resource_namespace: namespace });
  const started = Date.parse(o.status?.startTime ?? "") || Date.now();
  let result: RunResult;
  try {
    let snapshot: Pick<KafkaOffsetResetStatus, "snapshotId" | "snapshotPath"> = {};
    if (o.status?.snapshotPath) {
      // Resumed: the snapshot of the offsets before the first attempt is the one to keep.
      snapshot = { snapshotId: o.status.snapshotId, snapshotPath: o.status.snapshotPath };
    } else if (!spec.dryRun && (spec.snapshotBeforeReset ?? true)) {
      try {
        const target = spec.snapshotStorage
          ? {
              store: await openSharedStorage(spec.snapshotStorage.storage, ctx.secrets(namespace), {
                pvcMountRoot,
                logger: ctx.log,
              }),
            }
          : { configMapOwner: o as CustomResource };
        const saved = await persistOffsetSnapshot(ctx.kube, r.kafka, spec.consumerGroups, target, {
          snapshotId: snapshotIdFor(name, new Date()),
          takenFor: `KafkaOffsetReset ${namespace}/${name}`,
          parallelism: spec.parallelism ?? 50,
        });
        snapshot = { snapshotId: saved.snapshotId, snapshotPath: saved.path };
      } catch (err) {
        const reason = (err as { reason?: string }).reason ?? "SnapshotFailed";
        endTimer();
        await fail(ctx, o, reason, `no offset changed: the snapshot before the reset failed: ${(err as Error).message}`);
        return;
      }
      // The reference lands in status before any offset moves.
      await ctx.resources.patchStatus(o, snapshot);
      await ctx.events.record(
        o,
        "Normal",
        "SnapshotTaken",
        `offsets of ${spec.consumerGroups.length} groups saved to ${snapshot.snapshotPath}`,
      );
    }

    let lastWrite = 0;
    let progress: Promise<unknown> = Promise.resolve();
    const done: GroupOutcome[] = [];
    result = await resetOffsets(r.kafka, {
      ...resetOptionsFromSpec(spec),
      ...(r.mapping ? { mapping: r.mapping } : {}),
      signal,
      log: ctx.log,
      onGroup: (g) => {
        done.push(g);
        if (Date.now() - lastWrite < 2000) return;
        lastWrite = Date.now();
        const ok = done.filter(succeeded).length;
        progress = progress
          .then(() => ctx.resources.patchStatus(o, { groupsReset: ok, groupsFailed: done.length - ok }))
          .catch(() => {});
      },
    });
    await progress;
    if (signal.aborted && signal.reason instanceof Error && signal.reason.message === "shutdown") {
      // Stays Running: the next controller resumes it (repeatable strategies) or fails it (shift-by).
      ctx.log.info("reset stopped by shutdown; it resumes on the next controller");
      return;
    }
    endTimer();
    await finish(ctx, o, result, snapshot, started);
  } catch (err) {
    endTimer();
    await fail(
      ctx,
      o,
      (err as { reason?: string }).reason ?? "ResetFailed",
      `offset reset failed: ${(err as Error).message}`,
    ).catch(() => {});
  } finally {
    await r.kafka.close();
  }
}

async function finish(
  ctx: Ctx,
  o: KafkaOffsetReset,
  result: RunResult,
  snapshot: Pick<KafkaOffsetResetStatus, "snapshotId" | "snapshotPath">,
  started: number,
): Promise<void> {
  const { namespace, name } = o.metadata;
  const dryRun = o.spec.dryRun ?? false;
  const summary = summarize(result.outcomes, result.total, { dryRun, verb: "reset", stoppedEarly: result.stoppedEarly });
  const { results, complete } = boundedGroupResults(result.outcomes);
  let resultsRef: string | undefined;
  if (!complete) {
    // Too much for status: every group's offsets go to a ConfigMap the resource owns.
    const cm = configMapName(`${name}-${dryRun ? "plan" : "results"}`);
    const text = JSON.stringify(result.outcomes);
    if (Buffer.byteLength(text) < 1_000_000) {
      await writeOwnedConfigMap(ctx.kube, o as CustomResource, cm, { "groups.json": text });
      resultsRef = `configmap/${cm}`;
    } else {
      ctx.log.warn({ bytes: Buffer.byteLength(text) }, "full results exceed a ConfigMap; status keeps the bounded list");
    }
  }
  const status: Partial<KafkaOffsetResetStatus> = {
    phase: summary.phase,
    message: summary.message,
    completionTime: new Date().toISOString(),
    duration: `${((Date.now() - started) / 1000).toFixed(2)}s`,
    groupsTotal: result.total,
    groupsReset: summary.ok,
    groupsFailed: summary.failed,
    groupResults: results,
    observedGeneration: o.metadata.generation,
    ...snapshot,
    ...(resultsRef ? { resultsRef } : {}),
  };
  const ready: ReadyCondition =
    summary.phase === "Completed"
      ? { status: "True", reason: dryRun ? "DryRunPassed" : "ResetSucceeded", message: summary.message }
      : {
          status: "False",
          reason: summary.phase === "PartiallyCompleted" ? "PartialFailure" : "ResetFailed",
          message: summary.message,
        };
  await writeFinalStatus(ctx, o, status, ready);
  ctx.metrics.offsetResets.inc({
    outcome:
      summary.phase === "Completed" ? "completed" : summary.phase === "PartiallyCompleted" ? "partiallycompleted" : "failure",
    resource_namespace: namespace,
  });
  for (const g of result.outcomes.filter((x) => x.state === "ActiveMembers").slice(0, 10))
    await ctx.events.record(o, "Warning", "ActiveMembers", `group ${g.groupId} not reset: ${g.error}`);
  await ctx.events.record(
    o,
    summary.phase === "Completed" ? "Normal" : "Warning",
    ready.reason ?? "ResetFinished",
    summary.message,
  );
}

if (import.meta.main) {
  await runController<KafkaOffsetResetSpec, KafkaOffsetResetStatus>({
    kind: { group: "kafka.oso.sh", version: "v1alpha1", plural: "kafkaoffsetresets", kind: "KafkaOffsetReset" },
    finalizer: "kafka.oso.sh/offset-reset-finalizer",
    component: "kafka-offset-reset-controller",
    metricsKind: "KafkaOffsetReset",
    reconcile,
  });
}

export { reconcile };
