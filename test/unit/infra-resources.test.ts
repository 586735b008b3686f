// The typed custom resources: each registers its kind at kafka.oso.sh/v1alpha1 with the spec as
// given (the types check it at compile time), and refuses to be made without a spec.
import assert from "node:assert/strict";
import { test } from "node:test";
import { apiVersion, resources } from "../../crds/generated/types.ts";
import { recordResources, settled } from "../../infra/render.ts";
import {
  KafkaBackup,
  KafkaBackupValidation,
  KafkaOffsetReset,
  KafkaOffsetRollback,
  KafkaRestore,
} from "../../infra/resources.ts";

test("each class registers its own kind with the given metadata and spec", async () => {
  const registered = recordResources();
  const metadata = { name: "x", namespace: "team-a" };
  const kafkaCluster = { bootstrapServers: ["kafka:9092"] };
  new KafkaBackup("b", {
    metadata,
    spec: { kafkaCluster, topics: ["orders"], storage: { storageType: "pvc", pvc: { claimName: "backups" } } },
  });
  new KafkaRestore("r", { metadata, spec: { kafkaCluster, backupRef: { name: "b" } } });
  new KafkaOffsetReset("o", { metadata, spec: { kafkaCluster, consumerGroups: ["g"], resetStrategy: "to-earliest" } });
  new KafkaOffsetRollback("ob", { metadata, spec: { kafkaCluster, snapshotRef: { name: "snap" } } });
  new KafkaBackupValidation("v", { metadata, spec: { backupRef: { name: "b" }, checks: {} } });
  await settled(registered);
  const kinds = registered.map((r) => `${r.type} ${r.inputs.kind} ${r.inputs.apiVersion}`).sort();
  assert.deepEqual(
    kinds,
    Object.keys(resources)
      .map((kind) => `kubernetes:${apiVersion}:${kind} ${kind} ${apiVersion}`)
      .sort(),
  );
  for (const r of registered) assert.deepEqual(r.inputs.metadata, metadata);
  const backup = registered.find((r) => r.inputs.kind === "KafkaBackup")?.inputs.spec as { topics?: string[] } | undefined;
  assert.deepEqual(backup?.topics, ["orders"]);
});

test("a spec is required", () => {
  recordResources();
  assert.throws(() => new KafkaBackup("b", {} as never), /KafkaBackup: args\.spec is required/);
});
