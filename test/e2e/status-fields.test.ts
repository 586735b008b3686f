// Every status field docs/reference.md names is written: one run of each kind through its
// controller (real kube-apiserver, Kafka, MinIO), then each field the reference lists for that
// kind must be in the object's status — or be in the short list below of fields that only a
// particular situation writes, each naming the test that sees it written. The reference is
// generated from the CRD schema, so a field added to the schema and never written fails here.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { commitGroupOffsets } from "../../engine/kafka/groups.ts";
import { repoRoot } from "../stack/config.ts";
import { apply, minioSecret, s3Storage, topicWith } from "../support/e2e.ts";
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

type Json = Record<string, unknown>;

/** Fields only some situations write, by kind: field (or parent) → where it is seen written. */
const situational: Record<string, Record<string, string>> = {
  KafkaBackup: {
    job: "execution.mode job (test/e2e/job-execution.test.ts)",
    fullBackupToken:
      "a kafka.oso.sh/full-backup annotation on a scheduled backup (controllers/backup.ts chainStatus; test/integration/backup-chains.test.ts forces a full set)",
    retryToken: "a kafka.oso.sh/retry annotation on a failed one-shot backup (test/e2e/backup-chains.test.ts)",
    retryCount: "spec.retryPolicy retrying a failed one-shot backup (test/e2e/backup-chains.test.ts)",
    nextRetryTime:
      "spec.retryPolicy after a failed one-shot backup (test/unit/backup-chains.test.ts, test/e2e/backup-chains.test.ts)",
  },
  KafkaRestore: {
    job: "execution.mode job (test/e2e/job-execution.test.ts)",
    retryToken: "a kafka.oso.sh/retry annotation on a failed restore (test/e2e/restore-controller.test.ts)",
    "consumerGroups[].error": "a group with live members (test/e2e/restore-controller.test.ts)",
    plan: "a dryRun (test/e2e/restore-controller.test.ts)",
  },
  KafkaOffsetReset: {
    resultsRef: "more partition rows than status keeps (test/e2e/offsets-controllers.test.ts)",
    "groupResults[].error": "a group that failed (test/e2e/offsets-controllers.test.ts)",
  },
  KafkaOffsetRollback: {
    resultsRef: "more partition rows than status keeps (test/e2e/offsets-controllers.test.ts)",
    "groupResults[].error": "a group that failed (test/e2e/offsets-controllers.test.ts)",
    "verification.mismatches": "an offset that differs after the rollback (test/e2e/offsets-controllers.test.ts)",
  },
  KafkaBackupValidation: {},
};

/** The status field paths the reference lists for `kind` (e.g. `plan[].partitions[].records`). */
function referenceFields(kind: string): string[] {
  const doc = readFileSync(join(repoRoot, "docs/reference.md"), "utf8");
  const start = doc.indexOf(`### ${kind} status\n`);
  assert.ok(start >= 0, `docs/reference.md has no "${kind} status" section`);
  const end = doc.indexOf("\n#", start + 1);
  const section = doc.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] as string);
}

/** Whether `path` has a value in `status`; through arrays, in at least one element. */
function present(value: unknown, path: string[]): boolean {
  if (!path.length) return value !== undefined && value !== null;
  const [head, ...rest] = path as [string, ...string[]];
  const array = head.endsWith("[]");
  const next = (value as Json | undefined)?.[array ? head.slice(0, -2) : head];
  if (!array) return present(next, rest);
  return Array.isArray(next) && next.some((e) => present(e, rest));
}

function missingFields(kind: string, status: Json): string[] {
  const skip = situational[kind] ?? {};
  const covered = (f: string) => Object.keys(skip).some((s) => f === s || f.startsWith(`${s}.`) || f.startsWith(`${s}[]`));
  return referenceFields(kind).filter((f) => !covered(f) && !present(status, f.split(".")));
}

let kafka: KafkaClient;
let namespace: string;
const controllers: RunningController[] = [];
const bootstrap = () => stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",");

before(async () => {
  applyCrds();
  kafka = new KafkaClient({ bootstrapServers: bootstrap() });
  namespace = createNamespace("status-fields");
  minioSecret(namespace);
  const env = { WATCH_NAMESPACES: namespace, LEADER_ELECTION_NAMESPACE: namespace };
  for (const c of ["backup", "restore", "validation", "offset-reset", "offset-rollback"])
    controllers.push(await startController(`controllers/${c}.ts`, env));
});
after(async () => {
  for (const c of controllers) await c.stop("SIGKILL");
  await kafka.close();
});

