// Fidelity: ≥ 100,000 hostile records written by the Java client (null keys, empty and null
// values, binary and 1 MiB values, duplicate and null-valued headers in order, out-of-order
// timestamps, LogAppendTime, committed and aborted transactions, gzip/snappy/lz4/zstd producers,
// a compacted topic) are backed up to MinIO, decoded from storage, and compared record by record
// with what the Java consumer reads from Kafka.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { runBackup } from "../../engine/backup/engine.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
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
