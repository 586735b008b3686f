// Restore features against the real broker and MinIO: a backup in the Rust engine's KBAK v1
// layout restores record for record; consumer-group offsets are translated through a time window
// so a consumer in the group reads exactly the first record it had not consumed, while a group
// with a live member is reported; a dry run counts and checks without writing, and names a
// corrupted segment; same-named live topics are refused unless purgeTopics replaces their records.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Consumer } from "kafkajs";
import { buildManifest, emptyCheckpoint, withSegment } from "../../engine/backup/checkpoint.ts";
import { runBackup } from "../../engine/backup/engine.ts";
import { segmentKey } from "../../engine/backup/layout.ts";
import { readManifest } from "../../engine/backupset/catalog.ts";
import type { BackupRecord } from "../../engine/format/record.ts";
import { encodeSegment } from "../../engine/format/segment.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { commitGroupOffsets, describeGroup } from "../../engine/kafka/groups.ts";
import { dryRunRestore } from "../../engine/restore/dry-run.ts";
import { readOffsetMapping } from "../../engine/restore/offset-mapping.ts";
import { type RestoreError, runRestore } from "../../engine/restore/restore.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { javaDump, minioStore } from "../support/backup.ts";
import { type FixtureRecord, kbakSegment } from "../support/kbak.ts";
import { stackEnv } from "../support/stack-env.ts";

