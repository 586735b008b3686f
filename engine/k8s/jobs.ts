// Work as a Kubernetes Indexed Job (execution.mode job, issue #13): the Job a run becomes, and
// what the controller concludes from it. Kubernetes runs the workers; each worker reports to
// storage (engine/shards/report.ts); the controller only creates the Job, reads the reports and the
// Job's status, and decides. The Job spec carries no Secret value: the Secrets the spec names are
// mounted as one projected volume, laid out as the CLI reads them (<dir>/<secret>/<key>).
import { createHash } from "node:crypto";
import type { V1Job, V1ResourceRequirements } from "@kubernetes/client-node";
import type { ExecutionSpec, JobStatus } from "../../crds/generated/types.ts";
import { readShardReports, type ShardSummary, summarizeShards } from "../shards/report.ts";
import type { StorageBackend } from "../storage/backend.ts";
import type { SecretKeyRef, SecretReader } from "../storage/config.ts";
import { apiErrorMessage, httpCode, type Kube } from "./client.ts";
import type { CustomResource } from "./resource.ts";

/** Where the worker pods see the Secrets, and the bundled CLI they run (Dockerfile). */
export const workerSecretsDir = "/var/run/kafka-backup/secrets";
export const workerEntry = "dist/cli/kafka-backup.js";
/** Exit code of a worker whose failure a restart cannot fix: the pod failure policy fails its index. */
export const permanentExitCode = 2;

export class ExecutionError extends Error {
  readonly reason = "InvalidExecution";
  override name = "ExecutionError";
}

export const jobMode = (execution: ExecutionSpec | undefined): boolean => execution?.mode === "job";

/** A SecretReader that remembers what it read: the keys the worker pods need mounted. */
export function recordingSecretReader(read: SecretReader): {
  read: SecretReader;
  refs: () => Array<{ secretName: string; key: string }>;
} {
  const seen = new Map<string, { secretName: string; key: string }>();
  return {
    read: async (ref: SecretKeyRef) => {
      const value = await read(ref);
      seen.set(`${ref.secretName}\u0000${ref.key}`, { secretName: ref.secretName, key: ref.key });
      return value;
    },
    refs: () => [...seen.values()].sort((a, b) => a.secretName.localeCompare(b.secretName) || a.key.localeCompare(b.key)),
  };
}

/** A Job name per run: stable (a restarted controller finds its Job), ≤ 63 characters (pod labels). */
export function workerJobName(owner: string, runId: string): string {
  const hash = createHash("sha256").update(runId).digest("hex").slice(0, 8);
  return `${owner.slice(0, 40).replace(/-+$/, "")}-${hash}`;
}

export interface WorkerJobPlan {
  name: string;
  owner: CustomResource;
  operation: "backup" | "restore";
  image: string;
  /** The worker's spec: Secret references only, never values. */
  spec: unknown;
  /** Arguments after `worker <operation>`: ids, the encryption key's Secret. */
  args: string[];
  secrets: Array<{ secretName: string; key: string }>;
  execution: ExecutionSpec;
  /** PVC storage: the claim the workers mount at /data/<claim>. */
  pvcClaim?: string;
}

