// Durability of the backup: SIGKILL at random moments, log retention between runs, two runners
// on one backup set, and encryption at rest. The killed runs are the real CLI in a child process.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseCheckpoint } from "../../engine/backup/checkpoint.ts";
import { runBackup } from "../../engine/backup/engine.ts";
import { checkpointKey } from "../../engine/backup/layout.ts";
import { Lease, LeaseHeldError } from "../../engine/backup/lease.ts";
import { readManifest, readSegment } from "../../engine/backupset/catalog.ts";
import type { EncryptionError } from "../../engine/format/segment.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { silentLogger } from "../../engine/log.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { repoRoot } from "../stack/config.ts";
import { durableOffsets, minioStorageSpec, minioStore, readBackup } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";

let kafka: KafkaClient;

before(() => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
});
after(async () => {
  await kafka.close();
});

async function topicWith(partitions: number, recordsPerPartition: number, valueBytes = 100): Promise<string> {
  const topic = `resilience-${randomUUID().slice(0, 8)}`;
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await produce(topic, partitions, recordsPerPartition, 0, valueBytes);
  return topic;
}

async function produce(topic: string, partitions: number, perPartition: number, from: number, valueBytes = 100): Promise<void> {
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; i < perPartition; i += 2000) {
      const n = Math.min(2000, perPartition - i);
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: n }, (_, j) => ({
          partition: p,
          key: `p${p}-${from + i + j}`,
          value: `${from + i + j}:${"v".repeat(valueBytes)}`,
        })),
      });
    }
  }
  await producer.disconnect();
}

/** Every partition holds each offset from `start` to its end exactly once, with the right value. */
function assertExactlyOnce(
  records: Array<{ partition: number; offset: number; key: string | null }>,
  partitions: number,
  start: number,
  end: number,
) {
  for (let p = 0; p < partitions; p++) {
    const offsets = records.filter((r) => r.partition === p).map((r) => r.offset);
    const unique = new Set(offsets);
    assert.equal(offsets.length, unique.size, `partition ${p}: ${offsets.length - unique.size} duplicates`);
    assert.equal(unique.size, end - start, `partition ${p}: ${end - start - unique.size} missing`);
    for (let o = start; o < end; o++) assert.ok(unique.has(o), `partition ${p}: offset ${o} missing`);
  }
  for (const r of records) {
    assert.equal(Buffer.from(r.key ?? "", "base64").toString(), `p${r.partition}-${r.offset}`);
  }
}