const run = randomUUID().slice(0, 8);
const source = `features-src-${run}`;
const base = Date.now() - 3_600_000;
const perPartition = 1000;
let kafka: KafkaClient;
let store: StorageBackend;
let live: Consumer | undefined;

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  store = await minioStore(`restore-features-${run}`);
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic: source, numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (const partition of [0, 1]) {
      await producer.send({
        topic: source,
        acks: -1,
        // Record i of each partition has the timestamp base + i s: a window start of base + 100 s
        // leaves out the first 100 records of each.
        messages: Array.from({ length: perPartition }, (_, i) => ({
          partition,
          key: `k-${partition}-${i}`,
          value: `p${partition}-${i}`,
          timestamp: String(base + i * 1000),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
  // Two groups committed at backup time: "reader" part way through, "busy" near the start.
  await commitGroupOffsets(kafka, `reader-${run}`, [
    { topic: source, partition: 0, offset: 400 },
    { topic: source, partition: 1, offset: 700 },
  ]);
  await commitGroupOffsets(kafka, `busy-${run}`, [{ topic: source, partition: 0, offset: 10 }]);
  await runBackup(kafka, store, {
    backupId: "groups",
    selection: { topics: [source] },
    mode: "snapshot",
    codec: "zstd",
    segmentMaxRecords: 250,
    consumerGroupSnapshot: true,
    leaseHolder: "t",
  });
});

after(async () => {
  await live?.disconnect();
  await kafka.close();
});

const values = (records: { value: string | null }[]) =>
  records.map((r) => (r.value === null ? null : Buffer.from(r.value, "base64").toString()));

describe("restore features", () => {
  test("a KBAK v1 backup laid out as the Rust engine writes it restores record for record", async () => {
    const target = `features-kbak-${run}`;
    const topic = "legacy-orders";
    const partitions: FixtureRecord[][] = [0, 1].map((p) =>
      Array.from({ length: 300 }, (_, i) => ({
        timestamp: base + i,
        offset: i * 2, // a compacted source: every other offset
        key: i % 7 === 0 ? null : Buffer.from(`key-${p}-${i}`),
        value: i % 11 === 0 ? null : Buffer.from(`value-${p}-${i}`),
        headers: [
          ["dup", Buffer.from("a")],
          ["dup", Buffer.from(String(i))],
          ["empty", null],
        ] as Array<[string, Buffer | null]>,
      })),
    );
    const manifest = {
      backup_id: "legacy-001",
      created_at: base,
      source_cluster_id: null,
      source_brokers: [],
      compression: "zstd",
      topics: [{ name: topic, original_partition_count: 2, partitions: [] as unknown[] }],
    };
    for (const [p, records] of partitions.entries()) {
      const segments = [];
      // Two segments per partition, zstd then lz4, as the Rust engine names them.
      for (const [n, slice, codec, ext] of [
        [0, records.slice(0, 150), 1, "zst"],
        [1, records.slice(150), 2, "lz4"],
      ] as const) {
        const first = slice[0]?.offset ?? 0;
        const key = `legacy-001/topics/${topic}/partition=${p}/segment-${String(first).padStart(20, "0")}.bin.${ext}`;
        const bytes = kbakSegment(slice, codec);
        await store.put(key, bytes);
        segments.push({
          key,
          start_offset: first,
          end_offset: slice.at(-1)?.offset,
          start_timestamp: slice[0]?.timestamp,
          end_timestamp: slice.at(-1)?.timestamp,
          record_count: slice.length,
          uncompressed_size: bytes.length * 2 + n,
          compressed_size: bytes.length,
        });
      }
      manifest.topics[0]?.partitions.push({ partition_id: p, segments });
    }
    await store.put("legacy-001/manifest.json", Buffer.from(JSON.stringify(manifest, null, 2)));

    const result = await runRestore(kafka, store, {
      backupId: "legacy-001",
      restoreId: "migration",
      selection: { topicMapping: { [topic]: target } },
      createTopics: true,
    });
    assert.equal(result.records, 600);
    const restored = javaDump(target);
    for (const [p, records] of partitions.entries()) {
      const actual = restored.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset);
      assert.equal(actual.length, records.length, `partition ${p}`);
      for (const [i, r] of records.entries()) {
        const got = actual[i];
        assert.equal(got?.timestamp, r.timestamp);
        assert.equal(got?.key, r.key === null ? null : r.key.toString("base64"));
        assert.equal(got?.value, r.value === null ? null : r.value.toString("base64"));
        assert.deepEqual(
          got?.headers,
          r.headers.map(([k, v]) => ({
            key: Buffer.from(k).toString("base64"),
            value: v === null ? null : v.toString("base64"),
          })),
        );
      }
    }
    console.log(`migration: ${restored.length} records of a KBAK v1 backup restored and compared`);
  });

  test("a backup in our segment format v1 (before record batches) restores record for record", async () => {
    const target = `features-kbos1-${run}`;
    const topic = "v1-orders";
    const partitions: BackupRecord[][] = [0, 1].map((p) =>
      Array.from({ length: 300 }, (_, i) => ({
        offset: i * 2 + 5, // compacted: every other offset
        // Out of order inside a segment, and one partition's records stamped by the broker.
        timestamp: base + (i % 10 === 0 ? i - 50 : i),
        timestampType: p === 1 ? ("LogAppendTime" as const) : ("CreateTime" as const),
        key: i % 7 === 0 ? null : Buffer.from(`key-${p}-${i}`),
        value: i % 11 === 0 ? null : i % 13 === 0 ? Buffer.alloc(0) : Buffer.from(`value-${p}-${i}`),
        headers: [
          { key: "dup", value: Buffer.from("a") },
          { key: "dup", value: Buffer.from(String(i)) },
          { key: "empty", value: null },
        ],
      })),
    );
    const backupId = `kbos1-${run}`;
    const checkpoints = [];
    for (const [p, records] of partitions.entries()) {
      let checkpoint = emptyCheckpoint(topic, p, 0);
      for (const [slice, codec] of [
        [records.slice(0, 150), "zstd"],
        [records.slice(150), "lz4"],
      ] as const) {
        const segment = await encodeSegment(slice, { partition: p, codec });
        const key = segmentKey(backupId, topic, p, segment.info.firstOffset, codec);
        await store.put(key, segment.bytes);
        const { version: _version, ...info } = segment.info;
        checkpoint = withSegment(
          checkpoint,
          { key, format: "kbos-v1", ...info, sha256: segment.sha256 },
          segment.info.lastOffset + 1,
          0,
        );
      }
      checkpoints.push(checkpoint);
    }
    const manifest = buildManifest({
      backupId,
      createdAt: base,
      compression: "zstd",
      topics: [{ name: topic, partitionCount: 2 }],
      checkpoints,
    });
    await store.put(`${backupId}/manifest.json`, Buffer.from(JSON.stringify(manifest)));

    const result = await runRestore(kafka, store, {
      backupId,
      restoreId: "v1",
      selection: { topicMapping: { [topic]: target } },
      createTopics: true,
    });
    assert.equal(result.records, 600);
    const restored = javaDump(target);
    for (const [p, records] of partitions.entries()) {
      const actual = restored.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset);
      assert.equal(actual.length, records.length, `partition ${p}`);
      for (const [i, r] of records.entries()) {
        const got = actual[i];
        assert.equal(got?.timestamp, r.timestamp, `partition ${p} record ${i} timestamp`);
        assert.equal(got?.key, r.key === null ? null : r.key.toString("base64"));
        assert.equal(got?.value, r.value === null ? null : r.value.toString("base64"));
        assert.deepEqual(
          got?.headers,
          r.headers.map((h) => ({
            key: Buffer.from(h.key).toString("base64"),
            value: h.value === null ? null : h.value.toString("base64"),
          })),
        );
      }
    }
    console.log(`kbos v1: ${restored.length} records of a version-1 backup restored and compared`);
  });

  test("a group's offsets follow it through a time window; a group with a live member is reported", async () => {
    const target = `features-offsets-${run}`;
    // "busy" has a live member in the target cluster: Kafka refuses an outside commit.
    live = kafka.kafka.consumer({ groupId: `busy-${run}` });
    await live.connect();
    await live.subscribe({ topics: [source] });
    await live.run({ eachMessage: async () => {} });
    for (let i = 0; i < 100 && (await describeGroup(kafka, `busy-${run}`)).members === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const result = await runRestore(kafka, store, {
      backupId: "groups",
      restoreId: "offsets",
      selection: { topicMapping: { [source]: target }, window: { start: base + 100_000 } },
      createTopics: true,
      consumerGroups: { auto: true, commit: true },
    });
    await live.disconnect();
    live = undefined;
    assert.equal(result.records, 2 * (perPartition - 100));
    const reader = result.consumerGroups.find((g) => g.groupId === `reader-${run}`);
    const busy = result.consumerGroups.find((g) => g.groupId === `busy-${run}`);
    assert.equal(reader?.committed, true, reader?.error);
    // Source offsets 400 and 700, minus the 100 records of each partition outside the window.
    assert.deepEqual(reader?.target, [
      { topic: target, partition: 0, offset: 300 },
      { topic: target, partition: 1, offset: 600 },
    ]);
    assert.equal(busy?.committed, false);
    assert.match(busy?.error ?? "", /live members/);
    // The report stored with the backup says the same.
    const report = await readOffsetMapping(store, result.offsetMappingKey ?? "");
    assert.deepEqual(report.consumerGroups, result.consumerGroups);

    // A consumer in the group starts exactly at the first record it had not consumed.
    const consumer = kafka.kafka.consumer({ groupId: `reader-${run}` });
    const first = new Map<number, string>();
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [target] });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          if (!first.has(partition)) first.set(partition, String(message.value));
        },
      });
      for (let i = 0; i < 150 && first.size < 2; i++) await new Promise((r) => setTimeout(r, 200));
    } finally {
      await consumer.disconnect();
    }
    assert.equal(first.get(0), "p0-400");
    assert.equal(first.get(1), "p1-700");
  });

  test("a dry run counts the window's records per partition and writes nothing", async () => {
    const target = `features-dry-${run}`;
    const plan = await dryRunRestore(kafka, store, {
      backupId: "groups",
      selection: { topicMapping: { [source]: target }, window: { start: base + 100_000, end: base + 199_000 } },
      createTopics: true,
      consumerGroups: { groups: [`reader-${run}`, `nobody-${run}`], commit: true },
    });
    assert.deepEqual(
      plan.topics.map((t) => ({ ...t, partitions: t.partitions.map((p) => ({ ...p })) })),
      [
        {
          sourceTopic: source,
          targetTopic: target,
          exists: false,
          records: 200,
          partitions: [0, 1].map((p) => ({
            partition: p,
            targetPartition: p,
            records: 100,
            firstOffset: 100,
            lastOffset: 199,
            // Which backup set holds them (a chain's sets, one here).
            sets: [{ backupId: "groups", records: 100 }],
          })),
        },
      ],
    );
    // Segments of 250 records: only each partition's first one holds timestamps in the window.
    assert.equal(plan.segmentsChecked, 2);
    assert.deepEqual(plan.problems, [
      `consumer group nobody-${run}: not in the backup's consumer group snapshot (it had no committed offsets on the backed-up topics)`,
    ]);
    const admin = await kafka.admin();
    assert.equal((await admin.listTopics()).includes(target), false, "a dry run created the target topic");
  });

  test("a dry run names a corrupted segment", async () => {
    await runBackup(kafka, store, {
      backupId: "corrupt",
      selection: { topics: [source] },
      mode: "snapshot",
      codec: "zstd",
      segmentMaxRecords: 250,
      leaseHolder: "t",
    });
    const manifest = await readManifest(store, "corrupt");
    const victim = manifest.topics[0]?.partitions[1]?.segments[2];
    assert.ok(victim);
    const { body } = await store.getBuffer(victim.key);
    body[body.length >> 1] = (body[body.length >> 1] as number) ^ 0x01;
    await store.put(victim.key, body);
    const plan = await dryRunRestore(kafka, store, {
      backupId: "corrupt",
      selection: { topicMapping: { [source]: `features-corrupt-${run}` } },
      createTopics: true,
    });
    assert.equal(plan.problems.length, 1, plan.problems.join("\n"));
    assert.ok(plan.problems[0]?.includes(victim.key), plan.problems[0]);
    assert.match(plan.problems[0] ?? "", /SHA-256|CRC|checksum/i);
  });

  test("same-named live topics are refused; purgeTopics replaces their records with the backup's", async () => {
    await assert.rejects(
      runRestore(kafka, store, { backupId: "groups", restoreId: "same-name", selection: {} }),
      (err: RestoreError) => {
        assert.equal(err.reason, "TargetTopicsLive");
        assert.ok(err.message.includes(source), err.message);
        return true;
      },
    );
    const producer = kafka.kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic: source, acks: -1, messages: [{ partition: 0, value: "written-after-the-backup" }] });
    await producer.disconnect();
    const result = await runRestore(kafka, store, {
      backupId: "groups",
      restoreId: "purge",
      selection: {},
      purgeTopics: true,
    });
    assert.deepEqual(result.purgedTopics, [source]);
    const now = javaDump(source);
    assert.equal(now.length, 2 * perPartition);
    for (const p of [0, 1]) {
      const expected = Array.from({ length: perPartition }, (_, i) => `p${p}-${i}`);
      assert.deepEqual(values(now.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset)), expected);
    }
  });
});
