// The restore run against the real broker and MinIO: a backup restored into a renamed topic is
// record for record the source (read with the Java consumer); a time window restores exactly
// the records inside it, out-of-order timestamps included; a stopped restore resumes without
// duplicates; repartitioning puts every key where the Java partitioner does.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runBackup } from "../../engine/backup/engine.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { javaPartition } from "../../engine/kafka/partitioner.ts";
import { runRestore } from "../../engine/restore/restore.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { repoRoot } from "../stack/config.ts";
import { type JavaRecord, javaDump, minioStorageSpec, minioStore } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";

const run = randomUUID().slice(0, 8);
const source = `restore-src-${run}`;
const base = 1_700_000_000_000;
let kafka: KafkaClient;
let store: StorageBackend;

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  const admin = await kafka.admin();
  // Timestamps from 2023: without retention.ms=-1 (carried to the created targets as a backed-up
  // config) the broker's retention check would delete them from the restored topics.
  await admin.createTopics({
    topics: [{ topic: source, numPartitions: 3, configEntries: [{ name: "retention.ms", value: "-1" }] }],
    waitForLeaders: true,
  });
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let i = 0; i < 6000; i += 1000) {
      await producer.send({
        topic: source,
        acks: -1,
        messages: Array.from({ length: 1000 }, (_, j) => {
          const n = i + j;
          // Timestamps jump back and forth: in-window records sit between out-of-window ones.
          return {
            key: n % 10 === 0 ? null : `key-${n}`,
            value: `value-${n}`,
            timestamp: String(base + ((n * 7919) % 6000) * 1000),
            headers: { n: String(n) },
          };
        }),
      });
    }
  } finally {
    await producer.disconnect();
  }
  store = await minioStore(`restore-${run}`);
  await runBackup(kafka, store, {
    backupId: "src",
    selection: { topics: [source] },
    mode: "snapshot",
    codec: "zstd",
    segmentMaxRecords: 400,
    leaseHolder: "t",
  });
});

after(async () => {
  await kafka.close();
});

const strip = (r: JavaRecord) => ({
  partition: r.partition,
  offset: r.offset,
  timestamp: r.timestamp,
  key: r.key,
  value: r.value,
  headers: r.headers,
});
const byPartitionOffset = (a: JavaRecord, b: JavaRecord) => a.partition - b.partition || a.offset - b.offset;

