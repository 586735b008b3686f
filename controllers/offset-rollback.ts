// The KafkaOffsetRollback controller. It watches KafkaOffsetRollbacks; finds the snapshot (through
// the KafkaOffsetReset or KafkaRestore that took it, a file, or its ID), commits its offsets back
// for all its groups or the listed ones, then reads every group back and reports each partition
// that differs, per group, in status. A mismatch is never Completed. Like a reset, a finished
// rollback is final: editing its spec does not run it again.
import type { KafkaOffsetRollbackSpec, KafkaOffsetRollbackStatus } from "../crds/generated/types.ts";
import { type Action, type Context, runController } from "../engine/k8s/controller.ts";
import { ignoreEditOfFinished } from "../engine/k8s/finished.ts";
import { configMapName, loadRollbackSnapshot, writeOwnedConfigMap } from "../engine/k8s/offset-snapshots.ts";
import { type CustomResource, keyOf } from "../engine/k8s/resource.ts";
import { type ReadyCondition, waitForConfiguration, writeFinalStatus } from "../engine/k8s/status.ts";
import { KafkaClient } from "../engine/kafka/client.ts";
import { resolveKafkaCluster } from "../engine/kafka/spec.ts";
import { type RollbackResult, rollbackOffsets } from "../engine/offsets/reset.ts";
import { boundedGroupResults, summarize } from "../engine/offsets/results.ts";
import type { OffsetSnapshot } from "../engine/offsets/snapshot.ts";

// ── What it watches ────────────────────────────────────────────────────────────────────────────

type KafkaOffsetRollback = CustomResource<KafkaOffsetRollbackSpec, KafkaOffsetRollbackStatus>;
type Ctx = Context<KafkaOffsetRollbackSpec, KafkaOffsetRollbackStatus>;

const pvcMountRoot = process.env.PVC_MOUNT_ROOT ?? "/data";
const terminal = new Set(["Completed", "PartiallyCompleted", "Failed"]);
/** Mismatching partitions listed in status; the rest are counted in the message. */
const maxMismatchesInStatus = 1000;

// ── How it decides ─────────────────────────────────────────────────────────────────────────────

async function reconcile(o: KafkaOffsetRollback, ctx: Ctx): Promise<Action> {
  const key = keyOf(o);
  const status = o.status ?? {};
  if (ctx.work.running(key)) return { requeueAfterMs: 30_000 };
  if (status.phase && terminal.has(status.phase)) {
    await ignoreEditOfFinished(ctx, o);
    return {};
  }
  // New, or left Running by a controller that stopped: committing a snapshot again is harmless.
  return await start(ctx, o);
}

interface Resolved {
  kafka: KafkaClient;
  snapshot: OffsetSnapshot;
  from: string;
}

async function resolve(ctx: Ctx, o: KafkaOffsetRollback): Promise<Resolved> {
  const { namespace, name } = o.metadata;
  const read = ctx.secrets(namespace);
  const cluster = await resolveKafkaCluster(o.spec.kafkaCluster, read, `kafka-backup-operator/${namespace}/${name}`);
  const { snapshot, from } = await loadRollbackSnapshot(ctx.kube, namespace, o.spec.snapshotRef, {
    pvcMountRoot,
    logger: ctx.log,
  });
  return { kafka: new KafkaClient(cluster, ctx.log), snapshot, from };
}

