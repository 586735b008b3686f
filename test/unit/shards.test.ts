// Sharded runs (issue #13), the pure parts: who owns which partition, what the shards' reports add
// up to, the Job a run becomes, and the controller's verdict on it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { V1Job } from "@kubernetes/client-node";
import { judgeWorkerJob, recordingSecretReader, workerJob, workerJobName } from "../../engine/k8s/jobs.ts";
import type { CustomResource } from "../../engine/k8s/resource.ts";
import { assignShards, checkShard, shareOf } from "../../engine/shards/assignment.ts";
import { type ShardReport, summarizeShards } from "../../engine/shards/report.ts";

describe("shard assignment", () => {
  const name = (p: { topic: string; partition: number }) => `${p.topic}/${p.partition}`;
  test("equal partitions spread evenly; the same input gives the same owners", () => {
    const parts = Array.from({ length: 24 }, (_, partition) => ({ topic: "t", partition, size: 100 }));
    const owners = assignShards(parts, 3, (p) => p.size, name);
    assert.deepEqual(
      [0, 1, 2].map((s) => owners.filter((o) => o === s).length),
      [8, 8, 8],
    );
    assert.deepEqual(
      assignShards([...parts].reverse(), 3, (p) => p.size, name).reverse(),
      owners,
      "order of input does not matter",
    );
  });

  test("balanced by size: the big partitions go to different workers", () => {
    const sizes = [1000, 900, 100, 100, 100, 100, 100, 100, 50, 50];
    const parts = sizes.map((size, partition) => ({ topic: "t", partition, size }));
    const loads = [0, 0];
    for (const [at, owner] of assignShards(parts, 2, (p) => p.size, name).entries())
      loads[owner] = (loads[owner] ?? 0) + (sizes[at] ?? 0);
    assert.ok(Math.abs((loads[0] as number) - (loads[1] as number)) <= 100, `loads ${loads}`);
    // Every item has exactly one owner across the shares.
    const shares = [0, 1].map((index) => shareOf(parts, { index, count: 2 }, (p) => p.size, name));
    assert.equal(shares.flat().length, parts.length);
    assert.equal(new Set(shares.flat()).size, parts.length);
  });

  test("more workers than partitions: some shards own nothing", () => {
    const owners = assignShards([{ topic: "t", partition: 0 }], 4, () => 0, name);
    assert.deepEqual(owners, [0]);
  });

  test("a bad index or count names JOB_COMPLETION_INDEX / the workers", () => {
    assert.throws(() => checkShard({ index: 3, count: 3 }), /shard index 3 is outside 0…2 \(JOB_COMPLETION_INDEX\)/);
    assert.throws(() => checkShard({ index: 0, count: 0 }), /workers must be a whole number/);
    assert.deepEqual(checkShard({ index: 2, count: 3 }), { index: 2, count: 3 });
  });
});

const report = (index: number, state: ShardReport["state"], extra: Partial<ShardReport> = {}): ShardReport => ({
  format: "kafka-backup-operator/shard-report",
  index,
  count: 3,
  state,
  units: 8,
  records: 100,
  bytes: 1000,
  percent: state === "Completed" ? 100 : 50,
  updatedAt: new Date().toISOString(),
  ...extra,
});

describe("shard reports", () => {
  test("add up records, bytes and progress; a shard not reported yet counts 0%", () => {
    const s = summarizeShards([report(0, "Completed"), report(1, "Running"), undefined]);
    assert.equal(s.records, 200);
    assert.equal(s.bytes, 2000);
    assert.equal(s.percent, 50);
    assert.equal(s.completed, 1);
    assert.equal(s.running, 1);
    assert.deepEqual(s.unfinished, [1, 2]);
    assert.equal(s.failed, undefined);
  });
  test("name the first failed shard with its reason", () => {
    const s = summarizeShards([
      report(0, "Running"),
      report(1, "Failed", { reason: "CorruptSegment", message: "bad", permanent: true }),
      report(2, "Failed"),
    ]);
    assert.deepEqual(s.failed, { index: 1, reason: "CorruptSegment", message: "bad", permanent: true });
  });
});

