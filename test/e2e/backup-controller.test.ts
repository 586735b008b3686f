// The KafkaBackup controller end to end: real kube-apiserver, Kafka and MinIO; the controller runs
// as a local process (its .ts source, and the bundle), exactly as in its pod but out of cluster.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { repoRoot } from "../stack/config.ts";
import { minioStore, readBackup } from "../support/backup.ts";
import { apply, events, minioSecret, s3Storage, topicWith } from "../support/e2e.ts";
import {
  applyCrds,
  createNamespace,
  getObject,
  kubectl,
  type RunningController,
  startController,
  waitFor,
} from "../support/kube.ts";
import { stackEnv } from "../support/stack-env.ts";

interface Status {
  phase?: string;
  backupId?: string;
  recordsProcessed?: number;
  lastScheduleTime?: string;
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
}

let kafka: KafkaClient;
const controllers: RunningController[] = [];

before(async () => {
  applyCrds();
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
});
after(async () => {
  for (const c of controllers) await c.stop("SIGKILL");
  await kafka.close();
});

/** The KafkaBackup controller from source, watching only the test's namespace. */
async function backupController(namespace: string): Promise<RunningController> {
  const controller = await startController("controllers/backup.ts", {
    WATCH_NAMESPACES: namespace,
    LEADER_ELECTION_NAMESPACE: namespace,
  });
  controllers.push(controller);
  return controller;
}

const status = (namespace: string, name: string) => getObject<{ status?: Status }>("kafkabackup", namespace, name).status ?? {};

