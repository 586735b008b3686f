// Chains, ownership and complete sets without I/O: how a new set joins a chain, how a chain reads
// as one manifest, what retention keeps of chains, whose a set is, and when a failed one-shot
// backup is retried.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chainPolicy, nextRetryTime, retryDecision } from "../../controllers/backup.ts";
import { planChainLink } from "../../engine/backup/chain.ts";
import { planRetention } from "../../engine/backup/retention.ts";
import { deletedTopics, recreatedTopics, TopicDeletedError, TopicRecreatedError } from "../../engine/backup/topic-changes.ts";
import { assertWritableBy, coverage, isUsable, mergeChain, ownsSet } from "../../engine/backupset/chain.ts";
import { chooseSet } from "../../engine/backupset/sets.ts";
import type { ChainLink, Manifest, ManifestSegment, SetRun } from "../../engine/format/manifest.ts";

const owner = { namespace: "prod", name: "nightly", uid: "u1" };

function segment(set: string, first: number, last: number): ManifestSegment {
  return {
    key: `${set}/topics/t/partition=0/segment-${String(first).padStart(20, "0")}.bin.zst`,
    format: "kbos-v1",
    firstOffset: first,
    lastOffset: last,
    recordCount: last - first + 1,
    minTimestamp: first,
    maxTimestamp: last,
    codec: "zstd",
    encrypted: false,
    storedBytes: 10,
  };
}

function manifest(
  backupId: string,
  o: {
    chain?: ChainLink;
    run?: SetRun;
    from?: number;
    to?: number;
    partitionCount?: number;
    gaps?: Manifest["topics"][0]["partitions"][0]["gaps"];
  } = {},
): Manifest {
  const from = o.from ?? 0;
  const to = o.to ?? 10;
  return {
    format: "kafka-backup-operator/manifest",
    formatVersion: 1,
    writer: "kafka-backup-operator",
    backupId,
    createdAt: 1,
    updatedAt: 1,
    compression: "zstd",
    owner,
    run: o.run ?? { state: "complete", mode: "snapshot" },
    ...(o.chain ? { chain: o.chain } : {}),
    topics: [
      {
        name: "t",
        partitionCount: o.partitionCount ?? 1,
        partitions: [
          { partition: 0, segments: to > from ? [segment(backupId, from, to - 1)] : [], gaps: o.gaps ?? [], nextOffset: to },
        ],
      },
    ],
  };
}

describe("a new set in a chain", () => {
  const now = [{ topic: "t", partition: 0, low: 0, high: 25 }];
  const base = manifest("prod.nightly-2", {
    chain: { id: "prod.nightly-1", sequence: 1, base: "prod.nightly-1" },
    from: 10,
    to: 20,
  });

  test("starts where the previous complete set ended", () => {
    const plan = planChainLink({ backupId: "prod.nightly-3", base, policy: { fullBackupEvery: 7 }, partitions: now });
    assert.deepEqual(plan.chain, { id: "prod.nightly-1", sequence: 2, base: "prod.nightly-2" });
    assert.deepEqual(plan.startOffsets, { "t/0": 20 });
  });

  test("is full when there is no base, every N sets, on demand, and when the base cannot serve", () => {
    const full = (p: ReturnType<typeof planChainLink>) => (p.chain.base ? undefined : p.chain.fullReason);
    assert.match(full(planChainLink({ backupId: "x", policy: { fullBackupEvery: 7 }, partitions: now })) ?? "", /first set/);
    assert.match(
      full(planChainLink({ backupId: "x", base, policy: { fullBackupEvery: 2 }, partitions: now })) ?? "",
      /fullBackupEvery 2/,
    );
    assert.match(
      full(planChainLink({ backupId: "x", base, policy: { fullBackupEvery: 7, forceFull: "annotation" }, partitions: now })) ??
        "",
      /annotation/,
    );
    assert.match(
      full(planChainLink({ backupId: "x", base, policy: { fullBackupEvery: 7 }, keyFingerprint: "ab", partitions: now })) ?? "",
      /encryption key changed/,
    );
    const added = [...now, { topic: "t", partition: 1, low: 0, high: 3 }];
    assert.match(
      full(planChainLink({ backupId: "x", base, policy: { fullBackupEvery: 7 }, partitions: added })) ?? "",
      /partitions added to t/,
    );
    const recreated = [{ topic: "t", partition: 0, low: 0, high: 4 }];
    assert.match(
      full(planChainLink({ backupId: "x", base, policy: { fullBackupEvery: 7 }, partitions: recreated })) ?? "",
      /recreated/,
    );
    // The base-check hook (any other reason a base cannot serve).
    const hook = () => "topic t has a new topic ID";
    assert.match(
      full(planChainLink({ backupId: "x", base, policy: { fullBackupEvery: 7 }, partitions: now, baseChecks: [hook] })) ?? "",
      /new topic ID/,
    );
    // fullBackupEvery 1: no chains at all.
    assert.ok(full(planChainLink({ backupId: "x", base, policy: { fullBackupEvery: 1 }, partitions: now })));
  });

  test("is full, naming the topic, when a topic's ID differs from the one the base recorded", () => {
    const withId = { ...base, topics: base.topics.map((t) => ({ ...t, topicId: "old" })) };
    // The new topic has more records than the base ended at: only its ID tells.
    const plan = planChainLink({
      backupId: "prod.nightly-3",
      base: withId,
      policy: { fullBackupEvery: 7, forceFull: "annotation" },
      partitions: now,
      topicIds: new Map([["t", "new"]]),
    });
    assert.deepEqual(plan.chain, {
      id: "prod.nightly-3",
      sequence: 0,
      fullReason: "recreated since prod.nightly-2: t (topic ID old → new)",
    });
    assert.deepEqual(plan.recreatedTopics, [{ topic: "t", previousTopicId: "old", topicId: "new" }]);
    assert.deepEqual(plan.startOffsets, {});
    // The same ID, no ID recorded, or the topic gone: no recreation is reported.
    for (const [m, ids] of [
      [withId, new Map([["t", "old"]])],
      [base, new Map([["t", "new"]])],
      [withId, new Map<string, string>()],
    ] as const) {
      const p = planChainLink({ backupId: "x", base: m, policy: { fullBackupEvery: 7 }, partitions: now, topicIds: ids });
      assert.equal(p.recreatedTopics, undefined);
      assert.equal(p.chain.base, "prod.nightly-2");
    }
  });
});

