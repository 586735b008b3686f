// Metric series stay bounded: each run of a KafkaBackup has its own backup_id, and a controller
// that runs a schedule for months must not export a series per run ever made.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BackupMetrics } from "../../engine/backup/metrics.ts";
import { OperatorMetrics } from "../../engine/k8s/metrics.ts";

/** What one run writes: the engine's per-run families (as engine/backup/engine.ts labels them) and the controller's. */
async function run(operator: OperatorMetrics, engine: BackupMetrics, namespace: string, name: string, backupId: string) {
  await engine.runStarted(`${namespace}/${name}`, backupId);
  for (const topic of ["orders", "payments"]) {
    const labels = { backup_id: backupId, topic };
    engine.records.inc(labels, 10);
    engine.bytes.inc(labels, 1000);
    engine.segments.inc(labels);
    engine.gaps.inc(labels);
    engine.skipped.inc(labels);
    engine.lag.set(labels, 0);
  }
  engine.retries.inc({ backup_id: backupId, kind: "connection" });
  engine.storageWriteLatency.observe({ backup_id: backupId }, 0.02);
  engine.storageWriteBytes.inc({ backup_id: backupId }, 500);
  engine.compressionRatio.set({ backup_id: backupId }, 2);
  const object = { resource_namespace: namespace, name };
  operator.backupDuration.observe(object, 3);
  operator.backups.inc({ outcome: "success", ...object });
  operator.backupSize.set(object, 500);
  operator.backupRecords.set(object, 20);
}

/** Exported series of the kafka_backup_* families (process metrics vary on their own). */
async function series(operator: OperatorMetrics): Promise<number> {
  return (await operator.registry.metrics()).split("\n").filter((l) => l.startsWith("kafka_backup_")).length;
}

test("after 100 runs of a KafkaBackup the series are those after 1; deleting it removes its series", async () => {
  const operator = new OperatorMetrics();
  const engine = new BackupMetrics(operator.registry);
  operator.onForget((namespace, name) => engine.ownerGone(`${namespace}/${name}`));
  const none = await series(operator);
  await run(operator, engine, "team-a", "orders", "orders-20260101-000000");
  await run(operator, engine, "team-b", "orders", "orders-20260101-000000");
  const afterOne = await series(operator);
  assert.ok(afterOne > none + 40, `one run adds series (${afterOne - none})`);
  for (let i = 1; i < 100; i++) {
    const id = `orders-20260101-${String(i).padStart(6, "0")}`;
    await run(operator, engine, "team-a", "orders", id);
    await run(operator, engine, "team-b", "orders", id);
  }
  assert.equal(await series(operator), afterOne, "100 runs of two KafkaBackups: as many series as after one");
  const text = await operator.registry.metrics();
  assert.ok(text.includes('backup_id="orders-20260101-000099"'), "the latest run's series are kept");
  assert.ok(!text.includes('backup_id="orders-20260101-000098"'), "the previous run's are gone");

  await operator.forgetObject("team-a", "orders");
  const afterDelete = await operator.registry.metrics();
  assert.ok(!afterDelete.includes('resource_namespace="team-a"'), "the deleted KafkaBackup's series are gone");
  assert.ok(afterDelete.includes('resource_namespace="team-b"'), "the other one's stay");
  await operator.forgetObject("team-b", "orders");
  assert.equal(await series(operator), none, "both deleted: back to the series before any run");
});
