// Hostile manifests that pass the schema but cannot work (issue 11): missing Secrets and keys,
// references to objects that do not exist, unknown topics, unreachable brokers, cron expressions
// and time zones only the controller can judge, keys of the wrong length, path traversal through
// fields the schema leaves open, contradictions. All five controllers run; each resource must get
// a Ready=False condition whose message names the field, object or key, and a Warning Event; no
// controller may crash or hot-loop (reconciles per object are counted from their debug logs); a
// file's contents never reach status or Events. What the schema refuses at the door is in
// test/integration/crds-apiserver.test.ts.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { apply, minioSecret, s3Storage, topicWith } from "../support/e2e.ts";
import { invalidPerKind, type Json } from "../support/invalid-manifests.ts";
import {
  applyCrds,
  type Condition,
  createNamespace,
  getObject,
  kubectl,
  type RunningController,
  readyCondition,
  reconcilesPerObject,
  startController,
  waitFor,
} from "../support/kube.ts";
import { stackEnv } from "../support/stack-env.ts";

type Kind = "KafkaBackup" | "KafkaRestore" | "KafkaOffsetReset" | "KafkaOffsetRollback" | "KafkaBackupValidation";

const controllerOf: Record<Kind, string> = {
  KafkaBackup: "controllers/backup.ts",
  KafkaRestore: "controllers/restore.ts",
  KafkaOffsetReset: "controllers/offset-reset.ts",
  KafkaOffsetRollback: "controllers/offset-rollback.ts",
  KafkaBackupValidation: "controllers/validation.ts",
};

interface Case {
  kind: Kind;
  name: string;
  spec: Json;
  /** The condition's reason, and what its message must name (the field, object or key). */
  reason: RegExp;
  message: RegExp;
}

/**
 * Reconciles of one object in 20 s once it has settled: waitForConfiguration looks again every
 * 10 s (3 ticks fit in a window), a failed one-shot not at all; a late status write adds one. A
 * hot loop would be hundreds.
 */
// The bound docs/reliability.md states: a waiting object is looked at again every 10 s (2-3 in a
// window), plus the wake-ups its own status writes cause.
const maxReconcilesPerWindow = 5;
const windowMs = 20_000;

let kafka: KafkaClient;
let namespace: string;
let pvcRoot: string;
const controllers = new Map<Kind, RunningController>();

before(async () => {
  applyCrds();
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  namespace = createNamespace("hostile");
  pvcRoot = mkdtempSync(join(tmpdir(), "kbo-hostile-"));
  mkdirSync(join(pvcRoot, "snapshots"));
  for (const kind of Object.keys(controllerOf) as Kind[]) {
    controllers.set(
      kind,
      await startController(controllerOf[kind], {
        WATCH_NAMESPACES: namespace,
        LEADER_ELECTION_NAMESPACE: namespace,
        PVC_MOUNT_ROOT: pvcRoot,
        LOG_LEVEL: "debug",
      }),
    );
  }
});
after(async () => {
  for (const c of controllers.values()) await c.stop("SIGKILL");
  await kafka.close();
  rmSync(pvcRoot, { recursive: true, force: true });
});

