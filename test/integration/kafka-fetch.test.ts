// The engine's raw fetch path against the real broker: every producer codec, headers with
// duplicates and null values, tombstones, and read-committed filtering of aborted transactions.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { CompressionTypes, type Message } from "kafkajs";
import type { BackupRecord } from "../../engine/format/record.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { stackEnv } from "../support/stack-env.ts";

let client: KafkaClient;

before(() => {
  client = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
});
after(async () => {
  await client.close();
});

async function createTopic(partitions = 1): Promise<string> {
  const topic = `fetch-${randomUUID().slice(0, 8)}`;
  const admin = await client.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  return topic;
}

/** Fetches a partition from offset 0 to its high-watermark through the engine's fetch path. */
async function fetchAll(topic: string, partition: number, readCommitted: boolean) {
  const records: BackupRecord[] = [];
  let offset = 0;
  let skipped = 0;
  for (let i = 0; i < 100; i++) {
    const leader = (await client.leaders([topic])).get(topic)?.get(partition);
    assert.notEqual(leader, undefined);
    const [result] = await client.fetchRecords(
      leader as number,
      [{ topic, partition, fetchOffset: offset, maxBytes: 1024 * 1024 }],
      {
        readCommitted,
        maxWaitMs: 200,
        maxBytes: 4 * 1024 * 1024,
      },
    );
    assert.ok(result);
    assert.equal(result.errorCode, 0);
    records.push(...result.records);
    skipped += result.skipped.length;
    offset = result.nextOffset;
    // The last transaction's markers land a moment after commit() returns; until then the last
    // stable offset trails the high-watermark and the rest is not yet readable committed.
    if (offset >= result.highWatermark) return { records, skipped, end: offset };
  }
  throw new Error("did not reach the end of the partition");
}

const messages = (n: number): Message[] =>
  Array.from({ length: n }, (_, i) => ({
    key: i % 7 === 0 ? null : `key-${i}`,
    value: i % 11 === 0 ? null : i % 13 === 0 ? Buffer.alloc(0) : `value-${i}-${"x".repeat(i % 50)}`,
    timestamp: String(1_700_000_000_000 + i * 1000),
    headers: { trace: `t${i}`, dup: ["first", "second"], ...(i % 3 === 0 ? { empty: Buffer.alloc(0) } : {}) },
  }));

describe("engine/kafka: raw fetch", () => {
  for (const [name, compression] of Object.entries({
    none: CompressionTypes.None,
    gzip: CompressionTypes.GZIP,
    snappy: CompressionTypes.Snappy,
    lz4: CompressionTypes.LZ4,
    zstd: CompressionTypes.ZSTD,
  })) {
    test(`reads batches compressed with ${name} record for record`, async () => {
      const topic = await createTopic();
      const producer = client.kafka.producer({ idempotent: true });
      await producer.connect();
      const sent = messages(500);
      for (let i = 0; i < sent.length; i += 100) {
        await producer.send({ topic, compression, acks: -1, messages: sent.slice(i, i + 100) });
      }
      await producer.disconnect();
      const { records, skipped } = await fetchAll(topic, 0, true);
      assert.equal(skipped, 0);
      assert.equal(records.length, sent.length);
      for (const [i, r] of records.entries()) {
        const m = sent[i] as Message;
        assert.equal(r.offset, i);
        assert.equal(r.timestamp, Number(m.timestamp));
        assert.equal(r.timestampType, "CreateTime");
        assert.deepEqual(r.key, m.key === null ? null : Buffer.from(m.key as string));
        assert.deepEqual(r.value, m.value === null ? null : Buffer.from(m.value as string | Buffer));
        const expected = [
          { key: "trace", value: Buffer.from(`t${i}`) },
          { key: "dup", value: Buffer.from("first") },
          { key: "dup", value: Buffer.from("second") },
          ...(i % 3 === 0 ? [{ key: "empty", value: Buffer.alloc(0) }] : []),
        ];
        assert.deepEqual(r.headers, expected);
      }
    });
  }

  test("read-committed drops aborted transactions and markers, and counts them as skipped", async () => {
    const topic = await createTopic();
    const producer = client.kafka.producer({ transactionalId: `tx-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: "c1" }, { value: "c2" }] });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: "a1" }, { value: "a2" }, { value: "a3" }] });
    await aborted.abort();
    const committed2 = await producer.transaction();
    await committed2.send({ topic, messages: [{ value: "c3" }] });
    await committed2.commit();
    await producer.disconnect();

    const rc = await fetchAll(topic, 0, true);
    assert.deepEqual(
      rc.records.map((r) => String(r.value)),
      ["c1", "c2", "c3"],
    );
    // 2 + 1 data records kept; 3 aborted records and 3 markers skipped: 9 offsets in all.
    assert.equal(rc.skipped, 6);
    assert.equal(rc.end, 9);
    assert.equal(rc.records.length + rc.skipped, rc.end);

    const ru = await fetchAll(topic, 0, false);
    assert.deepEqual(
      ru.records.map((r) => String(r.value)),
      ["c1", "c2", "a1", "a2", "a3", "c3"],
    );
  });
});