describe("backup: crash safety", () => {
  test("SIGKILL at 10 random moments, rerun each time: every offset exactly once", async () => {
    const partitions = 4;
    const perPartition = 25_000;
    const topic = await topicWith(partitions, perPartition, 300);
    const prefix = `crash-${randomUUID().slice(0, 8)}`;
    const { spec, secrets } = minioStorageSpec(prefix);
    const dir = mkdtempSync(join(tmpdir(), "kbo-crash-"));
    for (const [name, keys] of Object.entries(secrets)) {
      mkdirSync(join(dir, "secrets", name), { recursive: true });
      for (const [k, v] of Object.entries(keys)) writeFileSync(join(dir, "secrets", name, k), v);
    }
    const specFile = join(dir, "backup.json");
    writeFileSync(
      specFile,
      JSON.stringify({
        kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
        topics: [topic],
        storage: spec,
        compression: "lz4",
        segmentMaxRecords: 1500,
        // Slow enough that kills land mid-run on any machine.
        rateLimiting: { recordsPerSec: 5000, maxConcurrentPartitions: 4 },
      }),
    );
    const cli = () =>
      spawn(
        process.execPath,
        [
          join(repoRoot, "engine/cli/main.ts"),
          "backup",
          "-c",
          specFile,
          "--secrets-dir",
          join(dir, "secrets"),
          "--backup-id",
          "crashy",
          "--holder",
          "crash-test",
          "--json",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
    const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const store = await minioStore(prefix);
    const durable = () => durableOffsets(store, "crashy", topic, partitions);
    const total = partitions * perPartition;
    let kills = 0;
    const progress: number[] = [];
    for (let i = 0; i < 10; i++) {
      const child = cli();
      const done = exited(child);
      let ended = false;
      void done.then(() => (ended = true));
      // Each kill lands mid-write: after this run has made durable progress, a random moment on.
      const before = progress.at(-1) ?? 0;
      let now = before;
      for (let t = 0; t < 600 && !ended && now <= before; t++) {
        await new Promise((r) => setTimeout(r, 50));
        now = await durable();
      }
      await new Promise((r) => setTimeout(r, Math.random() * 400));
      const atKill = await durable();
      assert.equal(ended, false, `run ${i + 1} ended before its kill (durable progress ${atKill} of ${total})`);
      child.kill("SIGKILL");
      assert.equal(await done, null);
      kills++;
      assert.ok(atKill > before && atKill < total, `kill ${i + 1} mid-write: progress ${before} → ${atKill} of ${total}`);
      progress.push(await durable());
    }
    const final = cli();
    let out = "";
    final.stdout?.on("data", (d: Buffer) => (out += d));
    let err = "";
    final.stderr?.on("data", (d: Buffer) => (err += d));
    assert.equal(await exited(final), 0, err);
    const result = JSON.parse(out) as { records: number };
    const { records } = await readBackup(store, "crashy");
    const stored = records.get(topic) ?? [];
    assertExactlyOnce(stored, partitions, 0, perPartition);
    console.log(
      `crash safety: ${kills} SIGKILLs, each mid-write (durable offsets after each: ${progress.join(", ")} of ${total}), final run added ${result.records}; ` +
        `${stored.length} records checked, duplicates 0, missing 0`,
    );
    assert.ok(kills >= 10, `only ${kills} runs were killed`);
  });
});

describe("backup: retention gaps", () => {
  test("records deleted between two runs become a recorded gap, and the run succeeds", async () => {
    const topic = await topicWith(1, 1000);
    const store = await minioStore();
    const first = await runBackup(kafka, store, {
      backupId: "gappy",
      selection: { topics: [topic] },
      mode: "snapshot",
      codec: "zstd",
      leaseHolder: "t",
    });
    assert.equal(first.records, 1000);
    await produce(topic, 1, 1000, 1000);
    const admin = await kafka.admin();
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "1500" }] });
    const second = await runBackup(kafka, store, {
      backupId: "gappy",
      selection: { topics: [topic] },
      mode: "snapshot",
      codec: "zstd",
      leaseHolder: "t",
    });
    assert.equal(second.gaps, 1);
    assert.equal(second.records, 500);
    const manifest = await readManifest(store, "gappy");
    const p0 = manifest.topics[0]?.partitions[0];
    assert.equal(p0?.gaps.length, 1);
    assert.equal(p0?.gaps[0]?.start, 1000);
    assert.equal(p0?.gaps[0]?.end, 1500);
    assert.equal(p0?.gaps[0]?.reason, "retention");
    assert.equal(p0?.nextOffset, 2000);
    const { records } = await readBackup(store, "gappy");
    const offsets = (records.get(topic) ?? []).map((r) => r.offset);
    assert.deepEqual(offsets, [...Array.from({ length: 1000 }, (_, i) => i), ...Array.from({ length: 500 }, (_, i) => 1500 + i)]);
    // A third run finds nothing new and records no further gap.
    const third = await runBackup(kafka, store, {
      backupId: "gappy",
      selection: { topics: [topic] },
      mode: "snapshot",
      codec: "zstd",
      leaseHolder: "t",
    });
    assert.equal(third.gaps, 0);
    assert.equal(third.records, 0);
  });
});

