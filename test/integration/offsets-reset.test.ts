// Offset resets and rollbacks on the real broker: every strategy and filter on groups with
// committed offsets, read back afterwards through kafkajs' own admin (a path independent of
// ours); a group with a live consumer; from-mapping with a mapping report in MinIO and in a file;
// snapshot then rollback with a mismatch; and 500 groups × 10 partitions with parallelism 50.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadOffsetMappingRef, persistOffsetSnapshot } from "../../engine/k8s/offset-snapshots.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { commitGroupOffsets, type TopicPartitionOffset } from "../../engine/kafka/groups.ts";
import { resetOffsets, rollbackOffsets } from "../../engine/offsets/reset.ts";
import { summarize } from "../../engine/offsets/results.ts";
import { loadSnapshotFromStorage } from "../../engine/offsets/snapshot.ts";
import {
  type OffsetMappingReport,
  offsetMappingFormat,
  offsetMappingKey,
  readOffsetMapping,
} from "../../engine/restore/offset-mapping.ts";
import { minioStore } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";

let kafka: KafkaClient;
const T0 = 1_700_000_000_000;

before(() => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
});
after(async () => {
  await kafka.close();
});

const uid = () => randomUUID().slice(0, 8);

/** Right after createTopics a partition may not have a leader yet (NOT_LEADER on the first request): wait until every one answers. */
async function leadersSettled(topic: string): Promise<void> {
  const admin = await kafka.admin();
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.fetchTopicOffsets(topic);
      return;
    } catch (err) {
      if (attempt >= 30) throw err;
      await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

/** A topic whose record i of every partition has timestamp T0 + i * 1000. */
async function topicWith(partitions: number, perPartition: number): Promise<string> {
  const topic = `offsets-${uid()}`;
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await leadersSettled(topic);
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    const messages = [];
    for (let p = 0; p < partitions; p++)
      for (let i = 0; i < perPartition; i++) messages.push({ partition: p, value: `v${i}`, timestamp: String(T0 + i * 1000) });
    for (let i = 0; i < messages.length; i += 5000)
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 5000) });
  } finally {
    await producer.disconnect();
  }
  return topic;
}

/** Committed offsets read back with kafkajs' admin (not our code path), keyed topic/partition. */
async function committedOf(groupId: string, topics: string[]): Promise<Record<string, number>> {
  const admin = await kafka.admin();
  const out: Record<string, number> = {};
  for (const t of await admin.fetchOffsets({ groupId, topics }))
    for (const p of t.partitions) out[`${t.topic}/${p.partition}`] = Number(p.offset);
  return out;
}

async function commitAll(groupId: string, topic: string, partitions: number, offset: number): Promise<void> {
  await commitGroupOffsets(
    kafka,
    groupId,
    Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset })),
  );
}

const each = (topic: string, values: number[]) => Object.fromEntries(values.map((v, p) => [`${topic}/${p}`, v]));