describe("topics recreated under a set", () => {
  test("are those with a recorded ID that now have another, sorted by name", () => {
    assert.deepEqual(
      recreatedTopics(
        [{ name: "b", topicId: "b1" }, { name: "a", topicId: "a1" }, { name: "c" }, { name: "d", topicId: "d1" }],
        new Map([
          ["a", "a2"],
          ["b", "b2"],
          ["c", "c2"],
          ["d", "d1"],
        ]),
      ),
      [
        { topic: "a", previousTopicId: "a1", topicId: "a2" },
        { topic: "b", previousTopicId: "b1", topicId: "b2" },
      ],
    );
    const err = new TopicRecreatedError("s", [{ topic: "a", previousTopicId: "a1", topicId: "a2" }]);
    assert.equal(err.reason, "TopicRecreated");
    assert.match(err.message, /backup set s: topic a \(topic ID a1 → a2\) deleted and created again/);
  });
});

describe("topics deleted under a set", () => {
  const recorded = [{ name: "b", topicId: "b1" }, { name: "a" }, { name: "c", topicId: "c1", deletedAt: 5 }, { name: "d" }];
  test("are those missing for at least the grace, by name, dated when first missed (or as recorded)", () => {
    const since = new Map([
      ["a", 100],
      ["b", 150],
      ["c", 100],
    ]);
    assert.deepEqual(deletedTopics(recorded, since, 200, 50), [
      { topic: "a", deletedAt: 100 },
      { topic: "b", topicId: "b1", deletedAt: 150 },
      { topic: "c", topicId: "c1", deletedAt: 5 },
    ]);
    // Missed a moment ago: perhaps being created again, not deleted yet.
    assert.deepEqual(
      deletedTopics(recorded, since, 175, 50).map((t) => t.topic),
      ["a", "c"],
    );
    assert.deepEqual(deletedTopics(recorded, new Map(), 1000, 0), []);
    const err = new TopicDeletedError("s", [{ topic: "b", topicId: "b1", deletedAt: 1 }]);
    assert.equal(err.reason, "TopicDeleted");
    assert.match(err.message, /backup set s: topic b \(topic ID b1\) deleted while the set was written/);
  });
});

describe("a chain read as one manifest", () => {
  test("segments of every set in offset order, gaps kept, the newest set's resume point", () => {
    const a = manifest("a", { chain: { id: "a", sequence: 0 }, from: 0, to: 10 });
    const b = manifest("b", {
      chain: { id: "a", sequence: 1, base: "a" },
      from: 15,
      to: 20,
      gaps: [{ start: 10, end: 15, reason: "retention", detectedAt: 1 }],
    });
    const c = manifest("c", { chain: { id: "a", sequence: 2, base: "b" }, from: 20, to: 20 });
    const view = mergeChain([a, b, c]);
    assert.deepEqual(view.chainSets, ["a", "b", "c"]);
    assert.equal(view.backupId, "c");
    const p = view.topics[0]?.partitions[0];
    assert.deepEqual(
      p?.segments.map((s) => [s.key.split("/")[0], s.firstOffset, s.lastOffset]),
      [
        ["a", 0, 9],
        ["b", 15, 19],
      ],
    );
    assert.equal(p?.nextOffset, 20);
    assert.deepEqual(coverage(view), [
      { topic: "t", partition: 0, from: 0, to: 20, records: 15, gaps: [{ start: 10, end: 15, reason: "retention" }] },
    ]);
    // The inputs are not changed.
    assert.equal(a.topics[0]?.partitions[0]?.segments.length, 1);
  });
});