const owner: CustomResource = {
  apiVersion: "kafka.oso.sh/v1alpha1",
  kind: "KafkaBackup",
  metadata: { name: "orders", namespace: "team", uid: "u-1", generation: 1, resourceVersion: "1", creationTimestamp: "" },
  spec: {},
} as unknown as CustomResource;

describe("the worker Job", () => {
  const job = workerJob({
    name: workerJobName("orders", "orders-20260101-000000"),
    owner,
    operation: "backup",
    image: "registry.example.com/kbo:1",
    spec: { topics: ["t"], storage: { storageType: "s3", s3: { credentialsSecret: { name: "minio" } } } },
    args: ["--backup-id", "orders-20260101-000000"],
    secrets: [
      { secretName: "minio", key: "AWS_ACCESS_KEY_ID" },
      { secretName: "minio", key: "AWS_SECRET_ACCESS_KEY" },
      { secretName: "kafka-tls", key: "ca.crt" },
    ],
    execution: {
      mode: "job",
      workers: 4,
      activeDeadlineSeconds: 600,
      nodeSelector: { pool: "backup" },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "backup", effect: "NoSchedule" }],
      serviceAccountName: "backup-workers",
      resources: { requests: { cpu: "1", memory: "1Gi" } },
    },
  });
  const pod = job.spec?.template.spec;
  const container = pod?.containers[0];

  test("is an Indexed Job of N workers, owned by the resource, with the deadline and the pod settings", () => {
    assert.equal(job.metadata?.name, `orders-${job.metadata?.name?.slice(-8)}`);
    assert.ok((job.metadata?.name?.length ?? 0) <= 63);
    assert.equal(job.spec?.completionMode, "Indexed");
    assert.equal(job.spec?.completions, 4);
    assert.equal(job.spec?.parallelism, 4);
    assert.equal(job.spec?.activeDeadlineSeconds, 600);
    assert.deepEqual(job.metadata?.ownerReferences, [
      { apiVersion: "kafka.oso.sh/v1alpha1", kind: "KafkaBackup", name: "orders", uid: "u-1", controller: true },
    ]);
    assert.deepEqual(pod?.nodeSelector, { pool: "backup" });
    assert.equal(pod?.serviceAccountName, "backup-workers");
    assert.equal(pod?.tolerations?.[0]?.key, "dedicated");
    assert.deepEqual(container?.resources, { requests: { cpu: "1", memory: "1Gi" } });
    assert.deepEqual(container?.command, [
      "node",
      "dist/cli/kafka-backup.js",
      "worker",
      "backup",
      "--shards",
      "4",
      "--backup-id",
      "orders-20260101-000000",
    ]);
    // A permanent failure (exit 2) fails its index at once; a crash is retried.
    assert.deepEqual(job.spec?.podFailurePolicy?.rules[0]?.onExitCodes?.values, [2]);
    assert.equal(pod?.restartPolicy, "Never");
  });

  test("carries Secret references only: the keys arrive through one projected volume", () => {
    const volume = pod?.volumes?.find((v) => v.name === "secrets");
    assert.deepEqual(volume?.projected?.sources, [
      {
        secret: {
          name: "minio",
          items: [
            { key: "AWS_ACCESS_KEY_ID", path: "minio/AWS_ACCESS_KEY_ID" },
            { key: "AWS_SECRET_ACCESS_KEY", path: "minio/AWS_SECRET_ACCESS_KEY" },
          ],
        },
      },
      { secret: { name: "kafka-tls", items: [{ key: "ca.crt", path: "kafka-tls/ca.crt" }] } },
    ]);
    const mount = container?.volumeMounts?.find((m) => m.name === "secrets");
    assert.equal(container?.env?.find((e) => e.name === "KBO_SECRETS_DIR")?.value, mount?.mountPath);
    assert.deepEqual(JSON.parse(container?.env?.find((e) => e.name === "KBO_SPEC")?.value ?? "{}").storage.s3.credentialsSecret, {
      name: "minio",
    });
  });

  test("the recording reader lists the keys a spec reads, once each", async () => {
    const r = recordingSecretReader(async ({ key }) => `value-of-${key}`);
    assert.equal(await r.read({ field: "f", secretName: "b", key: "k" }), "value-of-k");
    await r.read({ field: "f", secretName: "a", key: "k" });
    await r.read({ field: "f", secretName: "b", key: "k" });
    assert.deepEqual(r.refs(), [
      { secretName: "a", key: "k" },
      { secretName: "b", key: "k" },
    ]);
  });
});