describe("backup: long runs", () => {
  test("a checkpoint of hundreds of segments is stored in parts, and a run resumes across them exactly", async () => {
    const topic = await topicWith(1, 700);
    const store = await minioStore();
    const options = {
      backupId: `parts-${randomUUID().slice(0, 8)}`,
      selection: { topics: [topic] },
      mode: "snapshot" as const,
      codec: "none" as const,
      segmentMaxRecords: 2,
      leaseHolder: "t",
    };
    const first = await runBackup(kafka, store, options);
    assert.equal(first.records, 700);
    assert.equal(first.segments, 350);
    await produce(topic, 1, 400, 700);
    const second = await runBackup(kafka, store, options);
    assert.equal(second.records, 400);
    const key = checkpointKey(options.backupId, topic, 0);
    const stored = parseCheckpoint((await store.getBuffer(key)).body.toString("utf8"), key);
    // 550 segments: two parts of 256 and 38 in the checkpoint itself.
    assert.equal(stored.formatVersion, 2);
    assert.equal(stored.segmentParts, 2);
    assert.equal(stored.segments.length, 38);
    assert.equal(stored.nextOffset, 1100);
    const manifest = await readManifest(store, options.backupId);
    assert.equal(manifest.topics[0]?.partitions[0]?.segments.length, 550);
    const offsets = ((await readBackup(store, options.backupId)).records.get(topic) ?? []).map((r) => r.offset);
    assert.deepEqual(
      offsets,
      Array.from({ length: 1100 }, (_, i) => i),
    );
  });
});

describe("backup: single writer", () => {
  test("a second runner on the same backup set is refused with a clear error", async () => {
    const topic = await topicWith(1, 10);
    const store = await minioStore();
    const held = await Lease.acquire(store, "locked", "runner-a", 60_000, silentLogger);
    try {
      await assert.rejects(
        runBackup(kafka, store, {
          backupId: "locked",
          selection: { topics: [topic] },
          mode: "snapshot",
          codec: "zstd",
          leaseHolder: "runner-b",
        }),
        (err: LeaseHeldError) => {
          assert.ok(err instanceof LeaseHeldError);
          assert.equal(err.reason, "BackupSetLocked");
          assert.match(err.message, /backup set locked is being written by runner-a/);
          return true;
        },
      );
    } finally {
      await held.release();
    }
    // Released: the next runner proceeds.
    const result = await runBackup(kafka, store, {
      backupId: "locked",
      selection: { topics: [topic] },
      mode: "snapshot",
      codec: "zstd",
      leaseHolder: "runner-b",
    });
    assert.equal(result.records, 10);
  });
});

describe("backup: encryption at rest", () => {
  test("stored objects hold no plaintext; the wrong key or none fails clearly", async () => {
    const topic = `secret-${randomUUID().slice(0, 8)}`;
    const admin = await kafka.admin();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 500 }, (_, i) => ({
        key: `customer-${i}`,
        value: `CONFIDENTIAL-CARD-4111-1111-1111-${String(i).padStart(4, "0")}`,
      })),
    });
    await producer.disconnect();
    const store: StorageBackend = await minioStore();
    const key = randomBytes(32);
    for (const codec of ["none", "zstd"] as const) {
      const backupId = `encrypted-${codec}`;
      await runBackup(kafka, store, {
        backupId,
        selection: { topics: [topic] },
        mode: "snapshot",
        codec,
        encryptionKey: key,
        leaseHolder: "t",
      });
      const manifest = await readManifest(store, backupId);
      const segments = manifest.topics.flatMap((t) => t.partitions.flatMap((p) => p.segments));
      assert.ok(segments.length > 0);
      for (const s of segments) {
        const raw = (await store.getBuffer(s.key)).body;
        assert.equal(raw.indexOf("CONFIDENTIAL"), -1, `${s.key} holds plaintext`);
        assert.equal(raw.indexOf("customer-"), -1, `${s.key} holds a plaintext key`);
        assert.equal((await readSegment(store, s, { encryptionKey: key })).length, s.recordCount);
        await assert.rejects(
          readSegment(store, s, { encryptionKey: randomBytes(32) }),
          (err: EncryptionError) => err.reason === "EncryptionKeyMismatch",
        );
        await assert.rejects(
          readSegment(store, s),
          (err: EncryptionError) => err.reason === "EncryptionKeyMissing" && /no encryption key/.test(err.message),
        );
      }
      assert.match(manifest.encryption?.keyFingerprint ?? "", /^[0-9a-f]{16}$/);
    }
  });
});
