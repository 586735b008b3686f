// Which offsets a group gets: every strategy, the filters, from-mapping (never a fallback to the
// current offsets), rollback plans, mismatches, and the run summary and status bounds.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PartitionBounds } from "../../engine/kafka/groups.ts";
import {
  coveredPartitions,
  mismatches,
  OffsetPlanError,
  planFromMapping,
  planGroup,
  planRollback,
  type StrategyFacts,
} from "../../engine/offsets/plan.ts";
import { boundedGroupResults, type GroupOutcome, summarize } from "../../engine/offsets/results.ts";
import { claimFilePath, parseSnapshot, snapshotIdFor } from "../../engine/offsets/snapshot.ts";
import { type OffsetMappingReport, offsetMappingFormat } from "../../engine/restore/offset-mapping.ts";

const bounds = new Map<string, PartitionBounds>([
  ["t/0", { low: 10, high: 100 }],
  ["t/1", { low: 0, high: 50 }],
  ["u/0", { low: 5, high: 5 }],
]);
const committed = [
  { topic: "t", partition: 0, offset: 40 },
  { topic: "t", partition: 1, offset: 50 },
];
const covered = [
  { topic: "t", partition: 0 },
  { topic: "t", partition: 1 },
];
const facts = (f: Partial<StrategyFacts>): StrategyFacts => ({ strategy: "to-earliest", bounds, ...f });
const newOffsets = (f: Partial<StrategyFacts>) => planGroup("g", facts(f), committed, covered).offsets.map((o) => o.newOffset);

describe("planGroup", () => {
  test("to-earliest and to-latest use each partition's log bounds", () => {
    assert.deepEqual(newOffsets({ strategy: "to-earliest" }), [10, 0]);
    assert.deepEqual(newOffsets({ strategy: "to-latest" }), [100, 50]);
  });
  test("to-offset is clamped into the log; shift-by moves from the commit, clamped", () => {
    assert.deepEqual(newOffsets({ strategy: "to-offset", resetOffset: 42 }), [42, 42]);
    assert.deepEqual(newOffsets({ strategy: "to-offset", resetOffset: 5 }), [10, 5]);
    assert.deepEqual(newOffsets({ strategy: "shift-by", shiftBy: -35 }), [10, 15]);
    assert.deepEqual(newOffsets({ strategy: "shift-by", shiftBy: 20 }), [60, 50]);
  });
  test("to-timestamp takes the looked-up offsets and fails where one is missing (never keeps the current one)", () => {
    assert.deepEqual(
      newOffsets({
        strategy: "to-timestamp",
        timestampOffsets: new Map([
          ["t/0", 77],
          ["t/1", 3],
        ]),
      }),
      [77, 3],
    );
    assert.throws(() => newOffsets({ strategy: "to-timestamp", timestampOffsets: new Map([["t/0", 77]]) }), OffsetPlanError);
  });
  test("missing bounds fail the plan", () => {
    assert.throws(() => planGroup("g", facts({ bounds: new Map() }), committed, covered), /no log bounds for t\/0/);
  });
  test("changes lists only partitions that move", () => {
    const plan = planGroup("g", facts({ strategy: "to-latest" }), committed, covered);
    assert.deepEqual(
      plan.changes.map((c) => [c.topic, c.partition, c.previousOffset, c.newOffset]),
      [["t", 0, 40, 100]],
    );
  });
});

describe("coveredPartitions", () => {
  const partitionsOf = (t: string) => (t === "t" ? [0, 1, 2] : undefined);
  test("without topics: the committed partitions, filtered by partition", () => {
    assert.deepEqual(coveredPartitions({}, committed, partitionsOf), covered);
    assert.deepEqual(coveredPartitions({ partitions: [1] }, committed, partitionsOf), [{ topic: "t", partition: 1 }]);
  });
  test("with topics: every partition of them, committed or not", () => {
    assert.deepEqual(coveredPartitions({ topics: ["t"], partitions: [0, 2] }, committed, partitionsOf), [
      { topic: "t", partition: 0 },
      { topic: "t", partition: 2 },
    ]);
    assert.throws(() => coveredPartitions({ topics: ["nope"] }, committed, partitionsOf), /topic nope/);
  });
});