describe("complete sets and owners", () => {
  test("only a complete set (or an older one, or a continuous one with data) is usable", () => {
    assert.equal(isUsable(manifest("a")), true);
    assert.equal(isUsable(manifest("a", { run: { state: "failed", mode: "snapshot" } })), false);
    assert.equal(isUsable(manifest("a", { run: { state: "running", mode: "snapshot" } })), false);
    assert.equal(isUsable(manifest("a", { run: { state: "cancelled", mode: "snapshot" } })), false);
    assert.equal(isUsable(manifest("a", { run: { state: "running", mode: "continuous" } })), true);
    assert.equal(isUsable(manifest("a", { run: { state: "running", mode: "continuous" }, to: 0 })), false);
    const { run: _, ...legacy } = manifest("a");
    assert.equal(isUsable(legacy as Manifest), true);
  });

  test("a set is this KafkaBackup's by namespace, name and uid, never by name alone", () => {
    const m = manifest("a");
    assert.equal(ownsSet(owner, m), true);
    assert.equal(ownsSet({ ...owner, namespace: "dev" }, m), false);
    assert.equal(ownsSet({ ...owner, uid: "u9" }, m), false, "a recreated KafkaBackup without a cluster identity");
    assert.equal(ownsSet({ ...owner, uid: "u9", cluster: "c1" }, { ...m, owner: { ...owner, cluster: "c1" } }), true);
    assert.equal(ownsSet({ ...owner, cluster: "c2" }, { ...m, owner: { ...owner, cluster: "c1" } }), false);
    const { owner: _, ...unowned } = m;
    assert.equal(ownsSet(owner, unowned as Manifest), false);
    assert.throws(
      () => assertWritableBy(m, { ...owner, namespace: "dev", uid: "u2" }, "a"),
      /belongs to KafkaBackup prod\/nightly/,
    );
    assert.doesNotThrow(() => assertWritableBy(m, owner, "a"));
  });
});

describe("which set a reference means", () => {
  test("the newest usable set; for a point in time the first usable set made at or after it", () => {
    const info = (backupId: string, createdAt: number, usable = true) => ({
      backupId,
      createdAt,
      usable,
      storedBytes: 0,
      manifest: manifest(backupId),
    });
    const sets = [info("a", 10), info("b", 20), info("c", 30, false), info("d", 40)];
    assert.deepEqual(chooseSet(undefined, sets), { backupId: "d" });
    assert.deepEqual(chooseSet(undefined, sets, 15), { backupId: "b" });
    assert.deepEqual(chooseSet(undefined, sets, 25), { backupId: "d" }, "never the failed one");
    assert.deepEqual(chooseSet(undefined, sets, 50), { backupId: "d" }, "none after: the newest");
    assert.deepEqual(chooseSet("c", sets).backupId, "c");
    assert.match(chooseSet("c", sets).warning ?? "", /not complete/);
  });
});

