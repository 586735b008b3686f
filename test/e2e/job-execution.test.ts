// execution.mode job end to end (issue #13): the KafkaBackup and KafkaRestore controllers create
// Indexed Jobs that the real kube-apiserver accepts; each pod's command runs as a local process
// with the pod's environment, index and Secret volume (no kubelet here); the resources end
// Completed with exact data. A shard that fails for good fails the restore naming the shard and
// its reason; a Job past activeDeadlineSeconds fails its backup (no job controller runs here, so
// the controller enforces it) and is deleted.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { V1Job } from "@kubernetes/client-node";
import { parse as parseYaml } from "yaml";
import { readManifest } from "../../engine/backupset/catalog.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { repoRoot } from "../stack/config.ts";
import { type JavaRecord, javaDump, minioStore, readBackup } from "../support/backup.ts";
import { apply, events, minioSecret, s3Storage, topicWith } from "../support/e2e.ts";
import { runJobPods } from "../support/jobs.ts";
import {
  applyCrds,
  createNamespace,
  getObject,
  kubectl,
  kubectlTry,
  type RunningController,
  startController,
  waitFor,
} from "../support/kube.ts";
import { stackEnv } from "../support/stack-env.ts";

interface RunStatus {
  phase?: string;
  message?: string;
  backupId?: string;
  recordsProcessed?: number;
  recordsRestored?: number;
  job?: { name?: string; workers?: number; succeeded?: number; failed?: number; failedShard?: number; failureReason?: string };
  conditions?: Array<{ type: string; reason: string; message: string }>;
}