const statusOf = (kind: string, name: string) => getObject<{ status?: Json }>(kind, namespace, name).status ?? {};
const finished = (kind: string, name: string, phases = ["Completed", "Failed", "PartiallyCompleted"]) =>
  waitFor(
    `${kind} ${name} to finish`,
    () => {
      const s = statusOf(kind, name);
      return phases.includes(s.phase as string) ? s : undefined;
    },
    120_000,
  );

test("the situational list names only fields the reference has", () => {
  for (const [kind, fields] of Object.entries(situational)) {
    const listed = referenceFields(kind);
    for (const f of Object.keys(fields)) assert.ok(listed.includes(f), `${kind}: ${f} is not in docs/reference.md`);
  }
});

test("after a run of each kind, every status field the reference names is written", async () => {
  const topic = await topicWith(kafka, 2, 100);
  const group = `status-fields-${randomUUID().slice(0, 8)}`;
  await commitGroupOffsets(kafka, group, [
    { topic, partition: 0, offset: 40 },
    { topic, partition: 1, offset: 60 },
  ]);
  const storage = s3Storage(`status-fields-${namespace}`);

  // KafkaBackup: scheduled (next tick, schedule claim), retention, a consumer-group snapshot.
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaBackup",
    metadata: { name: "orders" },
    spec: {
      kafkaCluster: { bootstrapServers: bootstrap() },
      topics: [topic],
      storage,
      schedule: "*/10 * * * * *",
      consumerGroupSnapshot: true,
      retention: { enabled: true, keepLast: 5 },
    },
  });
  const backup = await finished("kafkabackup", "orders", ["Completed", "Failed"]);
  assert.equal(backup.phase, "Completed", String(backup.message));
  kubectl(["patch", "kafkabackup", "orders", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}']);

  // KafkaRestore: renamed, topics created, the group's offsets translated, a snapshot first.
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaRestore",
    metadata: { name: "orders-restore" },
    spec: {
      backupRef: { name: "orders", backupId: backup.backupId },
      kafkaCluster: { bootstrapServers: bootstrap() },
      topics: [topic],
      topicMapping: { [topic]: `${topic}-restored` },
      createTopics: true,
      autoConsumerGroups: true,
      rollback: { snapshotBeforeRestore: true },
    },
  });

  // KafkaBackupValidation: scheduled, every check.
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaBackupValidation",
    metadata: { name: "orders-check" },
    spec: {
      backupRef: { name: "orders", backupId: backup.backupId },
      kafkaCluster: { bootstrapServers: bootstrap() },
      schedule: "*/10 * * * * *",
      checks: {
        messageCount: { enabled: true },
        offsetRange: { enabled: true },
        consumerGroupOffsets: { enabled: true },
        deepIntegrity: { enabled: true },
      },
    },
  });

  // KafkaOffsetReset with a snapshot, then KafkaOffsetRollback of it.
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaOffsetReset",
    metadata: { name: "rewind" },
    spec: {
      kafkaCluster: { bootstrapServers: bootstrap() },
      consumerGroups: [group],
      topics: [topic],
      resetStrategy: "to-earliest",
      snapshotBeforeReset: true,
    },
  });
  const reset = await finished("kafkaoffsetreset", "rewind");
  assert.equal(reset.phase, "Completed", String(reset.message));
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaOffsetRollback",
    metadata: { name: "undo" },
    spec: { snapshotRef: { name: "", offsetResetRef: "rewind" }, kafkaCluster: { bootstrapServers: bootstrap() } },
  });

  const restore = await finished("kafkarestore", "orders-restore");
  assert.equal(restore.phase, "Completed", String(restore.message));
  const validation = await finished("kafkabackupvalidation", "orders-check");
  kubectl(["patch", "kafkabackupvalidation", "orders-check", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}']);
  const rollback = await finished("kafkaoffsetrollback", "undo");
  assert.equal(rollback.phase, "Completed", String(rollback.message));

  assert.deepEqual(
    {
      KafkaBackup: missingFields("KafkaBackup", backup),
      KafkaRestore: missingFields("KafkaRestore", restore),
      KafkaBackupValidation: missingFields("KafkaBackupValidation", validation),
      KafkaOffsetReset: missingFields("KafkaOffsetReset", reset),
      KafkaOffsetRollback: missingFields("KafkaOffsetRollback", rollback),
    },
    { KafkaBackup: [], KafkaRestore: [], KafkaBackupValidation: [], KafkaOffsetReset: [], KafkaOffsetRollback: [] },
  );
});