describe("retention of chains", () => {
  const day = 86_400_000;
  const now = 100 * day;
  // Two chains of three daily sets (days 6..4 and 3..1 ago), then a failed set today.
  const sets = [
    ...[6, 5, 4].map((d, i) => ({ backupId: `c1-${i}`, createdAt: now - d * day, storedBytes: 1, chainId: "c1-0", sequence: i })),
    ...[3, 2, 1].map((d, i) => ({ backupId: `c2-${i}`, createdAt: now - d * day, storedBytes: 1, chainId: "c2-0", sequence: i })),
  ];

  test("keepLast keeps the chains of the newest restore points whole", () => {
    const plan = planRetention(sets, { keepLast: 2 }, undefined, now);
    assert.deepEqual(plan.chainsDeleted, ["c1-0"]);
    // Newest first: the chain's full set goes last.
    assert.deepEqual(
      plan.delete.map((s) => s.backupId),
      ["c1-2", "c1-1", "c1-0"],
    );
    // keepLast 4 reaches into the older chain: it stays whole, not just its newest set.
    assert.deepEqual(planRetention(sets, { keepLast: 4 }, undefined, now).delete, []);
  });

  test("maxAge deletes a chain only when its newest set is too old", () => {
    assert.deepEqual(planRetention(sets, { maxAgeDays: 4.5 }, undefined, now).chainsDeleted, []);
    assert.deepEqual(planRetention(sets, { maxAgeDays: 3.5 }, undefined, now).chainsDeleted, ["c1-0"]);
    // Everything too old: the newest good chain still stays.
    assert.deepEqual(planRetention(sets, { maxAgeDays: 0.5 }, undefined, now).chainsDeleted, ["c1-0"]);
  });

  test("keepLast and maxAge together; failed sets are no restore points; the current set's chain stays", () => {
    const failed = { backupId: "c2-3", createdAt: now, storedBytes: 1, chainId: "c2-0", sequence: 3, usable: false };
    // keepLast 3 counts complete sets only (c2-2, c2-1, c2-0): c1 goes although maxAge would keep it.
    assert.deepEqual(planRetention([...sets, failed], { keepLast: 3, maxAgeDays: 10 }, undefined, now).chainsDeleted, ["c1-0"]);
    // maxAge removes what keepLast would keep.
    assert.deepEqual(planRetention(sets, { keepLast: 6, maxAgeDays: 3.5 }, undefined, now).chainsDeleted, ["c1-0"]);
    // The set being written holds its chain.
    assert.deepEqual(planRetention(sets, { keepLast: 1 }, "c1-2", now).chainsDeleted, []);
    // A chain made of a failed set only is deleted.
    const lone = { backupId: "f", createdAt: now - 7 * day, storedBytes: 1, usable: false };
    assert.deepEqual(planRetention([...sets, lone], { keepLast: 6 }, undefined, now).chainsDeleted, ["f"]);
  });
});

describe("the KafkaBackup controller's decisions", () => {
  const base = { metadata: { name: "b", namespace: "n", creationTimestamp: "", annotations: {} as Record<string, string> } };
  const spec = { kafkaCluster: { bootstrapServers: ["x"] }, storage: { storageType: "s3" } } as never as Record<string, unknown>;

  test("a failed one-shot backup is retried by the annotation and by its retry policy, with backoff", () => {
    const failed = {
      ...base,
      spec: { ...spec, retryPolicy: { maxRetries: 2, backoffSeconds: 10 } },
      status: { phase: "Failed" },
    };
    const t0 = new Date("2026-12-03T10:00:00Z");
    assert.equal(nextRetryTime(failed as never, t0), "2026-12-03T10:00:10.000Z");
    assert.equal(nextRetryTime({ ...failed, status: { retryCount: 1 } } as never, t0), "2026-12-03T10:00:20.000Z");
    assert.equal(nextRetryTime({ ...failed, status: { retryCount: 2 } } as never, t0), undefined, "retries used up");
    assert.equal(nextRetryTime({ ...failed, spec: { ...failed.spec, schedule: "0 2 * * *" } } as never, t0), undefined);
    const waiting = { ...failed, status: { phase: "Failed", nextRetryTime: "2026-12-03T10:00:10.000Z" } };
    assert.deepEqual(retryDecision(waiting as never, t0), { start: false, afterMs: 10_000 });
    assert.deepEqual(retryDecision(waiting as never, new Date("2026-12-03T10:00:11Z")), {
      start: true,
      why: "retry 1 of 2",
      claim: { retryCount: 1 },
    });
    assert.deepEqual(retryDecision({ ...waiting, status: { ...waiting.status, retryCount: 2 } } as never, t0), { start: false });
    const annotated = { ...base, metadata: { ...base.metadata, annotations: { "kafka.oso.sh/retry": "1" } }, spec, status: {} };
    assert.deepEqual(retryDecision(annotated as never, t0), { start: true, why: "retry 1", claim: { retryToken: "1" } });
    assert.deepEqual(retryDecision({ ...annotated, status: { retryToken: "1" } } as never, t0), { start: false });
  });

  test("scheduled sets chain; one-shot and continuous ones are full; the annotation forces a full set once", () => {
    const scheduled = { ...base, spec: { ...spec, schedule: "0 2 * * *", chain: { fullBackupEvery: 3 } }, status: {} };
    assert.deepEqual(chainPolicy(scheduled as never), { fullBackupEvery: 3 });
    assert.ok(chainPolicy({ ...scheduled, spec } as never).forceFull);
    assert.ok(chainPolicy({ ...scheduled, spec: { ...spec, continuous: true } } as never).forceFull);
    const asked = { ...scheduled, metadata: { ...base.metadata, annotations: { "kafka.oso.sh/full-backup": "x" } } };
    assert.match(chainPolicy(asked as never).forceFull ?? "", /full-backup/);
    assert.equal(chainPolicy({ ...asked, status: { fullBackupToken: "x" } } as never).forceFull, undefined);
  });
});
