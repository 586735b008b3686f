// The KafkaRestore controller end to end: real kube-apiserver, Kafka and MinIO; the KafkaBackup
// and KafkaRestore controllers run as local processes, as in their pods but out of cluster.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { commitGroupOffsets } from "../../engine/kafka/groups.ts";
import { repoRoot } from "../stack/config.ts";
import { javaDump } from "../support/backup.ts";
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

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface RestoreStatus {
  phase?: string;
  backupId?: string;
  message?: string;
  recordsRestored?: number;
  recordsTotal?: number;
  progressPercent?: number;
  offsetMappingPath?: string;
  observedGeneration?: number;
  plan?: Array<{ sourceTopic: string; targetTopic: string; exists: boolean; records: number }>;
  consumerGroups?: Array<{ groupId: string; committed: boolean; partitions: number; error?: string }>;
  conditions?: Condition[];
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

async function controller(entry: string, namespace: string): Promise<RunningController> {
  const c = await startController(entry, { WATCH_NAMESPACES: namespace, LEADER_ELECTION_NAMESPACE: namespace });
  controllers.push(c);
  return c;
}

const restoreStatus = (namespace: string, name: string) =>
  getObject<{ status?: RestoreStatus }>("kafkarestore", namespace, name).status ?? {};
const finished = (namespace: string, name: string) => {
  const s = restoreStatus(namespace, name);
  return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
};
const bootstrap = () => stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",");

