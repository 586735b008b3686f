// The generated CRDs on the stack's real kube-apiserver: they install and become Established;
// manifests written for the existing operator apply unchanged; every status field the
// controllers write survives (nothing pruned); invalid manifests are rejected by `kubectl apply`
// with a message naming the field; `kubectl explain` shows the descriptions.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { generatedYamlPath } from "../../crds/render.ts";
import { customResourceDefinitions } from "../../crds/schema.ts";
import { repoRoot } from "../stack/config.ts";
import {
  fixture,
  fixtures,
  type Invalid,
  invalidBackups,
  invalidHostile,
  invalidOthers,
  invalidPerKind,
  type Json,
  type Manifest,
} from "../support/invalid-manifests.ts";
import { stackEnv } from "../support/stack-env.ts";

function kubectl(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(stackEnv("KUBECTL"), ["--kubeconfig", stackEnv("KUBECONFIG"), ...args], {
      encoding: "utf8",
      input,
      stdio: ["pipe", "pipe", "pipe"],
    });
    return { code: 0, stdout, stderr: "" };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, stdout: String(e.stdout ?? ""), stderr: String(e.stderr ?? "") };
  }
}

function ok(args: string[], input?: string): string {
  const r = kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

async function eventually<T>(what: string, fn: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Paths in `want` whose value differs in `got`; a null in `want` may be absent in `got` (the API server prunes it). */
function differences(want: unknown, got: unknown, path = ""): string[] {
  if (want === null) return got === null || got === undefined ? [] : [`${path}: ${JSON.stringify(got)}, want null`];
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length)
      return [`${path}: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`];
    return want.flatMap((w, i) => differences(w, got[i], `${path}[${i}]`));
  }
  if (typeof want === "object") {
    if (typeof got !== "object" || got === null) return [`${path}: missing`];
    return Object.entries(want as Json).flatMap(([k, w]) => differences(w, (got as Json)[k], `${path}.${k}`));
  }
  return want === got ? [] : [`${path}: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`];
}

const plural: Record<string, string> = Object.fromEntries(
  customResourceDefinitions().map((c) => [c.spec.names.kind, c.spec.names.plural]),
);

const namespace = `crds-${randomUUID().slice(0, 8)}`;

function installedIsOurs(): boolean {
  // Another test file may have installed a placeholder CRD for the same kind; ours carries CEL rules.
  const r = kubectl([
    "get",
    "crd",
    "kafkabackups.kafka.oso.sh",
    "-o",
    "jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.x-kubernetes-validations[0].message}",
  ]);
  return r.code === 0 && r.stdout.includes("topics");
}

/** Installs the generated CRDs (again, if another test file replaced one) and waits until they serve. */
async function installCrds(): Promise<void> {
  if (installedIsOurs()) return;
  ok(["apply", "--server-side", "--force-conflicts", "-f", join(repoRoot, generatedYamlPath)]);
  const names = customResourceDefinitions().map((c) => `crd/${c.metadata.name}`);
  ok(["wait", "--for=condition=Established", "--timeout=60s", ...names]);
  assert.ok(installedIsOurs(), "the installed kafkabackups CRD is not the generated one");
  await sleep(1000); // the API server's handlers pick up a changed schema a moment after Established
}

before(async () => {
  ok(["apply", "--server-side", "--force-conflicts", "-f", join(repoRoot, generatedYamlPath)]);
  const names = customResourceDefinitions().map((c) => `crd/${c.metadata.name}`);
  ok(["wait", "--for=condition=Established", "--timeout=60s", ...names]);
  assert.ok(installedIsOurs(), "the installed kafkabackups CRD is not the generated one");
  ok(["create", "namespace", namespace]);
  // The new resources answer a moment after Established.
  await eventually("KafkaBackup API served", () =>
    kubectl(["get", "kafkabackups", "-n", namespace]).code === 0 ? true : undefined,
  );
});

after(() => {
  // The stack runs no kube-controller-manager, so nothing would empty and finalize a deleted
  // namespace: delete what the test made, then finalize the namespace ourselves.
  kubectl(["delete", Object.values(plural).join(","), "--all", "-n", namespace, "--wait=false"]);
  kubectl(["delete", "namespace", namespace, "--wait=false"]);
  const ns = JSON.parse(ok(["get", "namespace", namespace, "-o", "json"])) as { spec?: { finalizers?: string[] } };
  ns.spec = { finalizers: [] };
  kubectl(["replace", "--raw", `/api/v1/namespaces/${namespace}/finalize`, "-f", "-"], JSON.stringify(ns));
});