describe("the controller's verdict on a Job", () => {
  const created = "2026-01-01T00:00:00Z";
  const job = (status: V1Job["status"] = {}): V1Job => ({ metadata: { creationTimestamp: new Date(created) }, status });
  const at = (seconds: number) => Date.parse(created) + seconds * 1000;
  const judge = (reports: Array<ShardReport | undefined>, j: V1Job | undefined, now = at(10), deadlineSeconds?: number) =>
    judgeWorkerJob({
      name: "orders-1",
      workers: 3,
      job: j,
      shards: summarizeShards(reports),
      now,
      ...(deadlineSeconds ? { deadlineSeconds } : {}),
    });

  test("running while shards work; completed when every shard reports Completed", () => {
    assert.equal(judge([report(0, "Running"), undefined, report(2, "Completed")], job()).state, "running");
    const done = judge([report(0, "Completed"), report(1, "Completed"), report(2, "Completed")], job());
    assert.equal(done.state, "completed");
    assert.equal(done.job.succeeded, 3);
  });

  test("a permanent shard failure fails the run at once, naming the shard and its reason", () => {
    const v = judge(
      [
        report(0, "Running"),
        report(1, "Failed", { reason: "CorruptSegment", message: "segment x: SHA-256 mismatch", permanent: true }),
        undefined,
      ],
      job(),
    );
    assert.equal(v.state, "failed");
    assert.ok(v.state === "failed" && v.reason === "CorruptSegment");
    assert.match(v.state === "failed" ? v.message : "", /shard 1 of 3 failed permanently \(CorruptSegment\): segment x/);
    assert.equal(v.job.failedShard, 1);
  });

  test("a transient shard failure waits for the Job's retries", () => {
    assert.equal(
      judge([report(0, "Failed", { reason: "KafkaUnavailable", message: "down" }), undefined, undefined], job()).state,
      "running",
    );
  });

  test("a failed Job (the job controller's verdict) names the failed index and the shard's own reason", () => {
    const v = judge(
      [report(0, "Completed"), undefined, report(2, "Failed", { reason: "KafkaUnavailable", message: "broker down" })],
      job({
        failedIndexes: "2",
        failed: 4,
        conditions: [{ type: "Failed", status: "True", reason: "FailedIndexes", message: "Job has failed indexes" }],
      }),
    );
    assert.equal(v.state, "failed");
    assert.ok(v.state === "failed" && v.reason === "KafkaUnavailable");
    assert.match(v.state === "failed" ? v.message : "", /FailedIndexes.*shard 2 of 3 failed \(KafkaUnavailable\): broker down/);
    assert.equal(v.job.failedShard, 2);
    assert.equal(v.job.failed, 4);
  });

  test("a Job the API server rejected fails the run with its message", () => {
    const v = judgeWorkerJob({
      name: "orders-1",
      workers: 3,
      job: undefined,
      rejected: "the API server rejected Job team/orders-1: HTTP 422: invalid",
      shards: summarizeShards([undefined, undefined, undefined]),
      now: at(1),
    });
    assert.equal(v.state, "failed");
    assert.ok(v.state === "failed" && v.reason === "JobRejected" && /HTTP 422/.test(v.message));
  });

  test("the deadline is enforced from the Job's start, naming the unfinished shards", () => {
    const reports = [report(0, "Completed"), report(1, "Running"), undefined];
    assert.equal(judge(reports, job(), at(59), 60).state, "running");
    const v = judge(reports, job(), at(61), 60);
    assert.equal(v.state, "failed");
    assert.ok(v.state === "failed" && v.reason === "DeadlineExceeded");
    assert.match(
      v.state === "failed" ? v.message : "",
      /activeDeadlineSeconds \(60s\) with shard 1 of 3, shard 2 of 3 unfinished/,
    );
    assert.equal(v.job.failedShard, 1);
  });
});
