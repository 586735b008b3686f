// The engine's own produce path (for restore): record batches encoded here, headers in their
// exact order, sent idempotently; the Java consumer reads them back as written, and a resent
// batch (same producer id and sequence) is not stored twice.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import type { BackupRecord } from "../../engine/format/record.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { encodeRecordBatch } from "../../engine/kafka/record-batch-encoder.ts";
import { asJavaRecord, javaDump } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";

let kafka: KafkaClient;
before(() => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
});
after(async () => {
  await kafka.close();
});

test("raw idempotent produce keeps interleaved duplicate and null-valued headers in order, and dedupes a resend", async () => {
  const topic = `produce-${randomUUID().slice(0, 8)}`;
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const leader = (await kafka.leaders([topic])).get(topic)?.get(0) as number;
  const { producerId, producerEpoch } = await kafka.initProducerId();
  const records: BackupRecord[] = Array.from({ length: 100 }, (_, i) => ({
    offset: i,
    timestamp: 1_700_000_000_000 + ((i * 7919) % 1000) * 1000, // out of order
    timestampType: "CreateTime",
    key: i % 3 === 0 ? null : Buffer.from(`k${i}`),
    value: i % 5 === 0 ? null : Buffer.from(`value ${i}`),
    headers: [
      { key: "a", value: Buffer.from("1") },
      { key: "b", value: null },
      { key: "a", value: Buffer.from("2") },
    ],
  }));
  let sequence = 0;
  for (let i = 0; i < records.length; i += 25) {
    const chunk = records.slice(i, i + 25);
    const batch = await encodeRecordBatch(chunk, { producerId, producerEpoch, baseSequence: sequence }, 4);
    const first = await kafka.produce(leader, topic, 0, batch, { acks: -1, timeoutMs: 30_000 });
    assert.equal(first.errorCode, 0);
    // The same batch again, as a retry after a lost response would send it.
    const again = await kafka.produce(leader, topic, 0, batch, { acks: -1, timeoutMs: 30_000 });
    assert.ok(again.errorCode === 0 || again.errorCode === 46, `resend answered ${again.errorCode}`);
    if (again.errorCode === 0) assert.equal(again.baseOffset, first.baseOffset);
    sequence += chunk.length;
  }
  const read = javaDump(topic);
  assert.equal(read.length, records.length, "no duplicates");
  assert.deepEqual(
    read,
    records.map((r) => asJavaRecord(0, r)),
  );
});