describe("reset strategies on real groups", () => {
  let topic: string;
  before(async () => {
    topic = await topicWith(3, 20);
    // Partition 0's log starts at 5: earliest is not simply 0.
    const admin = await kafka.admin();
    await admin.fetchTopicOffsets(topic); // kafkajs looks the leader up in metadata it only has after this
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "5" }] });
  });

  const run = async (opts: Omit<Parameters<typeof resetOffsets>[1], "groups">, start = 10) => {
    const groupId = `g-${uid()}`;
    await commitAll(groupId, topic, 3, start);
    const result = await resetOffsets(kafka, { groups: [groupId], ...opts });
    return { groupId, result, after: await committedOf(groupId, [topic]) };
  };

  test("to-earliest, to-latest", async () => {
    const earliest = await run({ strategy: "to-earliest" });
    assert.equal(earliest.result.outcomes[0]?.state, "Reset");
    assert.deepEqual(earliest.after, each(topic, [5, 0, 0]));
    assert.deepEqual((await run({ strategy: "to-latest" })).after, each(topic, [20, 20, 20]));
  });

  test("to-timestamp: first record at or after it; past the end: the log end", async () => {
    assert.deepEqual((await run({ strategy: "to-timestamp", resetTimestamp: T0 + 7000 })).after, each(topic, [7, 7, 7]));
    assert.deepEqual((await run({ strategy: "to-timestamp", resetTimestamp: T0 + 2500 })).after, each(topic, [5, 3, 3]));
    assert.deepEqual((await run({ strategy: "to-timestamp", resetTimestamp: T0 + 99_000_000 })).after, each(topic, [20, 20, 20]));
  });

  test("to-timestamp on a topic the broker cannot answer for fails the group instead of keeping its offset", async () => {
    const groupId = `g-${uid()}`;
    await commitAll(groupId, topic, 3, 10);
    const result = await resetOffsets(kafka, {
      groups: [groupId],
      strategy: "to-timestamp",
      resetTimestamp: T0,
      topics: [topic, `missing-${uid()}`],
    });
    assert.equal(result.outcomes[0]?.state, "Failed");
    assert.match(result.outcomes[0]?.error ?? "", /missing-/);
    assert.deepEqual(await committedOf(groupId, [topic]), each(topic, [10, 10, 10]));
  });

  test("to-offset (clamped into the log) and shift-by", async () => {
    assert.deepEqual((await run({ strategy: "to-offset", resetOffset: 15 })).after, each(topic, [15, 15, 15]));
    assert.deepEqual((await run({ strategy: "to-offset", resetOffset: 2 })).after, each(topic, [5, 2, 2]));
    assert.deepEqual((await run({ strategy: "shift-by", shiftBy: -3 })).after, each(topic, [7, 7, 7]));
    assert.deepEqual((await run({ strategy: "shift-by", shiftBy: 30 })).after, each(topic, [20, 20, 20]));
  });

  test("partition and topic filters leave the rest alone; already at target is a no-op", async () => {
    assert.deepEqual((await run({ strategy: "to-latest", partitions: [1] })).after, each(topic, [10, 20, 10]));
    const other = await topicWith(1, 5);
    const groupId = `g-${uid()}`;
    await commitAll(groupId, topic, 3, 4);
    await commitAll(groupId, other, 1, 1);
    await resetOffsets(kafka, { groups: [groupId], strategy: "to-latest", topics: [other] });
    assert.deepEqual(await committedOf(groupId, [topic, other]), { ...each(topic, [4, 4, 4]), [`${other}/0`]: 5 });
    const again = await resetOffsets(kafka, { groups: [groupId], strategy: "to-latest", topics: [other] });
    assert.equal(again.outcomes[0]?.state, "NoOp");
  });

  test("listed topics cover partitions the group never committed", async () => {
    const groupId = `g-${uid()}`;
    await commitGroupOffsets(kafka, groupId, [{ topic, partition: 0, offset: 9 }]);
    await resetOffsets(kafka, { groups: [groupId], strategy: "to-offset", resetOffset: 12, topics: [topic] });
    assert.deepEqual(await committedOf(groupId, [topic]), each(topic, [12, 12, 12]));
  });

  test("dry run plans and changes nothing", async () => {
    const { result, after } = await run({ strategy: "to-latest", dryRun: true });
    assert.equal(result.outcomes[0]?.state, "Planned");
    assert.deepEqual(
      result.outcomes[0]?.offsets.map((o) => o.newOffset),
      [20, 20, 20],
    );
    assert.deepEqual(after, each(topic, [10, 10, 10]));
  });
});

describe("a group with an active consumer", () => {
  test("is reported; the others still reset with continueOnError, and without it the run stops", async () => {
    const topic = await topicWith(2, 10);
    const live = `live-${uid()}`;
    const idle = [`idle-${uid()}`, `idle-${uid()}`];
    for (const g of [live, ...idle]) await commitAll(g, topic, 2, 3);
    const consumer = kafka.kafka.consumer({ groupId: live });
    await consumer.connect();
    await consumer.subscribe({ topic });
    await consumer.run({ autoCommit: false, eachMessage: async () => {} });
    try {
      // Wait until the consumer is a Stable member.
      const admin = await kafka.admin();
      for (let i = 0; i < 60; i++) {
        const { groups } = await admin.describeGroups([live]);
        if (groups[0]?.state === "Stable") break;
        await sleep(250);
      }
      const result = await resetOffsets(kafka, { groups: [live, ...idle], strategy: "to-earliest", continueOnError: true });
      const byGroup = Object.fromEntries(result.outcomes.map((o) => [o.groupId, o]));
      assert.equal(byGroup[live]?.state, "ActiveMembers");
      assert.match(byGroup[live]?.error ?? "", /active members/);
      for (const g of idle) {
        assert.equal(byGroup[g]?.state, "Reset");
        assert.deepEqual(await committedOf(g, [topic]), each(topic, [0, 0]));
      }
      assert.deepEqual(await committedOf(live, [topic]), each(topic, [3, 3]));
      assert.equal(
        summarize(result.outcomes, result.total, { dryRun: false, verb: "reset", stoppedEarly: false }).phase,
        "PartiallyCompleted",
      );

      const later = [`later-${uid()}`, `later-${uid()}`];
      for (const g of later) await commitAll(g, topic, 2, 3);
      const stopped = await resetOffsets(kafka, { groups: [live, ...later], strategy: "to-earliest", parallelism: 1 });
      assert.equal(stopped.stoppedEarly, true);
      assert.equal(stopped.outcomes.length, 1);
      for (const g of later) assert.deepEqual(await committedOf(g, [topic]), each(topic, [3, 3]));
    } finally {
      await consumer.disconnect();
    }
  });
});

