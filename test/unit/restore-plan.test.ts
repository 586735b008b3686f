import assert from "node:assert/strict";
import { test } from "node:test";
import type { Manifest, ManifestSegment } from "../../engine/format/manifest.ts";
import type { BackupRecord } from "../../engine/format/record.ts";
import { planRestore, selected, targetPartition, timeWindow } from "../../engine/restore/plan.ts";

const segment = (first: number, last: number, min: number, max: number): ManifestSegment => ({
  key: `b/topics/t/partition=0/segment-${first}.bin`,
  format: "kbos-v1",
  firstOffset: first,
  lastOffset: last,
  recordCount: last - first + 1,
  minTimestamp: min,
  maxTimestamp: max,
  codec: "none",
  encrypted: false,
  storedBytes: 100,
});

const manifest: Manifest = {
  format: "kafka-backup-operator/manifest",
  formatVersion: 1,
  writer: "kafka-backup-operator",
  backupId: "b",
  createdAt: 0,
  updatedAt: 0,
  compression: "none",
  topics: [
    {
      name: "orders",
      partitionCount: 3,
      replicationFactor: 3,
      configs: { "cleanup.policy": "delete" },
      partitions: [0, 1, 2].map((partition) => ({
        partition,
        gaps: [],
        // Out-of-order timestamps: the second segment's records span 100..900.
        segments: [segment(0, 99, 1000, 1999), segment(100, 199, 100, 900), segment(200, 299, 3000, 3999)],
      })),
    },
    { name: "payments", partitionCount: 1, partitions: [{ partition: 0, gaps: [], segments: [segment(0, 9, 0, 9)] }] },
  ],
};

test("the time window accepts epoch ms or RFC 3339, inclusive, and refuses nonsense naming the field", () => {
  assert.deepEqual(timeWindow({ startTime: "2026-01-01T00:00:00Z", endTimestamp: 1767225600500 }), {
    start: 1767225600000,
    end: 1767225600500,
  });
  assert.throws(() => timeWindow({ startTime: "yesterday" }), /spec\.pitr\.startTime: "yesterday" is not an RFC 3339 time/);
  assert.throws(() => timeWindow({ startTimestamp: 5, endTimestamp: 4 }), /spec\.pitr: the start .* is after the end/);
  assert.deepEqual(timeWindow({ startTimestamp: 5, startTime: "2026-01-01T00:00:00Z", endTimestamp: 9, endTime: "x" }), {
    start: 5,
    end: 9,
  });
});

test("segments are pruned by min/max timestamps, so out-of-order timestamps are not missed", () => {
  const plan = planRestore(manifest, { topics: ["orders"], window: { start: 500, end: 1500 } });
  assert.deepEqual(
    plan.partitions[0]?.segments.map((s) => s.firstOffset),
    [0, 100],
  );
  const r = (offset: number, timestamp: number): BackupRecord => ({
    offset,
    timestamp,
    timestampType: "CreateTime",
    key: null,
    value: null,
    headers: [],
  });
  const p = plan.partitions[0];
  assert.ok(p);
  assert.deepEqual(
    [r(1, 499), r(2, 500), r(3, 1500), r(4, 1501)].map((x) => selected(x, p, plan.window)),
    [false, true, true, false],
  );
});

test("mapping renames topics, moves partitions and sizes the targets; repartitioning routes by key", () => {
  const plan = planRestore(manifest, { topicMapping: { orders: "orders-restored" }, partitionMapping: { "0": 5 } });
  const orders = plan.targetTopics.find((t) => t.name === "orders-restored");
  assert.deepEqual(orders, {
    name: "orders-restored",
    partitionCount: 6,
    replicationFactor: 3,
    configs: { "cleanup.policy": "delete" },
    sources: ["orders"],
  });
  assert.deepEqual(plan.partitions.find((p) => p.sourceTopic === "orders" && p.sourcePartition === 0)?.routing, {
    kind: "partition",
    partition: 5,
  });

  const repartitioned = planRestore(manifest, { topics: ["orders"], repartitioning: { orders: { targetPartitions: 6 } } });
  assert.equal(repartitioned.targetTopics[0]?.partitionCount, 6);
  const routing = repartitioned.partitions[0]?.routing;
  assert.ok(routing);
  const keyed: BackupRecord = {
    offset: 0,
    timestamp: 0,
    timestampType: "CreateTime",
    key: Buffer.from("k"),
    value: null,
    headers: [],
  };
  assert.equal(
    targetPartition(routing, keyed, 2, () => 4),
    4,
  );
  assert.equal(
    targetPartition(routing, { ...keyed, key: null }, 2, () => 4),
    2,
  );
});

test("offset bounds select partitions' ranges; unknown topics are refused by name", () => {
  const plan = planRestore(manifest, {
    topics: ["orders"],
    offsetBounds: [{ topic: "orders", partition: 1, startOffset: 150, endOffset: 160 }],
  });
  assert.deepEqual(
    plan.partitions.map((p) => [p.sourcePartition, p.segments.length, p.startOffset, p.endOffset]),
    [
      [0, 3, undefined, undefined],
      [1, 1, 150, 160],
      [2, 3, undefined, undefined],
    ],
  );
  assert.throws(() => planRestore(manifest, { topics: ["nope"] }), /spec\.topics: "nope" not in backup b/);
  assert.throws(() => planRestore(manifest, { topicMapping: { nope: "x" } }), /spec\.topicMapping: "nope" is not a topic/);
});
