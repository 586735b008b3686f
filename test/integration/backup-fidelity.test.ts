// Fidelity: ≥ 100,000 hostile records written by the Java client (null keys, empty and null
// values, binary and 1 MiB values, duplicate and null-valued headers in order, out-of-order
// timestamps, LogAppendTime, committed and aborted transactions, gzip/snappy/lz4/zstd producers,
// a compacted topic) are backed up to MinIO, decoded from storage, and compared record by record
// with what the Java consumer reads from Kafka; then restored into new topics and compared again.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { runBackup } from "../../engine/backup/engine.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { runRestore } from "../../engine/restore/restore.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { type JavaRecord, javaDump, javaFixture, minioStore, readBackup } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";

const prefix = `hostile-${randomUUID().slice(0, 8)}`;
const topics = ["main", "logappend", "txn", "gzip", "snappy", "lz4", "zstd", "compacted"].map((t) => `${prefix}-${t}`);
let kafka: KafkaClient;
let store: StorageBackend;

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  store = await minioStore();
  javaFixture(["produce", stackEnv("KAFKA_BOOTSTRAP_SERVERS"), prefix, "160000"]);
});

after(async () => {
  await kafka.close();
});

const byPartitionOffset = (a: JavaRecord, b: JavaRecord) => a.partition - b.partition || a.offset - b.offset;

test("every record of every hostile topic is stored exactly as Kafka serves it", async () => {
  const result = await runBackup(kafka, store, {
    backupId: "fidelity",
    selection: { include: [`${prefix}-*`] },
    mode: "snapshot",
    codec: "zstd",
    segmentMaxBytes: 4 * 1024 * 1024,
    leaseHolder: "fidelity-test",
  });
  assert.deepEqual([...result.topics].sort(), [...topics].sort());
  const { manifest, records } = await readBackup(store, "fidelity");

  let compared = 0;
  for (const topic of topics) {
    const expected = javaDump(topic).sort(byPartitionOffset);
    const actual = (records.get(topic) ?? []).sort(byPartitionOffset);
    if (topic.endsWith("-compacted")) {
      // The log cleaner may compact between the backup and the dump: every record the consumer
      // still sees must be in the backup, identical, and the backup may hold more.
      const backedUp = new Map(actual.map((r) => [`${r.partition}/${r.offset}`, r]));
      for (const r of expected)
        assert.deepEqual(backedUp.get(`${r.partition}/${r.offset}`), r, `${topic} ${r.partition}/${r.offset}`);
    } else {
      assert.equal(actual.length, expected.length, `${topic}: record count`);
      for (let i = 0; i < expected.length; i++) assert.deepEqual(actual[i], expected[i], `${topic} record ${i}`);
    }
    compared += expected.length;
  }
  console.log(
    `fidelity: ${compared} records compared with the Java consumer, ${result.records} backed up, ${result.skippedOffsets} offsets skipped`,
  );
  assert.ok(compared >= 100_000, `only ${compared} records compared`);

  // Aborted data and transaction markers are skipped and accounted for: every offset of the
  // transactional topic is either a stored record or a counted skip.
  const txn = manifest.topics.find((t) => t.name === `${prefix}-txn`);
  assert.ok(txn);
  for (const p of txn.partitions) {
    const stored = p.segments.reduce((n, s) => n + s.recordCount, 0);
    assert.equal(stored + (p.skippedOffsets ?? 0), p.nextOffset, `partition ${p.partition}: stored + skipped = next offset`);
    assert.ok((p.skippedOffsets ?? 0) > 1000, `partition ${p.partition}: only ${p.skippedOffsets} offsets skipped`);
  }
  const logAppend = records.get(`${prefix}-logappend`) ?? [];
  assert.ok(logAppend.length > 0 && logAppend.every((r) => r.timestampType === "LogAppendTime"));
  // Topic metadata for restore: partition counts and the non-default configs.
  const main = manifest.topics.find((t) => t.name === `${prefix}-main`);
  assert.equal(main?.partitionCount, 3);
  assert.equal(main?.configs?.["max.message.bytes"], "4194304");
  assert.equal(
    manifest.topics.find((t) => t.name === `${prefix}-logappend`)?.configs?.["message.timestamp.type"],
    "LogAppendTime",
  );
});

test("the hostile backup restored into new topics equals it record by record", async () => {
  const restored = Object.fromEntries(topics.map((t) => [t, `${t}-restored`]));
  const result = await runRestore(kafka, store, {
    backupId: "fidelity",
    restoreId: "fidelity",
    selection: { topicMapping: restored },
    createTopics: true,
  });
  const { records } = await readBackup(store, "fidelity");
  // What a restore cannot keep: the offsets (markers, aborted records and compaction leave
  // holes the target does not have) and, where the topic says LogAppendTime, the timestamps.
  const comparable = (r: JavaRecord, logAppend: boolean) => ({
    partition: r.partition,
    timestampType: r.timestampType,
    ...(logAppend ? {} : { timestamp: r.timestamp }),
    key: r.key,
    value: r.value,
    headers: r.headers,
  });
  let compared = 0;
  for (const topic of topics) {
    const logAppend = topic.endsWith("-logappend");
    const expected = (records.get(topic) ?? []).sort(byPartitionOffset).map((r) => comparable(r, logAppend));
    const actual = javaDump(restored[topic] as string)
      .sort(byPartitionOffset)
      .map((r) => comparable(r, logAppend));
    if (topic.endsWith("-compacted")) {
      // The target is compacted too (its configs were restored): what it still holds is the
      // backup's records in order, and every key's latest value survives.
      const latest = new Map(expected.map((r) => [r.key, r]));
      let at = 0;
      for (const r of actual) {
        while (at < expected.length && JSON.stringify(expected[at]) !== JSON.stringify(r)) at++;
        assert.ok(at < expected.length, `${topic}: a restored record is not in the backup, or out of order`);
      }
      for (const r of latest.values())
        if (r.value !== null) assert.ok(actual.some((a) => JSON.stringify(a) === JSON.stringify(r)));
    } else {
      assert.equal(actual.length, expected.length, `${topic}: record count`);
      for (let i = 0; i < expected.length; i++) assert.deepEqual(actual[i], expected[i], `${topic} record ${i}`);
    }
    compared += actual.length;
  }
  console.log(`fidelity: ${result.records} records restored into ${topics.length} new topics, ${compared} compared`);
  assert.ok(compared >= 100_000, `only ${compared} records compared`);
});