async function start(ctx: Ctx, o: KafkaOffsetRollback): Promise<Action> {
  let resolved: Resolved;
  try {
    resolved = await resolve(ctx, o);
  } catch (err) {
    return await waitForConfiguration(ctx, o, err);
  }
  const groups = o.spec.consumerGroups?.length ? o.spec.consumerGroups : resolved.snapshot.groups.map((g) => g.groupId);
  let claimed: KafkaOffsetRollback;
  try {
    claimed = await ctx.resources.patchStatus(
      o,
      {
        phase: "Running",
        message: `${o.spec.dryRun ? "dry run of a rollback" : "rollback"} of ${groups.length} groups to snapshot ${resolved.snapshot.snapshotId}`,
        observedGeneration: o.metadata.generation,
        startTime: new Date().toISOString(),
        groupsTotal: new Set(groups).size,
        snapshotPath: resolved.from,
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
    "RollbackStarted",
    `rolling back ${groups.length} groups to snapshot ${resolved.snapshot.snapshotId} (${resolved.from})`,
  );
  ctx.work.start(keyOf(o), (signal) => execute(ctx, claimed, resolved, groups, signal), ctx.shutdown);
  return { requeueAfterMs: 30_000 };
}

// ── What it writes ─────────────────────────────────────────────────────────────────────────────

async function execute(ctx: Ctx, o: KafkaOffsetRollback, r: Resolved, groups: string[], signal: AbortSignal): Promise<void> {
  const started = Date.now();
  const dryRun = o.spec.dryRun ?? false;
  let result: RollbackResult;
  try {
    result = await rollbackOffsets(r.kafka, r.snapshot, {
      groups,
      dryRun,
      verify: o.spec.verifyAfterRollback ?? true,
      parallelism: 50,
      continueOnError: true,
      signal,
      log: ctx.log,
    });
  } catch (err) {
    const message = `rollback failed: ${(err as Error).message}`;
    await writeFinalStatus(
      ctx,
      o,
      { phase: "Failed", message, completionTime: new Date().toISOString() },
      { status: "False", reason: "RollbackFailed", message },
    ).catch(() => {});
    await ctx.events.record(o, "Warning", "RollbackFailed", message);
    return;
  } finally {
    await r.kafka.close();
  }
  if (signal.aborted && signal.reason instanceof Error && signal.reason.message === "shutdown") return;

  const summary = summarize(result.outcomes, result.total, { dryRun, verb: "rolled back", stoppedEarly: result.stoppedEarly });
  const v = result.verification;
  const mismatched = !dryRun && v !== undefined && !v.allMatched;
  let phase = summary.phase;
  if (mismatched && phase === "Completed") phase = v.matchedGroups > 0 ? "PartiallyCompleted" : "Failed";
  let message = summary.message;
  if (v) {
    message += dryRun
      ? `; ${v.mismatches.length} partitions in ${v.mismatchedGroups.length} groups differ from the snapshot now`
      : v.allMatched
        ? `; verified: ${v.matchedGroups} groups match the snapshot`
        : `; verification: ${v.mismatches.length} partitions in ${v.mismatchedGroups.length} groups differ from the snapshot (${v.mismatchedGroups.slice(0, 5).join(", ")}${v.mismatchedGroups.length > 5 ? ", …" : ""})`;
  }
  const { results, complete } = boundedGroupResults(result.outcomes);
  let resultsRef: string | undefined;
  if (!complete || (v && (v.mismatches.length > maxMismatchesInStatus || v.mismatchedGroups.length > maxMismatchesInStatus))) {
    const cm = configMapName(`${o.metadata.name}-results`);
    const text = JSON.stringify({ groups: result.outcomes, verification: v });
    if (Buffer.byteLength(text) < 1_000_000) {
      await writeOwnedConfigMap(ctx.kube, o as CustomResource, cm, { "groups.json": text });
      resultsRef = `configmap/${cm}`;
    }
  }
  const status: Partial<KafkaOffsetRollbackStatus> = {
    phase,
    message,
    completionTime: new Date().toISOString(),
    duration: `${((Date.now() - started) / 1000).toFixed(2)}s`,
    groupsTotal: result.total,
    groupsRolledBack: summary.ok,
    groupsFailed: summary.failed,
    groupResults: results,
    observedGeneration: o.metadata.generation,
    ...(v
      ? {
          verified: !dryRun && v.allMatched,
          verification: {
            ...v,
            mismatchedGroups: v.mismatchedGroups.slice(0, maxMismatchesInStatus),
            mismatches: v.mismatches.slice(0, maxMismatchesInStatus),
          },
        }
      : {}),
    ...(resultsRef ? { resultsRef } : {}),
  };
  const ready: ReadyCondition =
    phase === "Completed"
      ? { status: "True", reason: dryRun ? "DryRunPassed" : "RollbackSucceeded", message }
      : {
          status: "False",
          reason: mismatched ? "VerificationFailed" : phase === "PartiallyCompleted" ? "PartialFailure" : "RollbackFailed",
          message,
        };
  await writeFinalStatus(ctx, o, status, ready);
  await ctx.events.record(o, phase === "Completed" ? "Normal" : "Warning", ready.reason ?? "RollbackFinished", message);
}

if (import.meta.main) {
  await runController<KafkaOffsetRollbackSpec, KafkaOffsetRollbackStatus>({
    kind: { group: "kafka.oso.sh", version: "v1alpha1", plural: "kafkaoffsetrollbacks", kind: "KafkaOffsetRollback" },
    finalizer: "kafka.oso.sh/offset-rollback-finalizer",
    component: "kafka-offset-rollback-controller",
    metricsKind: "KafkaOffsetRollback",
    reconcile,
  });
}

export { reconcile };
