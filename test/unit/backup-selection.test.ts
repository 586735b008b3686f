import assert from "node:assert/strict";
import { test } from "node:test";
import { kafkaBackupSetId, runBackupId, segmentKey } from "../../engine/backup/layout.ts";
import { selectTopics, topicMatcher } from "../../engine/backup/selection.ts";
import { Throttle } from "../../engine/backup/throttle.ts";

const topics = ["orders", "orders-eu", "orders-us", "payments", "__consumer_offsets", "__transaction_state", "audit.log"];

test("literal names, globs and regexes select topics; internal topics only when asked", () => {
  assert.deepEqual(selectTopics(topics, {}), ["audit.log", "orders", "orders-eu", "orders-us", "payments"]);
  assert.deepEqual(selectTopics(topics, { topics: ["payments"] }), ["payments"]);
  assert.deepEqual(selectTopics(topics, { include: ["orders-*"] }), ["orders-eu", "orders-us"]);
  assert.deepEqual(selectTopics(topics, { include: ["orders*"], exclude: ["~-us$"] }), ["orders", "orders-eu"]);
  assert.deepEqual(selectTopics(topics, { include: ["audit?log"] }), ["audit.log"]);
  assert.deepEqual(selectTopics(topics, { include: ["*"], includeInternal: true }).length, 7);
  assert.deepEqual(selectTopics(topics, { topics: ["__consumer_offsets"] }), ["__consumer_offsets"]);
});

test("a missing literal topic is an error naming it, unless a continuous set found it deleted; a bad regex names the field", () => {
  assert.throws(() => selectTopics(topics, { topics: ["orders", "missing"] }), /"missing" do not exist/);
  assert.deepEqual(selectTopics(topics, { topics: ["orders", "missing"] }, ["missing"]), ["orders"]);
  // Every named topic deleted: nothing is selected (never "no filter, so everything").
  assert.deepEqual(selectTopics(topics, { topics: ["missing"] }, ["missing"]), []);
  assert.equal(topicMatcher({ include: ["orders-*"] })("orders-gone"), true);
  assert.equal(topicMatcher({ topics: ["orders"] })("payments"), false);
  assert.throws(
    () => selectTopics(topics, { include: ["~(["] }),
    /spec\.includeTopics\[0\]: "~\(\[" is not a valid regular expression/,
  );
});

test("segment keys and backup ids follow the existing layout", () => {
  assert.equal(
    segmentKey("daily-001", "orders", 0, 12345, "zstd"),
    "daily-001/topics/orders/partition=0/segment-00000000000000012345.bin.zst",
  );
  assert.equal(segmentKey("b", "t", 3, 0, "none"), "b/topics/t/partition=3/segment-00000000000000000000.bin");
  assert.equal(runBackupId("nightly", new Date("2026-11-25T02:03:04.567Z")), "nightly-20261125-020304");
  assert.equal(kafkaBackupSetId("prod", "nightly", new Date("2026-11-25T02:03:04.567Z")), "prod.nightly-20261125-020304");
});

test("the throttle lets a second's worth through, then paces", () => {
  let now = 0;
  const t = new Throttle(100, () => now);
  assert.equal(t.reserve(100), 0);
  assert.equal(t.reserve(50), 500);
  now = 1500; // 1.5 s later: -50 + 150 = 100 tokens, capped at 100
  assert.equal(t.reserve(100), 0);
  assert.equal(new Throttle(0).reserve(1e9), 0);
});

test("retention keeps the newest keepLast, drops the too old, never the current or the newest", async () => {
  const { ownedBy, planRetention } = await import("../../engine/backup/retention.ts");
  const day = 86_400_000;
  const now = 100 * day;
  const sets = [1, 2, 3, 4, 5].map((d) => ({ backupId: `nightly-2026010${d}-020000`, createdAt: now - d * day, storedBytes: d }));
  const plan = planRetention(sets, { keepLast: 2 }, undefined, now);
  assert.deepEqual(plan.keep, ["nightly-20260101-020000", "nightly-20260102-020000"]);
  assert.equal(plan.delete.length, 3);
  assert.equal(plan.reclaimedBytes, 3 + 4 + 5);
  assert.deepEqual(
    planRetention(sets, { maxAgeDays: 3.5 }, "nightly-20260105-020000", now).delete.map((s) => s.backupId),
    ["nightly-20260104-020000"],
  );
  // Everything too old: the newest still stays.
  assert.deepEqual(planRetention(sets, { maxAgeDays: 0.5 }, undefined, now).keep, ["nightly-20260101-020000"]);
  assert.equal(ownedBy("nightly", "nightly-20260101-020000"), true);
  assert.equal(ownedBy("nightly", "nightly-archive-20260101-020000"), false);
  assert.equal(ownedBy("nightly", "nightly"), true);
});