const plaintext = () => ({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
const unreachable = { bootstrapServers: ["127.0.0.1:1"] };

function secret(name: string, data: Record<string, string>): void {
  apply(namespace, { apiVersion: "v1", kind: "Secret", metadata: { name }, stringData: data });
}

const plural = (kind: Kind) => `${kind.toLowerCase()}s`;

test("schema-valid manifests that cannot work: a condition naming the problem and an Event each; no crash, no hot loop, no leak", async () => {
  const topic = await topicWith(kafka, 1, 20);
  minioSecret(namespace);
  // A key of 16 bytes where 32 are needed; a signing key that is no PEM; a Secret with other keys.
  secret("short-key", { key: Buffer.alloc(16, 7).toString("base64") });
  secret("not-a-pem", { "signing-key.pem": "-----BEGIN NOTHING-----" });
  secret("other-keys", { unrelated: "x" });
  apply(namespace, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "not-a-snapshot" }, data: { other: "x" } });
  // A file that is no JSON, its whole content short enough for a parser's message to quote it.
  const canary = `K${randomUUID().slice(0, 6)}`;
  const canaryFile = join(pvcRoot, "canary.json");
  writeFileSync(canaryFile, canary);

  // A backup that works, for the restores and validations that need a real backup set, and one
  // that has not run yet (once a year).
  const backups = `hostile-${namespace}`;
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaBackup",
    metadata: { name: "good" },
    spec: { kafkaCluster: plaintext(), topics: [topic], storage: s3Storage(`${backups}/good`) },
  });
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaBackup",
    metadata: { name: "not-yet" },
    spec: { kafkaCluster: plaintext(), topics: [topic], storage: s3Storage(`${backups}/not-yet`), schedule: "0 0 1 1 *" },
  });
  await waitFor(
    "the good backup to complete",
    () => {
      const s = getObject<{ status?: { phase?: string; backupId?: string } }>("kafkabackup", namespace, "good").status;
      return s?.phase === "Completed" ? s : undefined;
    },
    90_000,
  );

  const emptyStorage = s3Storage(`${backups}/empty`);
  const cases: Case[] = [
    // ── KafkaBackup ──
    {
      kind: "KafkaBackup",
      name: "b-missing-secret",
      spec: {
        kafkaCluster: plaintext(),
        topics: [topic],
        storage: { ...s3Storage(`${backups}/b1`), s3: { ...s3Storage("x").s3, credentialsSecret: { name: "no-such-secret" } } },
      },
      reason: /^SecretNotFound$/,
      message: new RegExp(`s3.credentialsSecret.*Secret ${namespace}/no-such-secret not found`),
    },
    {
      kind: "KafkaBackup",
      name: "b-missing-key",
      spec: {
        kafkaCluster: plaintext(),
        topics: [topic],
        storage: {
          ...s3Storage(`${backups}/b2`),
          s3: {
            ...s3Storage(`${backups}/b2`).s3,
            credentialsSecret: { name: "minio-credentials", accessKeyIdKey: "ACCESS_KEY_TYPO" },
          },
        },
      },
      reason: /^SecretKeyNotFound$/,
      message: /s3.credentialsSecret.accessKeyIdKey: .*has no key "ACCESS_KEY_TYPO"/,
    },
    {
      kind: "KafkaBackup",
      name: "b-unknown-topic",
      spec: { kafkaCluster: plaintext(), topics: ["no-such-topic-here"], storage: s3Storage(`${backups}/b3`) },
      reason: /^TopicNotFound$/,
      message: /spec\.topics: "no-such-topic-here" do not exist in the cluster/,
    },
    {
      kind: "KafkaBackup",
      name: "b-unreachable",
      spec: { kafkaCluster: unreachable, topics: [topic], storage: s3Storage(`${backups}/b4`) },
      reason: /^KafkaUnreachable$/,
      message: /127\.0\.0\.1:1/,
    },
    {
      kind: "KafkaBackup",
      name: "b-minute-61",
      spec: { kafkaCluster: plaintext(), topics: [topic], storage: s3Storage(`${backups}/b5`), schedule: "61 * * * *" },
      reason: /^InvalidSchedule$/,
      message: /spec\.schedule: "61 \* \* \* \*"/,
    },
    {
      kind: "KafkaBackup",
      name: "b-no-such-zone",
      spec: {
        kafkaCluster: plaintext(),
        topics: [topic],
        storage: s3Storage(`${backups}/b6`),
        schedule: "0 2 * * *",
        timeZone: "Mars/Olympus_Mons",
      },
      reason: /^InvalidSchedule$/,
      message: /spec\.timeZone: "Mars\/Olympus_Mons"/,
    },
    {
      kind: "KafkaBackup",
      name: "b-short-key",
      spec: {
        kafkaCluster: plaintext(),
        topics: [topic],
        storage: s3Storage(`${backups}/b7`),
        encryption: { keySecret: { name: "short-key" } },
      },
      reason: /^InvalidEncryptionKey$/,
      message: /spec\.encryption\.keySecret: an encryption key is 32 bytes .*got 16/,
    },
    {
      kind: "KafkaBackup",
      name: "b-no-bucket",
      spec: {
        kafkaCluster: plaintext(),
        topics: [topic],
        storage: { ...s3Storage("b8"), s3: { ...s3Storage("b8").s3, bucket: "no-such-bucket-hostile" } },
      },
      reason: /^StorageObjectNotFound$/,
      message: /s3:\/\/no-such-bucket-hostile\/.*NoSuchBucket/,
    },
    {
      kind: "KafkaBackup",
      name: "b-sasl-secret",
      spec: {
        kafkaCluster: { ...plaintext(), securityProtocol: "SASL_PLAINTEXT", saslSecret: { name: "no-sasl", mechanism: "PLAIN" } },
        topics: [topic],
        storage: s3Storage(`${backups}/b9`),
      },
      reason: /^SecretNotFound$/,
      message: new RegExp(`kafkaCluster.saslSecret.*Secret ${namespace}/no-sasl not found`),
    },
    {
      kind: "KafkaBackup",
      name: "b-ca-key",
      spec: {
        kafkaCluster: { ...plaintext(), securityProtocol: "SSL", caSecret: { name: "other-keys" } },
        topics: [topic],
        storage: s3Storage(`${backups}/b10`),
      },
      reason: /^SecretKeyNotFound$/,
      message: /kafkaCluster.caSecret.*has no key "ca.crt"/,
    },
    {
      kind: "KafkaBackup",
      name: "b-bad-regex",
      spec: { kafkaCluster: plaintext(), includeTopics: ["~orders-(unclosed"], storage: s3Storage(`${backups}/b11`) },
      reason: /^InvalidTopicSelection$/,
      message: /spec\.includeTopics\[0\]: "~orders-\(unclosed" is not a valid regular expression/,
    },
    {
      kind: "KafkaBackup",
      name: "b-nothing-matches",
      spec: { kafkaCluster: plaintext(), includeTopics: ["nothing-matches-this-*"], storage: s3Storage(`${backups}/b12`) },
      reason: /^NoTopicsSelected$/,
      message: /no topic matches/,
    },
    {
      kind: "KafkaBackup",
      name: "b-unmounted-claim",
      spec: { kafkaCluster: plaintext(), topics: [topic], storage: { storageType: "pvc", pvc: { claimName: "not-mounted" } } },
      reason: /^InvalidStorageConfig$/,
      message: /storage\.pvc: the storage root .*\/not-mounted does not exist/,
    },
    {
      kind: "KafkaBackup",
      name: "b-reserved-subpath",
      spec: {
        kafkaCluster: plaintext(),
        topics: [topic],
        storage: { storageType: "pvc", pvc: { claimName: "snapshots", subPath: "sets/.kbo-tmp" } },
      },
      reason: /^InvalidStorageKey$/,
      message: /pvc\.subPath "sets\/\.kbo-tmp": segments starting with \.kbo- are reserved/,
    },
    // ── KafkaRestore ──
    {
      kind: "KafkaRestore",
      name: "r-missing-backup",
      spec: { backupRef: { name: "ghost" }, kafkaCluster: plaintext(), dryRun: true },
      reason: /^BackupNotFound$/,
      message: new RegExp(`spec\\.backupRef\\.name: KafkaBackup ${namespace}/ghost not found`),
    },
    {
      kind: "KafkaRestore",
      name: "r-other-namespace",
      spec: { backupRef: { name: "good", namespace: "no-such-namespace" }, kafkaCluster: plaintext(), dryRun: true },
      reason: /^BackupNotFound$/,
      message: /KafkaBackup no-such-namespace\/good not found/,
    },
    {
      kind: "KafkaRestore",
      name: "r-not-yet",
      spec: { backupRef: { name: "not-yet" }, kafkaCluster: plaintext(), dryRun: true },
      reason: /^BackupNotReady$/,
      message: new RegExp(`KafkaBackup ${namespace}/not-yet has no completed backup set`),
    },
    {
      kind: "KafkaRestore",
      name: "r-empty-storage",
      spec: { backupRef: { name: "", storage: emptyStorage }, kafkaCluster: plaintext(), dryRun: true },
      reason: /^BackupNotFound$/,
      message: /spec\.backupRef\.storage: no complete backup set in/,
    },
    {
      kind: "KafkaRestore",
      name: "r-no-such-set",
      spec: { backupRef: { name: "good", backupId: "good-19700101-000000" }, kafkaCluster: plaintext(), dryRun: true },
      reason: /^BackupNotFound$/,
      message: /backup good-19700101-000000 not found: no s3:\/\/.*\/good-19700101-000000\/manifest\.json/,
    },
    {
      kind: "KafkaRestore",
      name: "r-topic-not-in-backup",
      spec: {
        backupRef: { name: "good" },
        kafkaCluster: plaintext(),
        topics: ["not-in-backup"],
        topicMapping: { "not-in-backup": "restored" },
      },
      reason: /^InvalidRestoreSpec$/,
      message: /spec\.topics: "not-in-backup" not in backup/,
    },
    {
      kind: "KafkaRestore",
      name: "r-start-after-end",
      spec: {
        backupRef: { name: "good" },
        kafkaCluster: plaintext(),
        dryRun: true,
        pitr: { startTimestamp: 1798761600000, endTime: "2026-01-01T00:00:00Z" },
      },
      reason: /^InvalidRestoreSpec$/,
      message: /spec\.pitr: the start 2027-01-01T00:00:00\.000Z is after the end/,
    },
    {
      kind: "KafkaRestore",
      name: "r-unreachable",
      spec: { backupRef: { name: "good" }, kafkaCluster: unreachable, topics: [topic], topicMapping: { [topic]: `${topic}-r` } },
      reason: /^KafkaUnreachable$/,
      message: /127\.0\.0\.1:1/,
    },
    // ── KafkaOffsetReset ──
    {
      kind: "KafkaOffsetReset",
      name: "o-sasl-secret",
      spec: {
        kafkaCluster: { ...plaintext(), securityProtocol: "SASL_PLAINTEXT", saslSecret: { name: "no-sasl", mechanism: "PLAIN" } },
        consumerGroups: ["g1"],
        resetStrategy: "to-earliest",
      },
      reason: /^SecretNotFound$/,
      message: new RegExp(`kafkaCluster.saslSecret.*Secret ${namespace}/no-sasl not found`),
    },
    {
      kind: "KafkaOffsetReset",
      name: "o-unreachable",
      spec: { kafkaCluster: unreachable, consumerGroups: ["g1"], resetStrategy: "to-earliest" },
      reason: /^SnapshotFailed$/,
      message: /127\.0\.0\.1:1/,
    },
    {
      kind: "KafkaOffsetReset",
      name: "o-missing-restore",
      spec: {
        kafkaCluster: plaintext(),
        consumerGroups: ["g1"],
        resetStrategy: "from-mapping",
        offsetMappingRef: { restoreName: "ghost" },
      },
      reason: /^ReferenceNotFound$/,
      message: new RegExp(`spec\\.offsetMappingRef\\.restoreName: KafkaRestore ${namespace}/ghost not found`),
    },
    {
      kind: "KafkaOffsetReset",
      name: "o-traversal",
      spec: {
        kafkaCluster: plaintext(),
        consumerGroups: ["g1"],
        resetStrategy: "from-mapping",
        offsetMappingRef: { pvcName: "snapshots", path: "../../../etc/passwd" },
      },
      reason: /^InvalidReference$/,
      message: /spec\.offsetMappingRef\.path: \.\.\/\.\.\/\.\.\/etc\/passwd leaves the claim/,
    },
    {
      kind: "KafkaOffsetReset",
      name: "o-no-file",
      spec: {
        kafkaCluster: plaintext(),
        consumerGroups: ["g1"],
        resetStrategy: "from-mapping",
        offsetMappingRef: { pvcName: "snapshots", path: "missing/offset-mapping.json" },
      },
      reason: /^OffsetMappingNotFound$/,
      message: /missing\/offset-mapping\.json not found/,
    },
    {
      kind: "KafkaOffsetReset",
      name: "o-not-json",
      spec: {
        kafkaCluster: plaintext(),
        consumerGroups: ["g1"],
        resetStrategy: "from-mapping",
        offsetMappingRef: { path: canaryFile },
      },
      reason: /^InvalidOffsetMapping$/,
      message: /canary\.json: not JSON$/,
    },
    // ── KafkaOffsetRollback ──
    {
      kind: "KafkaOffsetRollback",
      name: "k-no-snapshot",
      spec: { snapshotRef: { name: "nothing-here" }, kafkaCluster: plaintext() },
      reason: /^SnapshotNotFound$/,
      message: new RegExp(`ConfigMap ${namespace}/nothing-here not found`),
    },
    {
      kind: "KafkaOffsetRollback",
      name: "k-missing-reset",
      spec: { snapshotRef: { name: "", offsetResetRef: "ghost" }, kafkaCluster: plaintext() },
      reason: /^ReferenceNotFound$/,
      message: new RegExp(`spec\\.snapshotRef\\.offsetResetRef: KafkaOffsetReset ${namespace}/ghost not found`),
    },
    {
      kind: "KafkaOffsetRollback",
      name: "k-missing-restore",
      spec: { snapshotRef: { name: "", restoreRef: "ghost" }, kafkaCluster: plaintext() },
      reason: /^ReferenceNotFound$/,
      message: new RegExp(`spec\\.snapshotRef\\.restoreRef: KafkaRestore ${namespace}/ghost not found`),
    },
    {
      kind: "KafkaOffsetRollback",
      name: "k-reset-without-snapshot",
      spec: { snapshotRef: { name: "", offsetResetRef: "o-missing-restore" }, kafkaCluster: plaintext() },
      reason: /^SnapshotNotFound$/,
      message: /spec\.snapshotRef\.offsetResetRef: KafkaOffsetReset .*o-missing-restore has no snapshot/,
    },
    {
      kind: "KafkaOffsetRollback",
      name: "k-traversal",
      spec: { snapshotRef: { name: "", pvcName: "snapshots", path: "../../etc/shadow" }, kafkaCluster: plaintext() },
      reason: /^InvalidReference$/,
      message: /spec\.snapshotRef\.path: \.\.\/\.\.\/etc\/shadow leaves the claim/,
    },
    {
      kind: "KafkaOffsetRollback",
      name: "k-not-json",
      spec: { snapshotRef: { name: "", path: canaryFile }, kafkaCluster: plaintext() },
      reason: /^InvalidSnapshot$/,
      message: /canary\.json: not JSON$/,
    },
    {
      kind: "KafkaOffsetRollback",
      name: "k-configmap-without-snapshot",
      spec: { snapshotRef: { name: "not-a-snapshot" }, kafkaCluster: plaintext() },
      reason: /^InvalidSnapshot$/,
      message: new RegExp(`ConfigMap ${namespace}/not-a-snapshot has no snapshot\\.json`),
    },
    // ── KafkaBackupValidation ──
    {
      kind: "KafkaBackupValidation",
      name: "v-missing-backup",
      spec: { backupRef: { name: "ghost" }, checks: { messageCount: {} } },
      reason: /^BackupNotFound$/,
      message: new RegExp(`spec\\.backupRef\\.name: KafkaBackup ${namespace}/ghost not found`),
    },
    {
      kind: "KafkaBackupValidation",
      name: "v-hour-25",
      spec: { backupRef: { name: "good" }, checks: { messageCount: {} }, schedule: "0 0 25 * * *" },
      reason: /^InvalidSchedule$/,
      message: /spec\.schedule: "0 0 25 \* \* \*"/,
    },
    {
      kind: "KafkaBackupValidation",
      name: "v-no-such-zone",
      spec: { backupRef: { name: "good" }, checks: { messageCount: {} }, schedule: "@daily", timeZone: "Atlantis/Capital" },
      reason: /^InvalidSchedule$/,
      message: /spec\.timeZone: "Atlantis\/Capital"/,
    },
    {
      kind: "KafkaBackupValidation",
      name: "v-signing-secret",
      spec: {
        backupRef: { name: "good" },
        checks: { messageCount: {} },
        evidence: { signing: { enabled: true, keySecret: { name: "no-signing-key" } } },
      },
      reason: /^SecretNotFound$/,
      message: new RegExp(`spec\\.evidence\\.signing\\.keySecret: Secret ${namespace}/no-signing-key not found`),
    },
    {
      kind: "KafkaBackupValidation",
      name: "v-signing-not-pem",
      spec: {
        backupRef: { name: "good" },
        checks: { messageCount: {} },
        evidence: { signing: { enabled: true, keySecret: { name: "not-a-pem" } } },
      },
      reason: /^InvalidSigningKey$/,
      message: /spec\.evidence\.signing\.keySecret .*not a PEM private key/,
    },
    {
      kind: "KafkaBackupValidation",
      name: "v-slack-key",
      spec: {
        backupRef: { name: "good" },
        checks: { messageCount: {} },
        notifications: { slack: { webhookSecret: { name: "other-keys", key: "url" } } },
      },
      reason: /^SecretKeyNotFound$/,
      message: /spec\.notifications\.slack\.webhookSecret: .*has no key "url"/,
    },
    {
      kind: "KafkaBackupValidation",
      name: "v-restored-start-after-end",
      spec: {
        backupRef: { name: "good" },
        kafkaCluster: plaintext(),
        checks: { messageCount: {} },
        restored: { pitr: { startTime: "2026-01-01T00:00:00Z", endTimestamp: 1 } },
      },
      reason: /^InvalidSpec$/,
      message: /spec\.restored\.pitr: the start .* is after the end/,
    },
    {
      kind: "KafkaBackupValidation",
      name: "v-no-such-set",
      spec: { backupRef: { name: "good", backupId: "good-19700101-000000" }, checks: { messageCount: {} } },
      reason: /^BackupNotFound$/,
      message: /backup good-19700101-000000 not found: no s3:\/\/.*\/good-19700101-000000\/manifest\.json/,
    },
    {
      kind: "KafkaBackupValidation",
      name: "v-empty-storage",
      spec: { backupRef: { name: "", storage: emptyStorage }, checks: { deepIntegrity: {} } },
      reason: /^BackupNotFound$/,
      message: /spec\.backupRef\.storage: no complete backup set in/,
    },
  ];

  for (const c of cases)
    apply(namespace, { apiVersion: "kafka.oso.sh/v1alpha1", kind: c.kind, metadata: { name: c.name }, spec: c.spec });

  // Each gets Ready=False naming the problem (unreachable brokers take the client's retries: ~40 s).
  const conditions = new Map<string, Condition>();
  await waitFor(
    "a Ready=False condition on every hostile resource",
    () => {
      for (const c of cases) {
        if (conditions.has(c.name)) continue;
        const ready = readyCondition(plural(c.kind), namespace, c.name);
        if (ready?.status === "False" && c.message.test(ready.message)) conditions.set(c.name, ready);
      }
      return conditions.size === cases.length ? true : undefined;
    },
    120_000,
  ).catch((err: Error) => {
    const missing = cases
      .filter((c) => !conditions.has(c.name))
      .map((c) => `${c.kind}/${c.name}: ${JSON.stringify(readyCondition(plural(c.kind), namespace, c.name))}`);
    throw new Error(`${err.message}\n${missing.join("\n")}`);
  });
  for (const c of cases) {
    const ready = conditions.get(c.name) as Condition;
    assert.match(ready.reason, c.reason, `${c.kind}/${c.name}: ${ready.reason}: ${ready.message}`);
  }

  // A Warning Event for each, with the condition's reason.
  const warnings = (
    JSON.parse(kubectl(["get", "events", "-n", namespace, "-o", "json"])) as {
      items: Array<{ type: string; reason: string; message: string; involvedObject: { name: string; kind: string } }>;
    }
  ).items.filter((e) => e.type === "Warning");
  for (const c of cases) {
    const ready = conditions.get(c.name) as Condition;
    assert.ok(
      warnings.some((e) => e.involvedObject.kind === c.kind && e.involvedObject.name === c.name && e.reason === ready.reason),
      `${c.kind}/${c.name}: no Warning Event ${ready.reason}`,
    );
  }

  // No hot loop: reconciles per object in a 20 s window once everything has settled.
  const logOffsets = new Map([...controllers].map(([kind, c]) => [kind, c.logs().length]));
  await sleep(windowMs);
  const inWindow = new Map<string, number>();
  for (const [kind, c] of controllers)
    for (const [key, n] of reconcilesPerObject(c.logs().slice(logOffsets.get(kind)))) inWindow.set(key, n);
  const total = new Map<string, number>();
  for (const c of controllers.values()) for (const [key, n] of reconcilesPerObject(c.logs())) total.set(key, n);
  for (const c of cases) assert.ok(total.has(`${c.kind} ${namespace}/${c.name}`), `${c.kind}/${c.name} never reconciled`);
  const worst = [...inWindow].sort((a, b) => b[1] - a[1]);
  const maxInWindow = worst[0]?.[1] ?? 0;
  assert.ok(maxInWindow <= maxReconcilesPerWindow, `hot loop: ${JSON.stringify(worst.slice(0, 5))} in ${windowMs / 1000} s`);
  const maxTotal = Math.max(...total.values());

  // Every controller alive, none with an uncaught exception; the file's content nowhere.
  for (const [kind, c] of controllers) {
    assert.equal(c.child.exitCode, null, `${kind} controller exited`);
    assert.doesNotMatch(c.logs(), /uncaught|unhandled|"level":"fatal"/i, `${kind} controller`);
  }
  const everything = [
    kubectl([
      "get",
      Object.keys(controllerOf)
        .map((k) => plural(k as Kind))
        .join(","),
      "-n",
      namespace,
      "-o",
      "yaml",
    ]),
    kubectl(["get", "events", "-n", namespace, "-o", "yaml"]),
    ...[...controllers.values()].map((c) => c.logs()),
  ].join("\n");
  assert.ok(!everything.includes(canary), "a file's content reached status, an Event or a log");

  // The summary with the manifests the API server refuses (test/integration/crds-apiserver.test.ts).
  const atApply = invalidPerKind();
  const applied = [...atApply.values()].reduce((a, b) => a + b, 0);
  const perKind = (Object.keys(controllerOf) as Kind[]).map(
    (k) => `${k} ${atApply.get(k) ?? 0}+${cases.filter((c) => c.kind === k).length}`,
  );
  console.log(
    `hostile: ${applied + cases.length} manifests (${perKind.join(", ")}: at apply + at run time), ${applied} rejected at apply naming the field, ${conditions.size} Ready=False conditions naming the problem with a Warning Event each; max reconciles/object ${maxInWindow} in ${windowMs / 1000} s (${worst[0]?.[0]}; ${maxTotal} over the whole run); ${[...controllers.values()].filter((c) => c.child.exitCode === null).length} of ${controllers.size} controllers alive, no uncaught exception`,
  );
});