describe("restore engine", () => {
  test("a backup restored into a renamed topic equals the source, record for record", async () => {
    const target = `restore-dst-${run}`;
    const result = await runRestore(kafka, store, {
      backupId: "src",
      restoreId: "full",
      selection: { topicMapping: { [source]: target } },
      createTopics: true,
    });
    assert.equal(result.records, 6000);
    const expected = javaDump(source).sort(byPartitionOffset).map(strip);
    const actual = javaDump(target).sort(byPartitionOffset).map(strip);
    assert.equal(actual.length, 6000);
    assert.deepEqual(actual, expected);
  });

  test("a time window restores exactly the records inside it, timestamps out of order", async () => {
    const target = `restore-pitr-${run}`;
    const start = base + 1000 * 1000;
    const end = base + 2000 * 1000;
    const result = await runRestore(kafka, store, {
      backupId: "src",
      restoreId: "pitr",
      selection: { topicMapping: { [source]: target }, window: { start, end } },
      createTopics: true,
    });
    const expected = javaDump(source).filter((r) => r.timestamp >= start && r.timestamp <= end);
    assert.ok(expected.length > 500 && expected.length < 6000);
    assert.equal(result.records, expected.length);
    const actual = javaDump(target);
    assert.deepEqual(actual.map((r) => r.value).sort(), expected.map((r) => r.value).sort());
  });

  test("a restore stopped midway and run again ends with every record exactly once, in order", async () => {
    const target = `restore-resume-${run}`;
    const stop = new AbortController();
    let produced = 0;
    const first = runRestore(kafka, store, {
      backupId: "src",
      restoreId: "resume",
      selection: { topicMapping: { [source]: target } },
      createTopics: true,
      batchRecords: 100,
      // Slow enough that the stop lands midway, however fast the machine.
      recordsPerSec: 2000,
      signal: stop.signal,
    });
    // Stop once part of it is in Kafka. A client of its own: asking for a topic that does not
    // exist yet would put kafkajs's shared metadata in error for the restore too.
    const observer = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
    for (let i = 0; i < 200 && produced < 1500; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const admin = await observer.admin();
      produced = await admin
        .fetchTopicOffsets(target)
        .then((ps) => ps.reduce((n, p) => n + Number(p.high), 0))
        .catch(() => 0);
    }
    stop.abort();
    await observer.close();
    const partial = await first;
    const second = await runRestore(kafka, store, {
      backupId: "src",
      restoreId: "resume",
      selection: { topicMapping: { [source]: target } },
      createTopics: true,
    });
    // The second run finds the first run's records in the target and writes only the rest.
    assert.ok(partial.records > 0 && partial.records < 6000, `first run restored ${partial.records}`);
    assert.equal(second.records, 6000);
    assert.equal(second.skippedAsAlreadyRestored, partial.records);
    const expected = javaDump(source).sort(byPartitionOffset).map(strip);
    const actual = javaDump(target).sort(byPartitionOffset).map(strip);
    assert.deepEqual(actual, expected);
    console.log(
      `restore resume: stopped after ${partial.records} records, resumed with ${second.records - second.skippedAsAlreadyRestored}; 6000 checked, duplicates 0, missing 0`,
    );
  });

  test("repartitioning 3 → 6 puts each keyed record where the Java partitioner does", async () => {
    const target = `restore-repart-${run}`;
    await runRestore(kafka, store, {
      backupId: "src",
      restoreId: "repartition",
      selection: { topicMapping: { [source]: target }, repartitioning: { [source]: { targetPartitions: 6 } } },
      createTopics: true,
    });
    const actual = javaDump(target);
    assert.equal(actual.length, 6000);
    const admin = await kafka.admin();
    assert.equal((await admin.fetchTopicMetadata({ topics: [target] })).topics[0]?.partitions.length, 6);
    for (const r of actual) {
      if (r.key === null) continue;
      assert.equal(r.partition, javaPartition(Buffer.from(r.key, "base64"), 6));
    }
  });

  test("the restore CLI SIGKILLed at random moments, rerun each time: every record exactly once", async () => {
    const target = `restore-killed-${run}`;
    const { spec, secrets } = minioStorageSpec(`restore-${run}`);
    const dir = mkdtempSync(join(tmpdir(), "kbo-restore-kill-"));
    for (const [name, keys] of Object.entries(secrets)) {
      mkdirSync(join(dir, "secrets", name), { recursive: true });
      for (const [k, v] of Object.entries(keys)) writeFileSync(join(dir, "secrets", name, k), v);
    }
    writeFileSync(
      join(dir, "restore.json"),
      JSON.stringify({
        backupRef: { storage: spec, backupId: "src" },
        kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
        topicMapping: { [source]: target },
        createTopics: true,
        produceBatchSize: 20,
        // About 15 s of work: ten kills, each after a little progress, stay well inside it.
        rateLimiting: { recordsPerSec: 400 },
      }),
    );
    const cli = () =>
      spawn(
        process.execPath,
        [
          join(repoRoot, "engine/cli/main.ts"),
          "restore",
          "-c",
          join(dir, "restore.json"),
          "--secrets-dir",
          join(dir, "secrets"),
          "--restore-id",
          "killed",
          "--json",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
    // Progress is what the target holds (a produced batch is in Kafka once acknowledged). A client
    // of its own: asking for the target before it exists would put the shared metadata in error.
    const observer = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
    const written = async () => {
      const admin = await observer.admin();
      // Never asks for the target before it exists (kafkajs would keep its metadata in error a while).
      if (!(await admin.listTopics()).includes(target)) return 0;
      return await admin
        .fetchTopicOffsets(target)
        .then((ps) => ps.reduce((n, p) => n + Number(p.high), 0))
        .catch(() => 0);
    };
    let kills = 0;
    const atKills: number[] = [];
    for (let i = 0; i < 10; i++) {
      const child = cli();
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      let ended = false;
      void exited.then(() => (ended = true));
      // Each kill lands mid-write: once this run has written, a random moment on.
      const before = atKills.at(-1) ?? 0;
      let now = before;
      for (let t = 0; t < 600 && !ended && now <= before; t++) {
        await new Promise((r) => setTimeout(r, 25));
        now = await written();
      }
      await new Promise((r) => setTimeout(r, Math.random() * 150));
      const atKill = await written();
      if (ended) break;
      child.kill("SIGKILL");
      assert.equal(await exited, null);
      kills++;
      assert.ok(atKill > before && atKill < 6000, `kill ${kills} mid-write: ${before} → ${atKill} of 6000 records`);
      atKills.push(await written());
    }
    await observer.close();
    const final = cli();
    let err = "";
    final.stderr.on("data", (d: Buffer) => (err += d));
    assert.equal(await new Promise((resolve) => final.once("exit", resolve)), 0, err);
    const expected = javaDump(source).sort(byPartitionOffset).map(strip);
    const actual = javaDump(target).sort(byPartitionOffset).map(strip);
    assert.deepEqual(actual, expected);
    console.log(
      `restore SIGKILL: ${kills} kills, each mid-write (records in the target after each: ${atKills.join(", ")} of 6000); ${actual.length} records checked, duplicates 0, missing 0`,
    );
    assert.equal(kills, 10, `only ${kills} kills landed mid-write`);
  });
});