const report: OffsetMappingReport = {
  format: offsetMappingFormat,
  version: 1,
  backupId: "b",
  restoreId: "r",
  createdAt: new Date(0).toISOString(),
  partitions: [
    {
      sourceTopic: "src",
      sourcePartition: 0,
      targetTopic: "dst",
      targetPartition: 0,
      records: 100,
      sourceFirstOffset: 1000,
      sourceLastOffset: 1099,
      targetFirstOffset: 0,
      targetLastOffset: 99,
      firstTimestamp: 0,
      lastTimestamp: 0,
      runs: [[1000, 0, 100]],
    },
    {
      sourceTopic: "src",
      sourcePartition: 1,
      targetTopic: "dst",
      targetPartition: 1,
      records: 10,
      sourceFirstOffset: 0,
      sourceLastOffset: 9,
      targetFirstOffset: 0,
      targetLastOffset: 9,
      firstTimestamp: 0,
      lastTimestamp: 0,
      runs: [],
      runsTruncated: true,
    },
  ],
  targetEnds: { "dst/0": 100, "dst/1": 10 },
  consumerGroups: [
    {
      groupId: "in-report",
      source: [{ sourceTopic: "src", sourcePartition: 0, sourceOffset: 1050 }],
      target: [{ topic: "dst", partition: 0, offset: 50 }],
      committed: false,
    },
  ],
};

describe("planFromMapping", () => {
  test("a group in the report gets the report's targets; already there is a no-op", () => {
    const plan = planFromMapping("in-report", report, [], {});
    assert.deepEqual(plan.offsets, [{ topic: "dst", partition: 0, previousOffset: -1, newOffset: 50 }]);
    const again = planFromMapping("in-report", report, [{ topic: "dst", partition: 0, offset: 50 }], {});
    assert.equal(again.changes.length, 0);
  });
  test("another group has its source commits translated, without extrapolating", () => {
    const plan = planFromMapping("other", report, [{ topic: "src", partition: 0, offset: 1020 }], {});
    assert.deepEqual(plan.offsets, [{ topic: "dst", partition: 0, previousOffset: -1, newOffset: 20 }]);
    assert.throws(
      () => planFromMapping("other", report, [{ topic: "src", partition: 1, offset: 5 }], {}),
      /cannot place src\/1@5/,
    );
  });
  test("never falls back to the current offsets", () => {
    assert.throws(
      () => planFromMapping("stranger", report, [{ topic: "dst", partition: 0, offset: 7 }], {}),
      /not in the offset mapping of restore r/,
    );
  });
  test("the topic filter applies to the target topics", () => {
    assert.equal(planFromMapping("in-report", report, [], { topics: ["other"] }).offsets.length, 0);
  });
});

describe("rollback plans and verification", () => {
  test("planRollback commits the snapshot where it differs", () => {
    const plan = planRollback("g", committed, [{ topic: "t", partition: 0, offset: 99 }]);
    assert.deepEqual(
      plan.changes.map((c) => [c.partition, c.previousOffset, c.newOffset]),
      [
        [0, 99, 40],
        [1, -1, 50],
      ],
    );
  });
  test("mismatches names each differing partition", () => {
    assert.deepEqual(mismatches("g", committed, [{ topic: "t", partition: 0, offset: 40 }]), [
      { groupId: "g", topic: "t", partition: 1, expectedOffset: 50, actualOffset: -1 },
    ]);
  });
});

const outcome = (groupId: string, state: GroupOutcome["state"], partitions = 1): GroupOutcome => ({
  groupId,
  state,
  offsets: Array.from({ length: partitions }, (_, p) => ({ topic: "t", partition: p, previousOffset: 0, newOffset: 1 })),
  changed: partitions,
  ...(state === "Failed" || state === "ActiveMembers" ? { error: "boom" } : {}),
});