describe("KafkaBackup controller", () => {
  test("an existing-operator-style manifest (TLS with a split CA Secret, 7-field cron, checkpoint, rate limiting, circuit breaker, retention) runs on schedule", async () => {
    const namespace = createNamespace("kb-style");
    const topic = await topicWith(kafka, 2, 200);
    minioSecret(namespace);
    // Strimzi's layout: the client's certificate in one Secret, the cluster CA in another.
    kubectl([
      "create",
      "secret",
      "generic",
      "my-user",
      "-n",
      namespace,
      `--from-file=user.crt=${stackEnv("KAFKA_CLIENT_CERT")}`,
      `--from-file=user.key=${stackEnv("KAFKA_CLIENT_KEY")}`,
    ]);
    kubectl([
      "create",
      "secret",
      "generic",
      "my-cluster-cluster-ca-cert",
      "-n",
      namespace,
      `--from-file=ca.crt=${stackEnv("KAFKA_CA_CERT")}`,
    ]);
    const controller = await backupController(namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "orders-backup" },
      spec: {
        kafkaCluster: {
          bootstrapServers: stackEnv("KAFKA_SSL_BOOTSTRAP_SERVERS").split(","),
          securityProtocol: "SSL",
          tlsSecret: { name: "my-user", certKey: "user.crt", keyKey: "user.key" },
          caSecret: { name: "my-cluster-cluster-ca-cert", caKey: "ca.crt" },
        },
        topics: [topic],
        storage: s3Storage(`e2e-style-${namespace}`),
        compression: "zstd",
        compressionLevel: 3,
        // Every 15 s: a later tick stores only what arrived since (nothing here), so the first
        // Completed must be seen before the next tick completes (at 5 s a loaded machine's polling
        // once saw the second, empty set first).
        schedule: "*/15 * * * * * *",
        checkpoint: { enabled: true, intervalSecs: 30 },
        rateLimiting: { maxConcurrentPartitions: 4 },
        circuitBreaker: { enabled: true, failureThreshold: 5, resetTimeoutSecs: 60 },
        retention: { enabled: true, keepLast: 2 },
      },
    });
    const first = await waitFor("a scheduled run to complete", () => {
      const s = status(namespace, "orders-backup");
      return s.phase === "Completed" ? s : undefined;
    });
    assert.equal(first.recordsProcessed, 400);
    // {namespace}.{name}-{YYYYMMDD-HHMMSS}: same-named KafkaBackups of two namespaces never share a set.
    assert.match(first.backupId ?? "", new RegExp(`^${namespace}\\.orders-backup-\\d{8}-\\d{6}$`));
    const ready = first.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.status, "True");
    assert.equal(ready?.reason, "BackupSucceeded");
    const store = await minioStore(`e2e-style-${namespace}`);
    const { records } = await readBackup(store, first.backupId as string);
    assert.equal(records.get(topic)?.length, 400);
    // Suspend is honoured at once and shown as a phase.
    kubectl(["patch", "kafkabackup", "orders-backup", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}']);
    await waitFor("phase Suspended", () => (status(namespace, "orders-backup").phase === "Suspended" ? true : undefined));
    assert.ok(events(namespace, "orders-backup").some((e) => e.reason === "BackupSucceeded"));
    // The operator's and the engine's metric families are on /metrics.
    const metrics = await (await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(
        `kafka_backup_operator_backups_total\\{outcome="success",resource_namespace="${namespace}",name="orders-backup"\\} \\d+`,
      ),
    );
    assert.match(metrics, /kafka_backup_operator_reconciliations_total\{kind="KafkaBackup"\} \d+/);
    assert.match(
      metrics,
      new RegExp(`kafka_backup_records_total\\{backup_id="${namespace}\\.orders-backup-\\d{8}-\\d{6}",topic="${topic}"\\} 400`),
    );
    assert.match(metrics, /kafka_backup_operator_build_info\{version="[^"]+"\} 1/);
    await controller.stop();
  });

  test("a missing Secret is a condition and an Event naming it; creating it recovers without touching the resource", async () => {
    const namespace = createNamespace("kb-secret");
    const topic = await topicWith(kafka, 1, 50);
    const controller = await backupController(namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "needs-secret" },
      spec: {
        kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
        topics: [topic],
        storage: s3Storage(`e2e-secret-${namespace}`),
      },
    });
    const condition = await waitFor("Ready=False", () =>
      status(namespace, "needs-secret").conditions?.find((c) => c.type === "Ready" && c.status === "False"),
    );
    assert.equal(condition.reason, "SecretNotFound");
    assert.match(condition.message, new RegExp(`Secret ${namespace}/minio-credentials not found`));
    const event = await waitFor("a Warning Event", () =>
      events(namespace, "needs-secret").find((e) => e.reason === "SecretNotFound"),
    );
    assert.equal(event.type, "Warning");
    assert.match(event.message, new RegExp(`${namespace}/minio-credentials`));
    minioSecret(namespace);
    const done = await waitFor("Completed after the Secret appears", () => {
      const s = status(namespace, "needs-secret");
      return s.phase === "Completed" ? s : undefined;
    });
    assert.equal(done.recordsProcessed, 50);
    await controller.stop();
  });

  test("two replicas and a schedule every 2 seconds: exactly one run per tick", async () => {
    const namespace = createNamespace("kb-ha");
    const topic = await topicWith(kafka, 1, 10);
    minioSecret(namespace);
    const env = { WATCH_NAMESPACES: namespace, LEADER_ELECTION_NAMESPACE: namespace, LEADER_ELECTION_LEASE_SECONDS: "6" };
    const a = await startController("controllers/backup.ts", env);
    const b = await startController("controllers/backup.ts", env);
    controllers.push(a, b);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "ticker" },
      spec: {
        kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
        topics: [topic],
        storage: s3Storage(`e2e-ha-${namespace}`),
        schedule: "*/2 * * * * *",
      },
    });
    const started = Date.now();
    await waitFor(
      "12 runs",
      () => (events(namespace, "ticker").filter((e) => e.reason === "BackupStarted").length >= 12 ? true : undefined),
      90_000,
    );
    kubectl(["patch", "kafkabackup", "ticker", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}']);
    await waitFor("Suspended", () => (status(namespace, "ticker").phase === "Suspended" ? true : undefined));
    const runs = events(namespace, "ticker")
      .filter((e) => e.reason === "BackupStarted")
      .map((e) => /backup (\S+) started/.exec(e.message)?.[1] ?? "");
    const distinct = new Set(runs);
    const seconds = (Date.now() - started) / 1000;
    console.log(`two replicas: ${runs.length} runs in ${seconds.toFixed(0)}s for ${distinct.size} distinct ticks`);
    assert.equal(runs.length, distinct.size, `a tick ran twice: ${runs.join(", ")}`);
    assert.ok(distinct.size >= 10);
    const store = await minioStore(`e2e-ha-${namespace}`);
    const { listBackupSets } = await import("../../engine/backupset/catalog.ts");
    assert.deepEqual((await listBackupSets(store)).sort(), [...distinct].sort());
    // Metric series stay bounded (#18): each controller exports the series of its KafkaBackup's
    // latest run only, not one set per run ever made (before: a backup_id per run, never removed).
    const exported = [];
    for (const c of [a, b]) {
      const metrics = await (await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`)).text();
      const ids = new Set([...metrics.matchAll(/backup_id="([^"]+)"/g)].map((m) => m[1]));
      assert.ok(ids.size <= 1, `series of ${ids.size} runs after ${distinct.size}: ${[...ids].join(", ")}`);
      exported.push(...ids);
    }
    assert.ok(exported.length >= 1, "the leader exports its latest run's series");
    await a.stop();
    await b.stop();
  });

  test("SIGKILL of the bundled controller mid-backup: the restarted one resumes and the backup is exact", async () => {
    execFileSync(process.execPath, [join(repoRoot, "build.ts")], { cwd: repoRoot, stdio: "ignore" });
    const namespace = createNamespace("kb-kill");
    const partitions = 3;
    const perPartition = 20_000;
    const topic = await topicWith(kafka, partitions, perPartition, 200);
    minioSecret(namespace);
    const env = { WATCH_NAMESPACES: namespace, LEADER_ELECTION_NAMESPACE: namespace, LEADER_ELECTION_LEASE_SECONDS: "4" };
    const first = await startController("dist/controllers/backup.js", env);
    controllers.push(first);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "killme" },
      spec: {
        kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
        topics: [topic],
        storage: s3Storage(`e2e-kill-${namespace}`),
        compression: "lz4",
        segmentMaxRecords: 2000,
        rateLimiting: { recordsPerSec: 8000, maxConcurrentPartitions: 3 },
      },
    });
    const running = await waitFor("some progress", () => {
      const s = status(namespace, "killme");
      return s.phase === "Running" && (s.recordsProcessed ?? 0) > 4000 ? s : undefined;
    });
    await first.stop("SIGKILL");
    const killedAt = running.recordsProcessed ?? 0;
    await sleep(500);
    const second = await startController("dist/controllers/backup.js", env);
    controllers.push(second);
    const done = await waitFor(
      "Completed after the restart",
      () => {
        const s = status(namespace, "killme");
        return s.phase === "Completed" ? s : undefined;
      },
      120_000,
    );
    assert.equal(done.backupId, running.backupId, "the restarted controller resumed the same backup set");
    const store = await minioStore(`e2e-kill-${namespace}`);
    const { records } = await readBackup(store, done.backupId as string);
    const stored = records.get(topic) ?? [];
    for (let p = 0; p < partitions; p++) {
      const offsets = stored.filter((r) => r.partition === p).map((r) => r.offset);
      assert.equal(new Set(offsets).size, offsets.length, `partition ${p}: duplicates`);
      assert.equal(offsets.length, perPartition, `partition ${p}: missing records`);
    }
    console.log(
      `controller SIGKILL: killed after ${killedAt} records, resumed ${done.backupId}; ${stored.length} records checked, duplicates 0, missing 0`,
    );
    assert.ok(readFileSync(join(repoRoot, "dist/controllers/backup.js")).length > 0);
    await second.stop();
  });

  test("deleting a KafkaBackup cancels its run and keeps the data; deletionPolicy Delete removes it", async () => {
    const namespace = createNamespace("kb-delete");
    const topic = await topicWith(kafka, 2, 20_000, 100);
    minioSecret(namespace);
    const controller = await backupController(namespace);
    const spec = (prefix: string, extra: Record<string, unknown>) => ({
      kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
      topics: [topic],
      storage: s3Storage(prefix),
      segmentMaxRecords: 1000,
      ...extra,
    });
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "kept" },
      spec: spec(`e2e-kept-${namespace}`, { rateLimiting: { recordsPerSec: 2000 } }),
    });
    const running = await waitFor("a running backup", () => {
      const s = status(namespace, "kept");
      return s.phase === "Running" && s.backupId && (s.recordsProcessed ?? 0) >= 2000 ? s : undefined;
    });
    const deletedAt = Date.now();
    kubectl(["delete", "kafkabackup", "kept", "-n", namespace, "--wait=true", "--timeout=60s"]);
    const seconds = (Date.now() - deletedAt) / 1000;
    assert.ok(seconds < 30, `deletion took ${seconds}s`);
    const kept = await minioStore(`e2e-kept-${namespace}`);
    const { manifest } = await readBackup(kept, running.backupId as string);
    assert.ok(
      manifest.topics[0]?.partitions.some((p) => p.segments.length > 0),
      "the data of the cancelled run is kept",
    );
    assert.ok(controller.logs().includes("backup stopped at its last checkpoint"));

    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "dropped" },
      spec: spec(`e2e-dropped-${namespace}`, { deletionPolicy: "Delete" }),
    });
    await waitFor("Completed", () => (status(namespace, "dropped").phase === "Completed" ? true : undefined), 120_000);
    const dropped = await minioStore(`e2e-dropped-${namespace}`);
    const { listBackupSets } = await import("../../engine/backupset/catalog.ts");
    assert.equal((await listBackupSets(dropped)).length, 1);
    kubectl(["delete", "kafkabackup", "dropped", "-n", namespace, "--wait=true", "--timeout=60s"]);
    assert.deepEqual(await listBackupSets(dropped), []);
    await controller.stop();
  });

  test("every KafkaBackup example applies unchanged, and the controller acts on each with a clear condition", async () => {
    const { readdirSync, readFileSync: read } = await import("node:fs");
    const namespace = createNamespace("kb-examples");
    const controller = await backupController(namespace);
    const files = readdirSync(join(repoRoot, "examples")).filter((f) => f.startsWith("kafkabackup-"));
    assert.ok(files.length >= 5);
    for (const file of files) {
      const text = read(join(repoRoot, "examples", file), "utf8");
      kubectl(["apply", "-n", namespace, "-f", "-"], text);
      const name = /^ {2}name: (\S+)$/m.exec(text)?.[1] as string;
      // The examples name Secrets and clusters of a real installation: here each stops at its
      // first missing piece, said in a condition and an Event, and the controller carries on.
      const ready = await waitFor(`${file}: a Ready condition`, () =>
        status(namespace, name).conditions?.find((c) => c.type === "Ready"),
      );
      assert.ok(ready.reason && ready.message, `${file}: ${JSON.stringify(ready)}`);
      console.log(`example ${file}: Ready=${ready.status} ${ready.reason}: ${ready.message}`);
    }
    assert.equal(controller.child.exitCode, null, "the controller is still running");
    await controller.stop();
  });

  test("a continuous KafkaBackup follows new records until suspended", async () => {
    const namespace = createNamespace("kb-continuous");
    const topic = await topicWith(kafka, 1, 100);
    minioSecret(namespace);
    const controller = await backupController(namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "follower" },
      spec: {
        kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
        topics: [topic],
        storage: s3Storage(`e2e-continuous-${namespace}`),
        continuous: true,
        segmentMaxIntervalMs: 500,
      },
    });
    await waitFor("100 records", () => ((status(namespace, "follower").recordsProcessed ?? 0) >= 100 ? true : undefined));
    const producer = kafka.kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ key: `late-${i}`, value: "x" })) });
    await producer.disconnect();
    await waitFor("150 records", () => ((status(namespace, "follower").recordsProcessed ?? 0) >= 150 ? true : undefined));
    assert.equal(status(namespace, "follower").phase, "Running");
    kubectl(["patch", "kafkabackup", "follower", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}']);
    await waitFor("Suspended", () => (status(namespace, "follower").phase === "Suspended" ? true : undefined));
    const backupId = status(namespace, "follower").backupId as string;
    const { records } = await readBackup(await minioStore(`e2e-continuous-${namespace}`), backupId);
    assert.equal(records.get(topic)?.length, 150);
    await controller.stop();
  });
});