let kafka: KafkaClient;
let namespace: string;
let store: StorageBackend;
let topic: string;
const prefix = `jobs-${Date.now()}`;
const controllers: RunningController[] = [];
const kafkaCluster = () => ({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
const statusOf = (kind: string, name: string) => getObject<{ status?: RunStatus }>(kind, namespace, name).status ?? {};
const finished = (kind: string, name: string) =>
  waitFor(
    `${kind} ${name} to finish`,
    () => {
      const s = statusOf(kind, name);
      return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
    },
    180_000,
  );
const jobOf = (kind: string, name: string) => waitFor(`${kind} ${name}'s Job`, () => statusOf(kind, name).job?.name);
const identity = (r: JavaRecord) => `${r.partition}/${r.offset}/${r.key}/${r.value}`;
const byOffset = (a: JavaRecord, b: JavaRecord) => a.partition - b.partition || a.offset - b.offset;

before(async () => {
  applyCrds();
  kafka = new KafkaClient(kafkaCluster());
  namespace = createNamespace("jobs");
  minioSecret(namespace);
  store = await minioStore(prefix);
  topic = await topicWith(kafka, 24, 400, 80);
  const env = { WATCH_NAMESPACES: namespace, LEADER_ELECTION_NAMESPACE: namespace, WORKER_IMAGE: "kafka-backup-operator:e2e" };
  controllers.push(await startController("controllers/backup.ts", env), await startController("controllers/restore.ts", env));
});
after(async () => {
  for (const c of controllers) await c.stop("SIGKILL");
  await kafka.close();
});

describe("execution.mode job", () => {
  test("a KafkaBackup (the example's execution block) and a KafkaRestore as Indexed Jobs, their pods run as local processes: Completed, exact data", async () => {
    // examples/kafkabackup-sharded-job.yaml with this stack's cluster, topic and storage, one-shot.
    const example = parseYaml(readFileSync(join(repoRoot, "examples/kafkabackup-sharded-job.yaml"), "utf8")) as {
      spec: { execution: { workers: number } };
    };
    const { execution } = example.spec;
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "sharded" },
      spec: { kafkaCluster: kafkaCluster(), topics: [topic], storage: s3Storage(prefix), segmentMaxRecords: 100, execution },
    });
    const jobName = await jobOf("kafkabackup", "sharded");
    // Accepted by the real API server as the controller wrote it.
    const job = getObject<V1Job>("job", namespace, jobName);
    assert.equal(job.spec?.completionMode, "Indexed");
    assert.equal(job.spec?.completions, execution.workers);
    assert.equal(job.spec?.activeDeadlineSeconds, 7200);
    assert.equal(job.spec?.template.spec?.nodeSelector?.pool, "backup");
    assert.equal(job.spec?.template.spec?.serviceAccountName, "kafka-backup-worker");
    assert.ok(!JSON.stringify(job).includes(stackEnv("S3_SECRET_ACCESS_KEY")), "no Secret value in the Job");
    const pods = await runJobPods(namespace, jobName);
    for (const pod of pods) assert.equal(pod.code, 0, `pod ${pod.index}: ${pod.output.slice(-2000)}`);
    const backup = await finished("kafkabackup", "sharded");
    assert.equal(backup.phase, "Completed", backup.message);
    assert.equal(backup.job?.succeeded, execution.workers);
    assert.equal(backup.recordsProcessed, 24 * 400);
    const source = javaDump(topic).sort(byOffset);
    const stored = ((await readBackup(store, backup.backupId as string)).records.get(topic) ?? []).sort(byOffset);
    assert.deepEqual(stored.map(identity), source.map(identity));

    const target = `${topic}-restored`;
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaRestore",
      metadata: { name: "sharded" },
      spec: {
        backupRef: { name: "sharded" },
        kafkaCluster: kafkaCluster(),
        topics: [topic],
        topicMapping: { [topic]: target },
        createTopics: true,
        execution: { mode: "job", workers: 2 },
      },
    });
    const restoreJob = await jobOf("kafkarestore", "sharded");
    for (const pod of await runJobPods(namespace, restoreJob))
      assert.equal(pod.code, 0, `pod ${pod.index}: ${pod.output.slice(-2000)}`);
    const restore = await finished("kafkarestore", "sharded");
    assert.equal(restore.phase, "Completed", restore.message);
    assert.equal(restore.recordsRestored, source.length);
    assert.deepEqual(javaDump(target).sort(byOffset).map(identity), source.map(identity));
  });

  test("a shard that fails for good fails the restore, naming the shard and its reason; the Job is deleted", async () => {
    const backupId = statusOf("kafkabackup", "sharded").backupId as string;
    assert.ok(backupId, "runs after the first test");
    // One segment of partition 5 damaged in storage: whichever shard owns it cannot restore it, ever.
    const manifest = await readManifest(store, backupId);
    const segment = manifest.topics[0]?.partitions.find((p) => p.partition === 5)?.segments[0];
    assert.ok(segment);
    const body = (await store.getBuffer(segment.key)).body;
    body[body.length - 1] = (body[body.length - 1] as number) ^ 0xff;
    await store.put(segment.key, body);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaRestore",
      metadata: { name: "damaged" },
      spec: {
        backupRef: { name: "sharded", backupId },
        kafkaCluster: kafkaCluster(),
        topics: [topic],
        topicMapping: { [topic]: `${topic}-damaged` },
        createTopics: true,
        execution: { mode: "job", workers: 2 },
      },
    });
    const jobName = await jobOf("kafkarestore", "damaged");
    const pods = await runJobPods(namespace, jobName);
    const failed = pods.filter((p) => p.code !== 0);
    assert.equal(failed.length, 1, pods.map((p) => `${p.index}: ${p.code}`).join(", "));
    // Exit code 2: the Job's pod failure policy fails that index without retries.
    assert.equal(failed[0]?.code, 2, failed[0]?.output.slice(-2000));
    const restore = await finished("kafkarestore", "damaged");
    assert.equal(restore.phase, "Failed");
    assert.equal(restore.job?.failedShard, failed[0]?.index);
    assert.equal(restore.job?.failureReason, "CorruptSegment");
    assert.match(restore.message ?? "", new RegExp(`shard ${failed[0]?.index} of 2 failed permanently \\(CorruptSegment\\)`));
    assert.equal(restore.conditions?.find((c) => c.type === "Ready")?.reason, "CorruptSegment");
    assert.ok(events(namespace, "damaged").some((e) => e.type === "Warning" && e.reason === "CorruptSegment"));
    await waitFor("the failed Job to be deleted", () =>
      kubectlTry(["get", "job", "-n", namespace, jobName]).code !== 0 ? true : undefined,
    );
  });

  test("a failed sharded restore with autoRollbackOnFailure puts the offsets back from its snapshot: RolledBack", async () => {
    // Runs after the test above: the backup still has its damaged segment.
    const backupId = statusOf("kafkabackup", "sharded").backupId as string;
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaRestore",
      metadata: { name: "damaged-rollback" },
      spec: {
        backupRef: { name: "sharded", backupId },
        kafkaCluster: kafkaCluster(),
        topics: [topic],
        topicMapping: { [topic]: `${topic}-damaged-rollback` },
        createTopics: true,
        rollback: { snapshotBeforeRestore: true, autoRollbackOnFailure: true },
        execution: { mode: "job", workers: 2 },
      },
    });
    const jobName = await jobOf("kafkarestore", "damaged-rollback");
    const taken = statusOf("kafkarestore", "damaged-rollback") as RunStatus & { rollback?: { snapshotPath?: string } };
    assert.match(taken.rollback?.snapshotPath ?? "", /^configmap\//, "the snapshot is taken before the Job starts");
    const pods = await runJobPods(namespace, jobName);
    assert.equal(pods.filter((p) => p.code === 2).length, 1);
    const restore = await waitFor("RolledBack", () => {
      const s = statusOf("kafkarestore", "damaged-rollback");
      return s.phase === "RolledBack" || s.phase === "Failed" ? s : undefined;
    });
    assert.equal(restore.phase, "RolledBack", restore.message);
    assert.match(restore.message ?? "", /failed permanently \(CorruptSegment\).*rolled back to snapshot .* \(verified\)/);
    assert.equal(restore.conditions?.find((c) => c.type === "Ready")?.reason, "CorruptSegment");
    assert.ok(events(namespace, "damaged-rollback").some((e) => e.reason === "RolledBack"));
  });

  test("a Job past activeDeadlineSeconds fails its backup with DeadlineExceeded and is deleted", async () => {
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "late" },
      spec: {
        kafkaCluster: kafkaCluster(),
        topics: [topic],
        storage: s3Storage(`${prefix}-late`),
        execution: { mode: "job", workers: 2, activeDeadlineSeconds: 3 },
      },
    });
    const jobName = await jobOf("kafkabackup", "late");
    // No pod ever runs: the deadline passes with both shards unfinished.
    const backup = await finished("kafkabackup", "late");
    assert.equal(backup.phase, "Failed");
    assert.equal(backup.job?.failureReason, "DeadlineExceeded");
    assert.match(backup.message ?? "", /activeDeadlineSeconds \(3s\) with shard 0 of 2, shard 1 of 2 unfinished/);
    await waitFor("the expired Job to be deleted", () =>
      kubectlTry(["get", "job", "-n", namespace, jobName]).code !== 0 ? true : undefined,
    );
  });

  test("a Job the API server rejects (requests above limits) fails the backup with the server's message", async () => {
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "rejected" },
      spec: {
        kafkaCluster: kafkaCluster(),
        topics: [topic],
        storage: s3Storage(`${prefix}-rejected`),
        execution: { mode: "job", workers: 2, resources: { requests: { cpu: "2" }, limits: { cpu: "1" } } },
      },
    });
    const backup = await finished("kafkabackup", "rejected");
    assert.equal(backup.phase, "Failed");
    assert.equal(backup.conditions?.find((c) => c.type === "Ready")?.reason, "JobRejected");
    assert.match(backup.message ?? "", /the API server rejected Job .*HTTP 422/);
  });

  test("a Job the Job controller fails (its status patched as that controller writes it) fails the backup naming the index", async () => {
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "index-failed" },
      spec: {
        kafkaCluster: kafkaCluster(),
        topics: [topic],
        storage: s3Storage(`${prefix}-index-failed`),
        execution: { mode: "job", workers: 2 },
      },
    });
    const jobName = await jobOf("kafkabackup", "index-failed");
    // What the Job controller writes when index 1 exhausted backoffLimitPerIndex (FailureTarget, then Failed).
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const condition = (type: string) => ({
      type,
      status: "True",
      reason: "FailedIndexes",
      message: "Job has failed indexes",
      lastProbeTime: now,
      lastTransitionTime: now,
    });
    // With the local node up, the real Job controller has started the Job (startTime, active pods
    // that cannot start: the image is not on the node); a finished Job has none active, as the
    // API server checks.
    const current = getObject<{ status?: { startTime?: string; active?: number } }>("job", namespace, jobName).status ?? {};
    kubectl([
      "patch",
      "job",
      jobName,
      "-n",
      namespace,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({
        status: {
          ...(current.startTime ? {} : { startTime: now }),
          ...(current.active !== undefined ? { active: 0, ready: 0, terminating: 0 } : {}),
          failed: 4,
          failedIndexes: "1",
          conditions: [condition("FailureTarget"), condition("Failed")],
        },
      }),
    ]);
    const backup = await finished("kafkabackup", "index-failed");
    assert.equal(backup.phase, "Failed");
    assert.equal(backup.job?.failedShard, 1);
    assert.equal(backup.job?.failed, 4);
    assert.match(backup.message ?? "", /Job .* failed \(FailedIndexes: Job has failed indexes\); shard 1 of 2 failed/);
    await waitFor("the failed Job to be deleted", () =>
      kubectlTry(["get", "job", "-n", namespace, jobName]).code !== 0 ? true : undefined,
    );
  });
});