describe("summarize and bounds", () => {
  test("phases", () => {
    const opts = { dryRun: false, verb: "reset", stoppedEarly: false };
    assert.equal(summarize([outcome("a", "Reset"), outcome("b", "NoOp")], 2, opts).phase, "Completed");
    const partial = summarize([outcome("a", "Reset"), outcome("b", "ActiveMembers")], 2, opts);
    assert.equal(partial.phase, "PartiallyCompleted");
    assert.match(partial.message, /1 failed \(1 with active members\)/);
    assert.equal(summarize([outcome("a", "Failed")], 1, opts).phase, "Failed");
    const stopped = summarize([outcome("a", "Reset"), outcome("b", "Failed")], 5, { ...opts, stoppedEarly: true });
    assert.equal(stopped.phase, "Failed");
    assert.equal(stopped.notAttempted, 3);
    assert.match(summarize([outcome("a", "Planned")], 1, { ...opts, dryRun: true }).message, /dry run: 1 groups would change/);
  });
  test("status results are bounded, failures first", () => {
    const many = [outcome("z-ok", "Reset", 3), outcome("a-ok", "Reset", 3), outcome("m-bad", "Failed", 3)];
    const { results, complete } = boundedGroupResults(many, { maxGroups: 2, maxPartitions: 4 });
    assert.equal(complete, false);
    assert.deepEqual(
      results.map((r) => [r.groupId, r.success, r.partitions?.length]),
      [
        ["m-bad", false, 3],
        ["a-ok", true, undefined],
      ],
    );
    assert.equal(boundedGroupResults(many).complete, true);
  });
});

describe("snapshots", () => {
  test("ids, parsing and claim paths", () => {
    assert.equal(snapshotIdFor("Reset-A", new Date("2026-01-02T03:04:05.678Z")), "reset-a-20260102-030405");
    assert.throws(() => parseSnapshot("{}", "x"), /not an offset snapshot/);
    assert.equal(claimFilePath({ pvcName: "c", path: "s/x.json" }, "/data", "d.json", "f"), "/data/c/s/x.json");
    assert.equal(claimFilePath({ pvcName: "c" }, "/data", "d.json", "f"), "/data/c/d.json");
    assert.equal(claimFilePath({ pvcName: "c", path: "/abs/x.json" }, "/data", "d.json", "f"), "/abs/x.json");
    assert.throws(() => claimFilePath({ pvcName: "c", path: "../../etc/passwd" }, "/data", "d.json", "f"), /leaves the claim/);
  });
});

describe("keyOfLocation", () => {
  test("strips the store's bucket and prefix, with or without a prefix", async () => {
    const { createStorageBackend } = await import("../../engine/storage/open.ts");
    const { keyOfLocation } = await import("../../engine/offsets/snapshot.ts");
    const s3 = (prefix?: string) =>
      createStorageBackend(
        { storageType: "s3", s3: { bucket: "b", region: "r", ...(prefix ? { prefix } : {}) } },
        { s3: { accessKeyId: "a", secretAccessKey: "s" } },
      );
    for (const store of [await s3(), await s3("p/q")]) {
      const key = "b1/restores/r1/offset-mapping.json";
      assert.equal(keyOfLocation(store, store.location(key)), key);
      assert.equal(keyOfLocation(store, key), key);
    }
    const p = await s3("p");
    assert.throws(() => keyOfLocation(p, "s3://other/p/x.json"), /is not in/);
    const fs = await createStorageBackend(
      { storageType: "pvc", pvc: { claimName: "c", subPath: "sub" } },
      {},
      { pvcMountRoot: "/data" },
    );
    assert.equal(keyOfLocation(fs, fs.location("offset-snapshots/x.json")), "offset-snapshots/x.json");
  });
});
