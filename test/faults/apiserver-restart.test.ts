// The kube-apiserver (and etcd) stopped and started again while the KafkaBackup controller runs a
// schedule: the controller stays up, its watch comes back, the schedule keeps running, and a
// resource created after the restart is acted on.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { listBackupSets } from "../../engine/backupset/catalog.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { minioStore } from "../support/backup.ts";
import { apply, minioSecret, s3Storage, topicWith } from "../support/e2e.ts";
import { restartComponent } from "../support/faults.ts";
import { applyCrds, createNamespace, getObject, type RunningController, startController, waitFor } from "../support/kube.ts";
import { stackEnv } from "../support/stack-env.ts";

let kafka: KafkaClient;
let controller: RunningController | undefined;

before(async () => {
  applyCrds();
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
});
after(async () => {
  await controller?.stop("SIGKILL");
  await kafka.close();
});

test("a scheduled backup keeps running across an API server restart, and new resources are seen", async () => {
  const namespace = createNamespace("fault-api");
  const topic = await topicWith(kafka, 1, 100);
  minioSecret(namespace);
  controller = await startController("controllers/backup.ts", {
    WATCH_NAMESPACES: namespace,
    LEADER_ELECTION_NAMESPACE: namespace,
  });
  const prefix = `fault-api-${namespace}`;
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaBackup",
    metadata: { name: "every5s" },
    spec: {
      kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
      topics: [topic],
      storage: s3Storage(prefix),
      schedule: "*/5 * * * * *",
    },
  });
  const store = await minioStore(prefix);
  await waitFor("two scheduled runs", async () => ((await listBackupSets(store)).length >= 2 ? true : undefined), 60_000);
  const before = (await listBackupSets(store)).length;

  const restarted = Date.now();
  await restartComponent("kube", 5000);
  console.log(`kube-apiserver and etcd restarted (down and up in ${((Date.now() - restarted) / 1000).toFixed(1)}s)`);

  await waitFor(
    "two more scheduled runs after the restart",
    async () => ((await listBackupSets(store)).length >= before + 2 ? true : undefined),
    120_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\ncontroller log (tail):\n${controller?.logs().slice(-6000)}`);
  });
  // The watch is back: a resource created now is acted on.
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaBackup",
    metadata: { name: "after-restart" },
    spec: {
      kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
      topics: [topic],
      storage: s3Storage(`${prefix}-after`),
    },
  });
  const done = await waitFor(
    "the new backup",
    () => {
      const s = getObject<{ status?: { phase?: string; recordsProcessed?: number } }>(
        "kafkabackup",
        namespace,
        "after-restart",
      ).status;
      return s?.phase === "Completed" ? s : undefined;
    },
    120_000,
  );
  assert.equal(done.recordsProcessed, 100);
  assert.equal(controller.child.exitCode, null, "the controller stayed up");
  // No relist storm: the watch retried from its last version while the server was down; at most
  // one list after the restart (the new watch cache may not know that version: 410).
  const metrics = await (await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`)).text();
  const counter = (name: string) =>
    metrics
      .split("\n")
      .filter((l) => l.startsWith(`${name}{`))
      .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
  const lists = counter("kafka_backup_operator_watch_lists_total");
  console.log(
    `watch: ${lists} lists in all, ${counter("kafka_backup_operator_watch_failures_total")} failed attempts while the server was down`,
  );
  assert.ok(lists <= 2, `${lists} lists: one at start and at most one after the restart`);
  await sleep(0);
  console.log(
    `API server restart: ${(await listBackupSets(store)).length} scheduled runs in all, controller up, new resource completed`,
  );
});