describe("KafkaRestore controller", () => {
  test("an existing-operator-style restore (backupRef by name, topicMapping, createTopics, autoConsumerGroups, pitr) and a dry run", async () => {
    const namespace = createNamespace("kr-style");
    // 300 records per partition before the point in time, 100 after it.
    const topic = await topicWith(kafka, 2, 300);
    await sleep(1500);
    const pointInTime = new Date().toISOString();
    await sleep(1500);
    const producer = kafka.kafka.producer({ idempotent: true });
    await producer.connect();
    for (const partition of [0, 1]) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 100 }, (_, i) => ({ partition, key: `late-${i}`, value: "late" })),
      });
    }
    await producer.disconnect();
    const group = `${namespace}-readers`;
    await commitGroupOffsets(kafka, group, [
      { topic, partition: 0, offset: 120 },
      { topic, partition: 1, offset: 250 },
    ]);
    minioSecret(namespace);
    const backups = await controller("controllers/backup.ts", namespace);
    const restores = await controller("controllers/restore.ts", namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "orders-backup" },
      spec: {
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [topic],
        storage: s3Storage(`e2e-restore-${namespace}`),
        consumerGroupSnapshot: true,
      },
    });
    await waitFor("the backup to complete", () => {
      const s = getObject<{ status?: { phase?: string } }>("kafkabackup", namespace, "orders-backup").status;
      return s?.phase === "Completed" ? true : undefined;
    });

    // The manifest as a user of the existing operator writes it.
    const target = `${topic}-restored`;
    kubectl(
      ["apply", "-n", namespace, "-f", "-"],
      `apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaRestore
metadata:
  name: orders-restore
spec:
  backupRef:
    name: orders-backup
  kafkaCluster:
    bootstrapServers: ${JSON.stringify(bootstrap())}
  topics: ["${topic}"]
  topicMapping:
    ${topic}: ${target}
  createTopics: true
  autoConsumerGroups: true
  pitr:
    endTime: "${pointInTime}"
`,
    );
    const done = await waitFor("the restore to finish", () => finished(namespace, "orders-restore"), 120_000);
    assert.equal(done.phase, "Completed", done.message);
    assert.equal(done.recordsRestored, 600);
    assert.equal(done.progressPercent, 100);
    assert.match(done.offsetMappingPath ?? "", /^s3:\/\/.+\/restores\/.+\/offset-mapping\.json$/);
    assert.deepEqual(done.consumerGroups, [{ groupId: group, committed: true, partitions: 2 }]);
    const ready = done.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.status, "True");
    assert.equal(ready?.reason, "RestoreSucceeded");
    const admin = await kafka.admin();
    const ends = await admin.fetchTopicOffsets(target);
    assert.deepEqual(ends.map((p) => [p.partition, Number(p.high)]).sort(), [
      [0, 300],
      [1, 300],
    ]);
    const committed = await admin.fetchOffsets({ groupId: group, topics: [target] });
    assert.deepEqual(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]).sort(), [
      [0, 120],
      [1, 250],
    ]);
    const reasons = events(namespace, "orders-restore").map((e) => e.reason);
    assert.ok(reasons.includes("RestoreStarted") && reasons.includes("RestoreSucceeded"), reasons.join(","));
    const metrics = await (await fetch(`http://127.0.0.1:${restores.metricsPort}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(`kafka_backup_operator_restores_total\\{[^}]*outcome="success"[^}]*resource_namespace="${namespace}"[^}]*\\} 1`),
    );

    // Editing the finished restore runs nothing again, and says so.
    kubectl([
      "patch",
      "kafkarestore",
      "orders-restore",
      "-n",
      namespace,
      "--type=merge",
      "-p",
      '{"spec":{"produceBatchSize":50}}',
    ]);
    await waitFor("the SpecChangeIgnored event", () =>
      events(namespace, "orders-restore").some((e) => e.reason === "SpecChangeIgnored") ? true : undefined,
    );
    await sleep(2000);
    const after = restoreStatus(namespace, "orders-restore");
    assert.equal(after.phase, "Completed");
    assert.equal(events(namespace, "orders-restore").filter((e) => e.reason === "RestoreStarted").length, 1);
    assert.deepEqual(
      (await admin.fetchTopicOffsets(target)).map((p) => Number(p.high)),
      ends.map((p) => Number(p.high)),
    );

    // A dry run: checks and plans, writes nothing.
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaRestore",
      metadata: { name: "orders-check" },
      spec: {
        backupRef: { name: "orders-backup" },
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [topic],
        topicMapping: { [topic]: `${topic}-dry` },
        createTopics: true,
        pitr: { endTime: pointInTime },
        dryRun: true,
      },
    });
    const dry = await waitFor("the dry run to finish", () => finished(namespace, "orders-check"), 60_000);
    assert.equal(dry.phase, "Completed", dry.message);
    assert.equal(dry.conditions?.find((c) => c.type === "Ready")?.reason, "DryRunPassed");
    assert.equal(dry.recordsTotal, 600);
    assert.deepEqual(
      dry.plan?.map((t) => [t.sourceTopic, t.targetTopic, t.exists, t.records]),
      [[topic, `${topic}-dry`, false, 600]],
    );
    assert.equal((await admin.listTopics()).includes(`${topic}-dry`), false);
    await backups.stop();
    await restores.stop();
  });

  test("a missing KafkaBackup is a condition and an Event naming it; creating it lets the restore run", async () => {
    const namespace = createNamespace("kr-missing");
    const topic = await topicWith(kafka, 1, 50);
    minioSecret(namespace);
    const restores = await controller("controllers/restore.ts", namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaRestore",
      metadata: { name: "early" },
      spec: {
        backupRef: { name: "later" },
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [topic],
        topicMapping: { [topic]: `${topic}-copy` },
        createTopics: true,
      },
    });
    const waiting = await waitFor("a Ready=False condition", () =>
      restoreStatus(namespace, "early").conditions?.find((c) => c.type === "Ready" && c.status === "False"),
    );
    assert.equal(waiting.reason, "BackupNotFound");
    assert.ok(waiting.message.includes(`${namespace}/later`), waiting.message);
    // The Event follows the status write: waited for, not read in the same instant.
    await waitFor("the BackupNotFound Event", () =>
      events(namespace, "early").some((e) => e.reason === "BackupNotFound") ? true : undefined,
    );

    const backups = await controller("controllers/backup.ts", namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "later" },
      spec: { kafkaCluster: { bootstrapServers: bootstrap() }, topics: [topic], storage: s3Storage(`e2e-later-${namespace}`) },
    });
    const done = await waitFor("the restore to finish", () => finished(namespace, "early"), 120_000);
    assert.equal(done.phase, "Completed", done.message);
    assert.equal(done.recordsRestored, 50);
    await backups.stop();
    await restores.stop();
  });

  test("a restore whose controller is SIGKILLed mid-run is resumed by the next one, every record exactly once", async () => {
    const namespace = createNamespace("kr-crash");
    const topic = await topicWith(kafka, 2, 3000);
    minioSecret(namespace);
    const backups = await controller("controllers/backup.ts", namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "source" },
      spec: {
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [topic],
        storage: s3Storage(`e2e-crash-${namespace}`),
        segmentMaxRecords: 500,
      },
    });
    await waitFor("the backup", () =>
      getObject<{ status?: { phase?: string } }>("kafkabackup", namespace, "source").status?.phase === "Completed"
        ? true
        : undefined,
    );
    await backups.stop();
    const first = await controller("controllers/restore.ts", namespace);
    const target = `${topic}-crash`;
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaRestore",
      metadata: { name: "slow" },
      spec: {
        backupRef: { name: "source" },
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [topic],
        topicMapping: { [topic]: target },
        createTopics: true,
        produceBatchSize: 100,
        rateLimiting: { recordsPerSec: 1000 },
      },
    });
    await waitFor("part of the restore in Kafka", async () => {
      const ends = await kafka.endOffsets(target).catch(() => []);
      return ends.reduce((n, e) => n + e.high, 0) >= 1500 ? true : undefined;
    });
    await first.stop("SIGKILL");
    assert.equal(restoreStatus(namespace, "slow").phase, "Running");
    const second = await controller("controllers/restore.ts", namespace);
    const done = await waitFor("the resumed restore", () => finished(namespace, "slow"), 120_000);
    assert.equal(done.phase, "Completed", done.message);
    assert.equal(done.recordsRestored, 6000);
    const restored = javaDump(target);
    const source = javaDump(topic);
    const keyed = (rs: typeof source) => rs.map((r) => `${r.partition}/${r.offset}/${r.key}`).sort();
    assert.deepEqual(keyed(restored), keyed(source), "each record once, at its offset");
    console.log(
      `restore controller SIGKILL: resumed by a new controller; ${restored.length} records checked, duplicates 0, missing 0`,
    );
    await second.stop();
  });

  test("rollback.snapshotBeforeRestore keeps the groups' offsets, and a KafkaOffsetRollback puts them back", async () => {
    const namespace = createNamespace("kr-rollback");
    const topic = await topicWith(kafka, 1, 400);
    const group = `${namespace}-app`;
    await commitGroupOffsets(kafka, group, [{ topic, partition: 0, offset: 150 }]);
    minioSecret(namespace);
    const backups = await controller("controllers/backup.ts", namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "nightly" },
      spec: {
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [topic],
        storage: s3Storage(`e2e-rollback-${namespace}`),
        consumerGroupSnapshot: true,
      },
    });
    await waitFor("the backup", () =>
      getObject<{ status?: { phase?: string } }>("kafkabackup", namespace, "nightly").status?.phase === "Completed"
        ? true
        : undefined,
    );
    await backups.stop();
    // The group moves on after the backup: the snapshot before the restore must hold 300, not 150.
    await commitGroupOffsets(kafka, group, [{ topic, partition: 0, offset: 300 }]);
    const restores = await controller("controllers/restore.ts", namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaRestore",
      metadata: { name: "back-in-time" },
      spec: {
        backupRef: { name: "nightly" },
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [topic],
        purgeTopics: true,
        autoConsumerGroups: true,
        rollback: { snapshotBeforeRestore: true, snapshotRetentionHours: 2 },
      },
    });
    const done = await waitFor("the restore", () => finished(namespace, "back-in-time"), 120_000);
    assert.equal(done.phase, "Completed", done.message);
    const rollback = (done as { rollback?: { snapshotPath: string; rollbackAvailable: boolean; expiresAt: string } }).rollback;
    assert.match(rollback?.snapshotPath ?? "", /^configmap\//);
    assert.equal(rollback?.rollbackAvailable, true);
    const configMap = JSON.parse(
      kubectl(["get", "configmap", (rollback?.snapshotPath ?? "").slice("configmap/".length), "-n", namespace, "-o", "json"]),
    ) as { data: Record<string, string> };
    const saved = JSON.parse(Object.values(configMap.data)[0] ?? "{}") as {
      groups: Array<{ groupId: string; offsets: Array<{ topic: string; partition: number; offset: number }> }>;
    };
    assert.deepEqual(saved.groups, [{ groupId: group, offsets: [{ topic, partition: 0, offset: 300 }] }]);
    // The restore purged the topic (its log now starts at 400) and rewrote it at 400…799: the group's
    // backup-time commit, 150, is now 550.
    const admin = await kafka.admin();
    const offsetNow = async () =>
      Number((await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions[0]?.offset);
    assert.equal(await offsetNow(), 550);
    await restores.stop();

    const rollbacks = await controller("controllers/offset-rollback.ts", namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaOffsetRollback",
      metadata: { name: "undo" },
      spec: {
        snapshotRef: { name: "", restoreRef: "back-in-time" },
        kafkaCluster: { bootstrapServers: bootstrap() },
        consumerGroups: [group],
        verifyAfterRollback: true,
      },
    });
    const undone = await waitFor("the rollback", () => {
      const s = getObject<{ status?: { phase?: string; message?: string } }>("kafkaoffsetrollback", namespace, "undo").status;
      return s?.phase === "Completed" || s?.phase === "Failed" ? s : undefined;
    });
    assert.equal(undone.phase, "Completed", undone.message);
    assert.equal(await offsetNow(), 300);
    await rollbacks.stop();
  });

  test("every KafkaRestore example applies unchanged and gets a clear condition", async () => {
    const namespace = createNamespace("kr-examples");
    const restores = await controller("controllers/restore.ts", namespace);
    const files = readdirSync(join(repoRoot, "examples")).filter((f) => f.startsWith("kafkarestore-"));
    assert.ok(files.length >= 2);
    for (const file of files) {
      const text = readFileSync(join(repoRoot, "examples", file), "utf8");
      kubectl(["apply", "-n", namespace, "-f", "-"], text);
      const name = /^ {2}name: (\S+)$/m.exec(text)?.[1] as string;
      // The examples name a KafkaBackup of a real installation: here each waits for it, saying so.
      const ready = await waitFor(`${file}: a Ready condition`, () =>
        restoreStatus(namespace, name).conditions?.find((c) => c.type === "Ready"),
      );
      assert.equal(ready.reason, "BackupNotFound", `${file}: ${JSON.stringify(ready)}`);
      console.log(`example ${file}: Ready=${ready.status} ${ready.reason}: ${ready.message}`);
    }
    assert.equal(restores.child.exitCode, null, "the controller is still running");
    await restores.stop();
  });
});