/** The Indexed Job of a run: pure, unit-tested. */
export function workerJob(plan: WorkerJobPlan): V1Job {
  const workers = plan.execution.workers ?? 1;
  const { namespace, name: ownerName, uid } = plan.owner.metadata;
  const labels = {
    "app.kubernetes.io/managed-by": "kafka-backup-operator",
    "app.kubernetes.io/component": `${plan.operation}-worker`,
    "kafka.oso.sh/owner": ownerName.slice(0, 63),
  };
  // One projected volume; each Secret's keys under <secret>/<key>, as folderSecretReader reads them.
  const bySecret = new Map<string, string[]>();
  for (const { secretName, key } of plan.secrets) bySecret.set(secretName, [...(bySecret.get(secretName) ?? []), key]);
  const e = plan.execution;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: plan.name,
      namespace,
      labels,
      ownerReferences: [
        { apiVersion: plan.owner.apiVersion, kind: plan.owner.kind, name: ownerName, uid: uid ?? "", controller: true },
      ],
    },
    spec: {
      completionMode: "Indexed",
      completions: workers,
      parallelism: workers,
      // A crashed worker is replaced (it resumes from its checkpoints) a few times per index; a
      // worker that reports a permanent failure fails its index at once.
      backoffLimitPerIndex: 3,
      maxFailedIndexes: 0,
      podReplacementPolicy: "Failed",
      podFailurePolicy: {
        rules: [{ action: "FailIndex", onExitCodes: { containerName: "worker", operator: "In", values: [permanentExitCode] } }],
      },
      ...(e.activeDeadlineSeconds ? { activeDeadlineSeconds: e.activeDeadlineSeconds } : {}),
      ttlSecondsAfterFinished: 86_400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          ...(e.serviceAccountName ? { serviceAccountName: e.serviceAccountName } : {}),
          // Workers need no API access.
          automountServiceAccountToken: false,
          ...(e.nodeSelector ? { nodeSelector: e.nodeSelector } : {}),
          ...(e.tolerations ? { tolerations: e.tolerations } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            fsGroup: 1000,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "worker",
              image: plan.image,
              command: ["node", workerEntry, "worker", plan.operation, "--shards", String(workers), ...plan.args],
              env: [
                { name: "KBO_SPEC", value: JSON.stringify(plan.spec) },
                { name: "KBO_SECRETS_DIR", value: workerSecretsDir },
                ...(plan.pvcClaim ? [{ name: "KBO_PVC_ROOT", value: "/data" }] : []),
                // Small young-generation semi-spaces, as the controllers' containers (infra/controllers.ts nodeFlags).
                { name: "NODE_OPTIONS", value: "--enable-source-maps --max-semi-space-size=2" },
              ],
              ...(e.resources ? { resources: e.resources as V1ResourceRequirements } : {}),
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              volumeMounts: [
                { name: "tmp", mountPath: "/tmp" },
                ...(bySecret.size ? [{ name: "secrets", mountPath: workerSecretsDir, readOnly: true }] : []),
                ...(plan.pvcClaim ? [{ name: "backups", mountPath: `/data/${plan.pvcClaim}` }] : []),
              ],
            },
          ],
          volumes: [
            { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
            ...(bySecret.size
              ? [
                  {
                    name: "secrets",
                    projected: {
                      defaultMode: 0o400,
                      sources: [...bySecret].map(([name, keys]) => ({
                        secret: { name, items: keys.map((key) => ({ key, path: `${name}/${key}` })) },
                      })),
                    },
                  },
                ]
              : []),
            ...(plan.pvcClaim ? [{ name: "backups", persistentVolumeClaim: { claimName: plan.pvcClaim } }] : []),
          ],
        },
      },
    },
  };
}

/** The API server refused the Job (invalid resources, a quota, an admission policy): retrying will not help. */
export class JobRejectedError extends Error {
  readonly reason = "JobRejected";
  override name = "JobRejectedError";
}

/** Creates the run's Job, or finds it (a controller that restarted mid-run). */
export async function ensureWorkerJob(kube: Kube, job: V1Job): Promise<V1Job> {
  const namespace = job.metadata?.namespace as string;
  try {
    return await kube.batch.createNamespacedJob({ namespace, body: job });
  } catch (err) {
    const code = httpCode(err);
    if (code === 400 || code === 403 || code === 422) {
      throw new JobRejectedError(`the API server rejected Job ${namespace}/${job.metadata?.name}: ${apiErrorMessage(err)}`);
    }
    if (code !== 409) throw err;
    return await kube.batch.readNamespacedJob({ namespace, name: job.metadata?.name as string });
  }
}

/**
 * The run's Job as it is now; recreated when missing (the controller may have stopped between its
 * status write and the create, or someone deleted it: the workers resume from their checkpoints).
 */
export async function currentWorkerJob(kube: Kube, job: () => V1Job): Promise<{ job?: V1Job; rejected?: string }> {
  const wanted = job();
  const found = await readWorkerJob(kube, wanted.metadata?.namespace as string, wanted.metadata?.name as string);
  if (found) return { job: found };
  try {
    return { job: await ensureWorkerJob(kube, wanted) };
  } catch (err) {
    if (err instanceof JobRejectedError) return { rejected: err.message };
    throw err;
  }
}

export async function readWorkerJob(kube: Kube, namespace: string, name: string): Promise<V1Job | undefined> {
  try {
    return await kube.batch.readNamespacedJob({ namespace, name });
  } catch (err) {
    if (httpCode(err) === 404) return undefined;
    throw err;
  }
}

/** Deletes a Job and (through the garbage collector) its pods: stops a failed or cancelled run. */
export async function deleteWorkerJob(kube: Kube, namespace: string, name: string): Promise<void> {
  try {
    await kube.batch.deleteNamespacedJob({ namespace, name, propagationPolicy: "Background" });
  } catch (err) {
    if (httpCode(err) !== 404) throw err;
  }
}

export type JobVerdict =
  | { state: "running"; job: JobStatus }
  | { state: "completed"; job: JobStatus }
  | { state: "failed"; job: JobStatus; reason: string; message: string };

