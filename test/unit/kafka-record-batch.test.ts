import assert from "node:assert/strict";
import { test } from "node:test";
import type { BackupRecord } from "../../engine/format/record.ts";
import { committedRecords, decodeRecordSet } from "../../engine/kafka/record-batch.ts";
import { encodeRecordBatch } from "../../engine/kafka/record-batch-encoder.ts";

const records: BackupRecord[] = [
  {
    offset: 0,
    timestamp: 1_700_000_000_500,
    timestampType: "CreateTime",
    key: null,
    value: Buffer.from("v0"),
    headers: [
      { key: "a", value: Buffer.from("1") },
      { key: "b", value: null },
      { key: "a", value: Buffer.from("2") },
      { key: "1", value: Buffer.alloc(0) },
    ],
  },
  { offset: 1, timestamp: 1_700_000_000_000, timestampType: "CreateTime", key: Buffer.alloc(0), value: null, headers: [] },
  {
    offset: 2,
    timestamp: 1_600_000_000_000,
    timestampType: "CreateTime",
    key: Buffer.from("k"),
    value: Buffer.alloc(300_000, 7),
    headers: [],
  },
];

for (const [name, compression] of Object.entries({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 })) {
  test(`a batch encoded with ${name} decodes to the same records, headers in order`, async () => {
    const bytes = await encodeRecordBatch(records, { producerId: 42, producerEpoch: 1, baseSequence: 7 }, compression);
    const [batch, ...rest] = await decodeRecordSet(bytes, "test");
    assert.equal(rest.length, 0);
    assert.equal(batch?.producerId, 42);
    assert.equal(batch?.lastOffsetDelta, 2);
    assert.deepEqual(committedRecords(batch ? [batch] : [], [], 0, true).records, records);
  });
}
