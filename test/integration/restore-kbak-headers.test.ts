// A backup made by the Rust engine with its default include_offset_headers: true carries
// x-original-offset and x-original-timestamp on every record (x-source-cluster too when a cluster
// id is set). Restored with the default (rustOffsetHeaders Drop) the target gets the records as
// their producers wrote them; with Keep, as the Rust operator restored them. Headers of those
// names that a producer wrote itself (a value that is not the record's own offset) stay either way.
// Real broker and MinIO; the KBAK v1 set is laid out byte by byte (test/support/kbak.ts) and the
// target is read back with Kafka's Java consumer.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { withoutRustOffsetHeaders } from "../../engine/restore/kbak-headers.ts";
import { runRestore } from "../../engine/restore/restore.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { javaDump, minioStore } from "../support/backup.ts";
import { type FixtureRecord, kbakSegment } from "../support/kbak.ts";
import { stackEnv } from "../support/stack-env.ts";

const run = randomUUID().slice(0, 8);
const base = Date.now() - 3_600_000;
const i64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(v));
  return b;
};
let kafka: KafkaClient;
let store: StorageBackend;

/** What the producer wrote: one header, and on every tenth record an x-original-offset of its own. */
const produced = (i: number): Array<[string, Buffer | null]> => [
  ["trace", Buffer.from(`t-${i}`)],
  ...(i % 10 === 0 ? ([["x-original-offset", Buffer.from("from-the-app")]] as Array<[string, Buffer | null]>) : []),
];

const records: FixtureRecord[] = Array.from({ length: 200 }, (_, i) => {
  const offset = 1000 + i;
  const timestamp = base + i;
  return {
    offset,
    timestamp,
    key: Buffer.from(`k-${i}`),
    value: Buffer.from(`v-${i}`),
    // The Rust engine appends its two headers (and x-source-cluster on the second half).
    headers: [
      ...produced(i),
      ["x-original-offset", i64(offset)],
      ["x-original-timestamp", i64(timestamp)],
      ...(i >= 100 ? ([["x-source-cluster", Buffer.from("prod-eu")]] as Array<[string, Buffer | null]>) : []),
    ],
  };
});

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  store = await minioStore(`restore-kbak-headers-${run}`);
  const key = `rust-001/topics/events/partition=0/segment-${String(1000).padStart(20, "0")}.bin.zst`;
  const bytes = kbakSegment(records, 1);
  await store.put(key, bytes);
  const manifest = {
    backup_id: "rust-001",
    created_at: base,
    source_cluster_id: "prod-eu",
    source_brokers: [],
    compression: "zstd",
    topics: [
      {
        name: "events",
        original_partition_count: 1,
        partitions: [
          {
            partition_id: 0,
            segments: [
              {
                key,
                start_offset: 1000,
                end_offset: 1199,
                start_timestamp: base,
                end_timestamp: base + 199,
                record_count: 200,
                uncompressed_size: bytes.length * 2,
                compressed_size: bytes.length,
              },
            ],
          },
        ],
      },
    ],
  };
  await store.put("rust-001/manifest.json", Buffer.from(JSON.stringify(manifest)));
});
after(async () => {
  await kafka.close();
});

const headerView = (headers: Array<{ key: string; value: string | null }>) =>
  headers.map((h) => [Buffer.from(h.key, "base64").toString(), h.value === null ? null : Buffer.from(h.value, "base64")]);

test("withoutRustOffsetHeaders drops only the engine's trailing run with the record's own values", () => {
  const r = (headers: Array<[string, Buffer | null]>) => ({
    offset: 5,
    timestamp: 77,
    timestampType: "CreateTime" as const,
    key: null,
    value: null,
    headers: headers.map(([key, value]) => ({ key, value })),
  });
  const keys = (x: ReturnType<typeof r>) => withoutRustOffsetHeaders(x).headers.map((h) => h.key);
  assert.deepEqual(
    keys(
      r([
        ["a", null],
        ["x-original-offset", i64(5)],
        ["x-original-timestamp", i64(77)],
      ]),
    ),
    ["a"],
  );
  assert.deepEqual(
    keys(
      r([
        ["x-original-offset", i64(5)],
        ["x-original-timestamp", i64(77)],
        ["x-source-cluster", Buffer.from("c")],
      ]),
    ),
    [],
  );
  // Another record's values (the producer's own header, e.g. a record restored once before): kept.
  assert.deepEqual(
    keys(
      r([
        ["x-original-offset", i64(4)],
        ["x-original-timestamp", i64(77)],
      ]),
    ),
    ["x-original-offset", "x-original-timestamp"],
  );
  assert.deepEqual(keys(r([["x-original-timestamp", i64(77)]])), ["x-original-timestamp"]);
});

test("a KBAK v1 set with offset headers restores without them by default, with them on Keep", async () => {
  for (const mode of ["Drop", "Keep"] as const) {
    const target = `kbak-headers-${mode.toLowerCase()}-${run}`;
    const result = await runRestore(kafka, store, {
      backupId: "rust-001",
      restoreId: `headers-${mode}`,
      selection: { topicMapping: { events: target } },
      createTopics: true,
      ...(mode === "Keep" ? { rustOffsetHeaders: "Keep" as const } : {}),
    });
    assert.equal(result.records, 200);
    const restored = javaDump(target).sort((a, b) => a.offset - b.offset);
    assert.equal(restored.length, 200);
    for (const [i, got] of restored.entries()) {
      const want = mode === "Drop" ? produced(i) : (records[i] as FixtureRecord).headers;
      assert.deepEqual(headerView(got.headers), want, `${mode}: record ${i}`);
    }
  }
});