describe("from-mapping", () => {
  test("uses the report's targets and translations, never current offsets (report in MinIO and in a file)", async () => {
    const source = await topicWith(1, 30);
    const target = await topicWith(1, 20);
    const restoreId = `r-${uid()}`;
    const report: OffsetMappingReport = {
      format: offsetMappingFormat,
      version: 1,
      backupId: "b1",
      restoreId,
      createdAt: new Date().toISOString(),
      // Source offsets 10..29 landed on target offsets 0..19.
      partitions: [
        {
          sourceTopic: source,
          sourcePartition: 0,
          targetTopic: target,
          targetPartition: 0,
          records: 20,
          sourceFirstOffset: 10,
          sourceLastOffset: 29,
          targetFirstOffset: 0,
          targetLastOffset: 19,
          firstTimestamp: T0,
          lastTimestamp: T0,
          runs: [[10, 0, 20]],
        },
      ],
      targetEnds: { [`${target}/0`]: 20 },
      consumerGroups: [
        {
          groupId: `mapped-${restoreId}`,
          source: [{ sourceTopic: source, sourcePartition: 0, sourceOffset: 17 }],
          target: [{ topic: target, partition: 0, offset: 7 }],
          committed: false,
        },
      ],
    };
    const store = await minioStore();
    await store.put(offsetMappingKey("b1", restoreId), Buffer.from(JSON.stringify(report)));
    const fromStore = await readOffsetMapping(store, offsetMappingKey("b1", restoreId));
    const dir = mkdtempSync(join(tmpdir(), "offset-mapping-"));
    mkdirSync(join(dir, "claim"));
    writeFileSync(join(dir, "offset-mapping.json"), JSON.stringify(report));
    writeFileSync(join(dir, "claim", "offset-mapping.json"), JSON.stringify(report));
    const fromFile = (
      await loadOffsetMappingRef(undefined, "ns", { path: join(dir, "offset-mapping.json") }, { pvcMountRoot: "/x" })
    ).report;
    // A claim mounted at {PVC_MOUNT_ROOT}/{pvcName}, default file offset-mapping.json.
    const onClaim = (await loadOffsetMappingRef(undefined, "ns", { pvcName: "claim" }, { pvcMountRoot: dir })).report;
    assert.deepEqual(fromFile, fromStore);
    assert.equal(onClaim.restoreId, restoreId);

    const mapped = `mapped-${restoreId}`;
    const translated = `translated-${uid()}`;
    const stranger = `stranger-${uid()}`;
    const atTarget = `at-target-${uid()}`;
    await commitGroupOffsets(kafka, translated, [{ topic: source, partition: 0, offset: 25 }]);
    await commitGroupOffsets(kafka, stranger, [{ topic: target, partition: 0, offset: 3 }]);
    await commitGroupOffsets(kafka, atTarget, [
      { topic: source, partition: 0, offset: 12 },
      { topic: target, partition: 0, offset: 2 },
    ]);
    const result = await resetOffsets(kafka, {
      groups: [mapped, translated, stranger, atTarget],
      strategy: "from-mapping",
      mapping: fromStore,
      continueOnError: true,
    });
    const state = Object.fromEntries(result.outcomes.map((o) => [o.groupId, o.state]));
    assert.deepEqual(state, { [mapped]: "Reset", [translated]: "Reset", [stranger]: "Failed", [atTarget]: "NoOp" });
    assert.deepEqual(await committedOf(mapped, [target]), { [`${target}/0`]: 7 });
    assert.deepEqual(await committedOf(translated, [target, source]), { [`${target}/0`]: 15, [`${source}/0`]: 25 });
    // Not in the report and nothing to translate: left exactly as it was.
    assert.deepEqual(await committedOf(stranger, [target]), { [`${target}/0`]: 3 });
  });
});

