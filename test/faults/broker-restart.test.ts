// The single broker stopped and started again in the middle of a backup, then in the middle of a
// restore: each run rides it out and ends with exact data (every record once, at its offset, in
// order), compared with the Java consumer.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runBackup } from "../../engine/backup/engine.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { runRestore } from "../../engine/restore/restore.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { type JavaRecord, javaDump, minioStore, readBackup } from "../support/backup.ts";
import { topicWith } from "../support/e2e.ts";
import { restartComponent } from "../support/faults.ts";
import { stackEnv } from "../support/stack-env.ts";

let kafka: KafkaClient;
let store: StorageBackend;
let topic: string;
const records = 4 * 20_000;

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  topic = await topicWith(kafka, 4, 20_000, 200);
  store = await minioStore(`fault-broker-${randomUUID().slice(0, 8)}`);
});
after(async () => {
  await kafka.close();
});

const identity = (r: JavaRecord) => `${r.partition}/${r.offset}/${r.key}/${r.value}`;

test("a backup rides out a broker restart: every offset exactly once", async () => {
  const run = runBackup(kafka, store, {
    backupId: "restart",
    selection: { topics: [topic] },
    mode: "snapshot",
    codec: "lz4",
    segmentMaxRecords: 2000,
    recordsPerSec: 10_000,
    leaseHolder: "fault",
  });
  await sleep(2500);
  const restarted = Date.now();
  await restartComponent("kafka", 3000);
  console.log(`broker restarted mid-backup (down and up in ${((Date.now() - restarted) / 1000).toFixed(1)}s)`);
  const result = await run;
  assert.equal(result.records, records);
  const backedUp = (await readBackup(store, "restart")).records.get(topic) ?? [];
  const source = javaDump(topic);
  assert.deepEqual(backedUp.map(identity).sort(), source.map(identity).sort());
  console.log(`broker restart mid-backup: ${backedUp.length} records checked, duplicates 0, lost 0`);
});

test("a restore rides out a broker restart: every record exactly once, in order", async () => {
  const target = `${topic}-restored`;
  const run = runRestore(kafka, store, {
    backupId: "restart",
    restoreId: "restart",
    selection: { topicMapping: { [topic]: target } },
    createTopics: true,
    batchRecords: 500,
    recordsPerSec: 10_000,
  });
  await sleep(2500);
  await restartComponent("kafka", 3000);
  const result = await run;
  assert.equal(result.records, records);
  const byOffset = (a: JavaRecord, b: JavaRecord) => a.partition - b.partition || a.offset - b.offset;
  const restored = javaDump(target).sort(byOffset);
  const source = javaDump(topic).sort(byOffset);
  assert.deepEqual(restored.map(identity), source.map(identity));
  console.log(`broker restart mid-restore: ${restored.length} records checked, duplicates 0, lost 0`);
});