/**
 * What a run's Job and its shards' reports add up to. Pure. Failed when a shard reports a
 * permanent failure, when the Job has failed (a job controller's verdict: failed indexes, backoff,
 * deadline), or when activeDeadlineSeconds has passed since the Job started — enforced here too,
 * because the controller cannot count on a job controller (and a run is never left Running).
 * Completed when every shard reports Completed.
 */
export function judgeWorkerJob(input: {
  name: string;
  workers: number;
  job: V1Job | undefined;
  /** The API server refused to create the Job. */
  rejected?: string;
  shards: ShardSummary;
  now: number;
  deadlineSeconds?: number;
}): JobVerdict {
  const { name, workers, job, shards } = input;
  if (input.rejected) {
    return {
      state: "failed",
      reason: "JobRejected",
      message: input.rejected,
      job: { name, workers, failureReason: "JobRejected" },
    };
  }
  const failedIndexes = (job?.status?.failedIndexes ?? "")
    .split(",")
    .filter(Boolean)
    .map((x) => Number(x.split("-")[0]));
  const base: JobStatus = {
    name,
    workers,
    active: job?.status?.active ?? shards.running,
    succeeded: Math.max(job?.status?.succeeded ?? 0, shards.completed),
    failed: job?.status?.failed ?? (shards.failed ? 1 : 0),
  };
  const shardText = (index: number) => `shard ${index} of ${workers}`;
  if (shards.completed === workers) return { state: "completed", job: { ...base, active: 0 } };
  if (shards.failed?.permanent) {
    const { index, reason, message } = shards.failed;
    return {
      state: "failed",
      reason,
      message: `${shardText(index)} failed permanently (${reason}): ${message}`,
      job: { ...base, failedShard: index, failureReason: reason },
    };
  }
  const failedCondition = job?.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
  if (failedCondition) {
    const index = failedIndexes[0] ?? shards.failed?.index;
    const shardReason = index !== undefined && shards.failed?.index === index ? shards.failed : undefined;
    const reason = shardReason?.reason ?? failedCondition.reason ?? "JobFailed";
    return {
      state: "failed",
      reason,
      message:
        `Job ${name} failed (${failedCondition.reason ?? "Failed"}${failedCondition.message ? `: ${failedCondition.message}` : ""})` +
        (index !== undefined
          ? `; ${shardText(index)} failed${shardReason ? ` (${shardReason.reason}): ${shardReason.message}` : ""}`
          : ""),
      job: { ...base, ...(index !== undefined ? { failedShard: index } : {}), failureReason: reason },
    };
  }
  const startedAt = job?.status?.startTime ?? job?.metadata?.creationTimestamp;
  const started = startedAt ? new Date(startedAt).getTime() : Number.NaN;
  if (input.deadlineSeconds && Number.isFinite(started) && input.now > started + input.deadlineSeconds * 1000) {
    const unfinished = shards.unfinished.map(shardText);
    return {
      state: "failed",
      reason: "DeadlineExceeded",
      message: `Job ${name} passed execution.activeDeadlineSeconds (${input.deadlineSeconds}s) with ${unfinished.join(", ")} unfinished`,
      job: {
        ...base,
        ...(shards.unfinished[0] !== undefined ? { failedShard: shards.unfinished[0] } : {}),
        failureReason: "DeadlineExceeded",
      },
    };
  }
  return { state: "running", job: base };
}

/**
 * One look at a run's worker Job, as the backup and restore controllers take it each poll: the
 * Job (created again when missing), its shards' reports under `reportsDir`, and the verdict.
 */
export async function inspectWorkerJob(
  kube: Kube,
  o: { status?: { job?: JobStatus }; spec: { execution?: ExecutionSpec } },
  store: StorageBackend,
  reportsDir: string,
  wanted: () => V1Job,
): Promise<{ name: string; verdict: JobVerdict; shards: ShardSummary }> {
  const name = o.status?.job?.name as string;
  const workers = o.status?.job?.workers ?? o.spec.execution?.workers ?? 1;
  const { job, rejected } = await currentWorkerJob(kube, wanted);
  const shards = summarizeShards(await readShardReports(store, reportsDir, workers));
  const deadlineSeconds = o.spec.execution?.activeDeadlineSeconds;
  const verdict = judgeWorkerJob({
    name,
    workers,
    job,
    ...(rejected ? { rejected } : {}),
    shards,
    now: Date.now(),
    ...(deadlineSeconds ? { deadlineSeconds } : {}),
  });
  return { name, verdict, shards };
}