describe("snapshot then rollback", () => {
  test("restores identical offsets; a group changed in between and held by a consumer shows as a mismatch", async () => {
    const topic = await topicWith(3, 50);
    const groups = Array.from({ length: 6 }, (_, i) => `snap-${i}-${uid()}`);
    const before: Record<string, Record<string, number>> = {};
    for (const [i, g] of groups.entries()) {
      await commitGroupOffsets(
        kafka,
        g,
        [0, 1, 2].map((partition) => ({ topic, partition, offset: 10 + i + partition })),
      );
      before[g] = await committedOf(g, [topic]);
    }
    const store = await minioStore();
    const saved = await persistOffsetSnapshot(
      undefined,
      kafka,
      groups,
      { store },
      { snapshotId: `snap-${uid()}`, parallelism: 4 },
    );
    assert.match(saved.path, /^s3:\/\/.*offset-snapshots\/snap-.*\.json$/);
    const reset = await resetOffsets(kafka, { groups, strategy: "to-latest", parallelism: 3 });
    assert.ok(reset.outcomes.every((o) => o.state === "Reset"));
    for (const g of groups) assert.deepEqual(await committedOf(g, [topic]), each(topic, [50, 50, 50]));

    // Read back from storage, as a rollback does.
    const snapshot = await loadSnapshotFromStorage(store, saved.path);
    const rolled = await rollbackOffsets(kafka, snapshot, { parallelism: 3 });
    assert.equal(rolled.verification?.allMatched, true);
    for (const g of groups) assert.deepEqual(await committedOf(g, [topic]), before[g]);

    // Reset again; then one group gets a live consumer and moves: the rollback cannot touch it.
    await resetOffsets(kafka, { groups, strategy: "to-latest" });
    const changed = groups[2] as string;
    await commitGroupOffsets(kafka, changed, [{ topic, partition: 1, offset: 33 }]);
    const consumer = kafka.kafka.consumer({ groupId: changed });
    await consumer.connect();
    await consumer.subscribe({ topic });
    await consumer.run({ autoCommit: false, eachMessage: async () => {} });
    try {
      const admin = await kafka.admin();
      for (let i = 0; i < 60 && (await admin.describeGroups([changed])).groups[0]?.state !== "Stable"; i++) await sleep(250);
      const partial = await rollbackOffsets(kafka, snapshot, { parallelism: 3 });
      const v = partial.verification;
      assert.equal(v?.allMatched, false);
      assert.deepEqual(v?.mismatchedGroups, [changed]);
      assert.deepEqual(
        v?.mismatches.map((m) => [m.groupId, m.partition, m.expectedOffset, m.actualOffset]),
        [
          [changed, 0, 12, 50],
          [changed, 1, 13, 33],
          [changed, 2, 14, 50],
        ],
      );
      assert.equal(partial.outcomes.find((o) => o.groupId === changed)?.state, "ActiveMembers");
      for (const g of groups.filter((x) => x !== changed)) assert.deepEqual(await committedOf(g, [topic]), before[g]);
      // Only the listed groups: a group not in the snapshot fails.
      const listed = await rollbackOffsets(kafka, snapshot, { groups: [groups[0] as string, "not-there"] });
      assert.deepEqual(listed.outcomes.map((o) => [o.groupId, o.state]).sort(), [
        ["not-there", "Failed"],
        [groups[0], "NoOp"],
      ]);
    } finally {
      await consumer.disconnect();
    }
  });
});

describe("scale", () => {
  test("500 groups × 10 partitions with parallelism 50: every offset correct", async () => {
    const topic = await topicWith(10, 100);
    const groups = Array.from({ length: 500 }, (_, i) => `scale-${i}-${uid()}`);
    const expected = new Map<string, TopicPartitionOffset[]>();
    const setupStart = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < groups.length) {
          const i = next++;
          const g = groups[i] as string;
          const offsets = Array.from({ length: 10 }, (_, partition) => ({
            topic,
            partition,
            offset: 20 + ((i * 7 + partition * 13) % 70),
          }));
          await commitGroupOffsets(kafka, g, offsets);
          expected.set(
            g,
            offsets.map((o) => ({ ...o, offset: o.offset - 15 })),
          );
        }
      }),
    );
    const setupMs = Date.now() - setupStart;
    const started = Date.now();
    const result = await resetOffsets(kafka, { groups, strategy: "shift-by", shiftBy: -15, parallelism: 50 });
    const wallMs = Date.now() - started;
    console.log(
      `500 groups × 10 partitions reset (shift-by, parallelism 50): ${wallMs} ms wall (${(wallMs / 500).toFixed(1)} ms per group); setup commits ${setupMs} ms`,
    );
    assert.equal(result.outcomes.length, 500);
    assert.ok(result.outcomes.every((o) => o.state === "Reset" && o.changed === 10));
    // Every offset, read back through kafkajs' admin.
    let checked = 0;
    next = 0;
    await Promise.all(
      Array.from({ length: 25 }, async () => {
        while (next < groups.length) {
          const g = groups[next++] as string;
          const actual = await committedOf(g, [topic]);
          const want = Object.fromEntries((expected.get(g) ?? []).map((o) => [`${o.topic}/${o.partition}`, o.offset]));
          assert.deepEqual(actual, want, g);
          checked += Object.keys(actual).length;
        }
      }),
    );
    assert.equal(checked, 5000);
  });
});