function apply(manifest: Manifest): { code: number; stdout: string; stderr: string } {
  return kubectl(["apply", "-n", namespace, "-f", "-"], stringify(manifest));
}

describe("crds on the real kube-apiserver", () => {
  test("manifests written for the existing operator, and with our additions, apply unchanged and keep every field", async () => {
    await installCrds();
    assert.ok(fixtures.length >= 15, `only ${fixtures.length} fixtures`);
    for (const manifest of fixtures) {
      const r = apply(manifest);
      assert.equal(r.code, 0, `${manifest.kind}/${manifest.metadata.name} rejected: ${r.stderr}`);
      const stored = JSON.parse(
        ok(["get", plural[manifest.kind] as string, manifest.metadata.name, "-n", namespace, "-o", "json"]),
      );
      assert.deepEqual(differences(manifest.spec, stored.spec, "spec"), [], `${manifest.kind}/${manifest.metadata.name}`);
    }
  });

  test("the API server fills in the existing operator's defaults", () => {
    const stored = JSON.parse(ok(["get", "kafkabackup", "s3-backup", "-n", namespace, "-o", "json"]));
    assert.deepEqual(
      differences(
        {
          compression: "zstd",
          compressionLevel: 3,
          segmentMaxBytes: 134217728,
          segmentMaxIntervalMs: 60000,
          continuous: false,
          stopAtCurrentOffsets: false,
          includeOffsetHeaders: true,
          pollIntervalMs: 100,
          consumerGroupSnapshot: false,
          suspend: false,
          concurrencyPolicy: "Forbid",
          deletionPolicy: "Retain",
          kafkaCluster: { securityProtocol: "PLAINTEXT" },
        },
        stored.spec,
        "spec",
      ),
      [],
    );
    const restore = JSON.parse(ok(["get", "kafkarestore", "restore-test", "-n", namespace, "-o", "json"]));
    assert.deepEqual(
      differences(
        { dryRun: false, purgeTopics: false, produceAcks: -1, produceBatchSize: 1000, partitionMapping: {} },
        restore.spec,
        "spec",
      ),
      [],
    );
  });

  test("a manifest with a status: block (docs/migration.md): known fields are ignored by apply, an unknown one is refused by strict field validation", async () => {
    await installCrds();
    const base = fixtures.find((m) => m.kind === "KafkaBackup") as Manifest;
    const withStatus = (name: string, status: Json): Manifest =>
      ({ ...structuredClone(base), metadata: { name }, status }) as Manifest;
    const known = apply(withStatus("exported", { phase: "Completed", backupId: "exported-20250101-020000" }));
    assert.equal(known.code, 0, known.stderr);
    const stored = JSON.parse(ok(["get", "kafkabackup", "exported", "-n", namespace, "-o", "json"])) as { status?: Json };
    assert.equal(stored.status?.phase, undefined, "a status in a manifest takes no effect");
    assert.equal(stored.status?.backupId, undefined);
    const unknown = apply(withStatus("exported-rust", { phase: "Completed", rustOnlyField: 1 }));
    assert.notEqual(unknown.code, 0, "an unknown status field is refused");
    assert.match(unknown.stderr, /strict decoding error: unknown field "status\.rustOnlyField"/);
  });

  test("every status field the controllers write is kept (nothing pruned), and printer columns show them typed", async () => {
    await installCrds();
    const t = "2026-01-02T03:04:05Z";
    const ready = [
      { type: "Ready", status: "True", reason: "Done", message: "ok", lastTransitionTime: t, observedGeneration: 1 },
    ];
    const statuses: [string, string, Json][] = [
      [
        "kafkabackups",
        "backup-test-topic",
        {
          phase: "Completed",
          message: "backed up 3 topics",
          observedGeneration: 1,
          conditions: ready,
          backupId: "backup-test-topic-20260102-030405",
          lastSuccessfulBackupId: "backup-test-topic-20260102-030405",
          startTime: t,
          completionTime: t,
          lastBackupTime: t,
          lastScheduleTime: t,
          nextScheduledBackup: t,
          recordsProcessed: 12345,
          bytesProcessed: 9876543210,
          segmentsCompleted: 12,
          progressPercent: 99.5,
          etaSeconds: 3,
          throughputRecordsPerSec: 1234.5,
          throughputBytesPerSec: 99999.25,
          lagRecords: 0,
          topicsSelected: 3,
          partitionsTotal: 9,
          partitionsCompleted: 9,
          gapsRecorded: 1,
          checkpointEnabled: true,
          lastCheckpointTime: t,
          resumable: true,
          lastRetentionTime: t,
          retentionInspectedBackups: 5,
          retentionEligibleBackups: 2,
          retentionDeletedBackups: 2,
          retentionReclaimedBytes: 1024,
          retentionDryRun: false,
          retentionError: "none",
          job: {
            name: "backup-test-topic-1",
            workers: 4,
            active: 0,
            succeeded: 3,
            failed: 1,
            failedShard: 2,
            failureReason: "x",
          },
        },
      ],
      [
        "kafkarestores",
        "restore-test",
        {
          phase: "Running",
          message: "restoring",
          observedGeneration: 1,
          conditions: ready,
          backupId: "backup-test-topic-20260102-030405",
          startTime: t,
          completionTime: t,
          progressPercent: 42.5,
          recordsRestored: 100,
          bytesRestored: 2000,
          segmentsProcessed: 3,
          recordsTotal: 235,
          currentTopic: "backup-test-topic",
          throughputRecordsPerSec: 10.5,
          throughputBytesPerSec: 200.5,
          etaMs: 5000,
          resumable: true,
          lastCheckpointTime: t,
          offsetMappingPath: "backup-test-topic-20260102-030405/offset-mapping.json",
          plan: [
            {
              sourceTopic: "backup-test-topic",
              targetTopic: "restored-topic",
              exists: false,
              records: 235,
              partitions: [{ partition: 0, targetPartition: -1, records: 235, firstOffset: 0, lastOffset: 234 }],
            },
          ],
          consumerGroups: [{ groupId: "g1", committed: false, partitions: 0, error: "group has 2 live members" }],
          rollback: {
            snapshotId: "s1",
            snapshotTime: t,
            snapshotPath: "snapshots/s1.json",
            rollbackAvailable: true,
            expiresAt: t,
          },
          job: { name: "restore-test-1", workers: 2 },
        },
      ],
      [
        "kafkaoffsetresets",
        "reset-consumer",
        {
          phase: "PartiallyCompleted",
          message: "Reset 1 groups, 0 no-op, 1 failed",
          observedGeneration: 1,
          conditions: ready,
          startTime: t,
          completionTime: t,
          groupsTotal: 2,
          groupsReset: 1,
          groupsFailed: 1,
          duration: "1.23s",
          snapshotId: "reset-consumer-20260102-030405",
          snapshotPath: "configmap/reset-consumer-offsets-snapshot",
          groupResults: [
            {
              groupId: "my-consumer-group",
              success: true,
              state: "Reset",
              message: "2 partitions reset",
              partitionsReset: 2,
              partitions: [{ topic: "orders", partition: 0, previousOffset: 10, newOffset: 0 }],
            },
            { groupId: "busy", success: false, state: "ActiveMembers", error: "group has live members" },
          ],
        },
      ],
      [
        "kafkaoffsetrollbacks",
        "rollback-reset",
        {
          phase: "Completed",
          message: "rolled back",
          observedGeneration: 1,
          conditions: ready,
          startTime: t,
          completionTime: t,
          groupsTotal: 1,
          groupsRolledBack: 1,
          groupsFailed: 0,
          verified: false,
          duration: "0.5s",
          verification: {
            allMatched: false,
            totalGroups: 1,
            matchedGroups: 0,
            mismatchedGroups: ["orders-service"],
            mismatches: [{ groupId: "orders-service", topic: "orders", partition: 1, expectedOffset: 5, actualOffset: 7 }],
          },
          groupResults: [{ groupId: "orders-service", success: true, state: "Reset", partitionsReset: 3 }],
        },
      ],
      [
        "kafkabackupvalidations",
        "validate-nightly",
        {
          phase: "Completed",
          message: "2 of 3 checks passed",
          observedGeneration: 1,
          conditions: [{ ...ready[0], status: "False", reason: "ValidationFailed" }],
          validationResult: "Fail",
          backupId: "my-backup-20260102-030405",
          startTime: t,
          completionTime: t,
          lastValidationTime: t,
          lastScheduleTime: t,
          nextScheduledValidation: t,
          checksTotal: 3,
          checksCompleted: 3,
          checksPassed: 2,
          checksFailed: 1,
          checksWarned: 0,
          checkResults: [
            {
              checkName: "messageCount",
              outcome: "Failed",
              message: "orders: 3 records missing",
              durationMs: 12,
              details: { missing: { orders: 3 }, partitions: [0, 2] },
            },
          ],
          evidenceReportPath: "my-backup-20260102-030405/evidence/validate-nightly.json",
          evidenceReportSigned: true,
        },
      ],
    ];
    for (const [resource, name, status] of statuses) {
      ok(["patch", resource, name, "-n", namespace, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
      const stored = JSON.parse(ok(["get", resource, name, "-n", namespace, "-o", "json"]));
      assert.deepEqual(differences(status, stored.status, "status"), [], `${resource}/${name}`);
    }
    const restoreRow = ok(["get", "kafkarestore", "restore-test", "-n", namespace, "--no-headers"]);
    assert.match(restoreRow, /Running\s+42\.5\s+100\s/);
    const backupRow = ok(["get", "kafkabackup", "backup-test-topic", "-n", namespace, "-o", "wide"]);
    assert.match(backupRow, /RESUMABLE/);
    assert.match(backupRow, /Completed\s+.*12345\s+true/);
  });

  test("kubectl explain shows the descriptions", async () => {
    const explain = async (path: string) =>
      await eventually(`kubectl explain ${path}`, () => {
        const r = kubectl(["explain", path]);
        return r.code === 0 ? r.stdout : undefined;
      });
    assert.match(await explain("kafkabackup.spec.kafkaCluster.caSecret"), /Strimzi/);
    assert.match(await explain("kafkabackup.spec.schedule"), /7 fields\s+\(sec min hour/);
    assert.match(await explain("kafkabackup.spec.storage.s3.credentialsSecret"), /default credential chain/);
    assert.match(await explain("kafkarestore.spec.pitr"), /inclusive/);
    assert.match(await explain("kafkaoffsetreset.spec.resetStrategy"), /to-timestamp/);
    assert.match(await explain("kbv.spec.checks"), /at least one must be enabled/);
  });
});

// ---- Invalid input ----------------------------------------------------------------------------

describe("crds: invalid manifests are rejected at the door, naming the field", () => {
  const run = (cases: Invalid[]) => {
    let rejected = 0;
    for (const c of cases) {
      const manifest = fixture(c.base);
      manifest.metadata.name = `bad-${randomUUID().slice(0, 8)}`;
      c.change(manifest.spec, manifest);
      const r = apply(manifest);
      assert.notEqual(r.code, 0, `${c.why}: accepted`);
      const line = r.stderr.split("\n").find((l) => l.includes(`${c.field}:`) || l.includes(`"${c.field}"`));
      assert.ok(line, `${c.why}: no error names ${c.field}:\n${r.stderr}`);
      assert.match(line, c.message, `${c.why}`);
      rejected++;
    }
    return rejected;
  };

  test(`${invalidBackups.length} invalid KafkaBackups`, async () => {
    await installCrds();
    assert.ok(invalidBackups.length >= 20);
    assert.equal(run(invalidBackups), invalidBackups.length);
  });

  test(`${invalidOthers.length} invalid KafkaRestores, KafkaOffsetResets, KafkaOffsetRollbacks, KafkaBackupValidations`, async () => {
    await installCrds();
    assert.equal(run(invalidOthers), invalidOthers.length);
  });

  test(`${invalidHostile.length} hostile manifests of all five kinds`, async () => {
    await installCrds();
    assert.equal(run(invalidHostile), invalidHostile.length);
    const perKind = invalidPerKind();
    assert.equal(perKind.size, 5, [...perKind.keys()].join(", "));
    for (const [kind, n] of perKind) assert.ok(n >= 10, `only ${n} invalid ${kind}s`);
    const all = invalidBackups.length + invalidOthers.length + invalidHostile.length;
    console.log(
      `hostile at apply: ${all} manifests rejected naming the field (${[...perKind].map(([k, n]) => `${k} ${n}`).join(", ")})`,
    );
  });
});
