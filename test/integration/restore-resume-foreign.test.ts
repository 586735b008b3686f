// A resumed restore counts what it already wrote as the target's growth since it started. Here the
// restore CLI is SIGKILLed mid-write, another producer then writes into one target partition, and
// the resume must not take those records for its own and skip backup records in their place: it
// fails with ForeignRecordsInTarget naming the partition. Real broker, MinIO and CLI process.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runBackup } from "../../engine/backup/engine.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { runRestore } from "../../engine/restore/restore.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { repoRoot } from "../stack/config.ts";
import { minioStorageSpec, minioStore } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";

const run = randomUUID().slice(0, 8);
const source = `resume-foreign-src-${run}`;
const target = `resume-foreign-dst-${run}`;
const prefix = `resume-foreign-${run}`;
const total = 3000;
let kafka: KafkaClient;
let store: StorageBackend;

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic: source, numPartitions: 3 }], waitForLeaders: true });
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({
    topic: source,
    acks: -1,
    messages: Array.from({ length: total }, (_, i) => ({ partition: i % 3, key: `k-${i}`, value: `v-${i}` })),
  });
  await producer.disconnect();
  store = await minioStore(prefix);
  await runBackup(kafka, store, {
    backupId: "src",
    selection: { topics: [source] },
    mode: "snapshot",
    codec: "zstd",
    segmentMaxRecords: 200,
    leaseHolder: "t",
  });
});
after(async () => {
  await kafka.close();
});

async function targetEnds(observer: KafkaClient): Promise<number[]> {
  const admin = await observer.admin();
  return await admin
    .fetchTopicOffsets(target)
    .then((ps) => ps.sort((a, b) => a.partition - b.partition).map((p) => Number(p.high)))
    .catch(() => []);
}

test("a foreign producer writing between a crash and the resume fails the resume, naming the partition", async () => {
  const { spec, secrets } = minioStorageSpec(prefix);
  const dir = mkdtempSync(join(tmpdir(), "kbo-resume-foreign-"));
  for (const [name, keys] of Object.entries(secrets)) {
    mkdirSync(join(dir, "secrets", name), { recursive: true });
    for (const [k, v] of Object.entries(keys)) writeFileSync(join(dir, "secrets", name, k), v);
  }
  const restoreSpec = {
    backupRef: { storage: spec, backupId: "src" },
    kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
    topicMapping: { [source]: target },
    createTopics: true,
    produceBatchSize: 20,
    // About 6 s of work: the kill lands mid-write.
    rateLimiting: { recordsPerSec: 500, maxConcurrentPartitions: 3 },
  };
  writeFileSync(join(dir, "restore.json"), JSON.stringify(restoreSpec));
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "engine/cli/main.ts"),
      "restore",
      "-c",
      join(dir, "restore.json"),
      "--secrets-dir",
      join(dir, "secrets"),
      "--restore-id",
      "crashed",
      "--json",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  // Kill once part of the restore is in Kafka (a client of our own: asking for a topic before it
  // exists would put kafkajs's shared metadata in error for everything else).
  const observer = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  let written = 0;
  for (let i = 0; i < 400 && written < 600; i++) {
    await new Promise((r) => setTimeout(r, 25));
    written = (await targetEnds(observer)).reduce((n, e) => n + e, 0);
  }
  child.kill("SIGKILL");
  assert.equal(await exited, null, "the restore ended before the kill");
  const atKill = await targetEnds(observer);
  const sum = atKill.reduce((n, e) => n + e, 0);
  assert.ok(sum > 0 && sum < total, `the kill landed mid-write: ${sum} of ${total} records in the target`);

  // Another producer writes into partition 1 of the target while nothing restores.
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({
    topic: target,
    acks: -1,
    messages: Array.from({ length: 3 }, (_, i) => ({ partition: 1, key: "live", value: `foreign-${i}` })),
  });
  await producer.disconnect();
  await observer.close();

  // The resume (same restore id) reads back what it would skip and finds the foreign records.
  const resumed = runRestore(kafka, store, {
    backupId: "src",
    restoreId: "crashed",
    selection: { topicMapping: { [source]: target } },
    createTopics: true,
  });
  await assert.rejects(resumed, (err: Error & { reason?: string }) => {
    assert.equal(err.reason, "ForeignRecordsInTarget", err.message);
    assert.match(
      err.message,
      new RegExp(`target partition ${target}/1 holds at offset \\d+ a record that restore crashed did not write`),
    );
    return true;
  });
  console.log(`resume check: killed at ${atKill.join("/")} records per partition; 3 foreign records in partition 1 found`);
});
