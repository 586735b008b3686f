// Topics that change under a backup, on the real broker and MinIO: a continuous backup takes in
// topics that come to match its patterns and partitions added to its topics, from their log start,
// in the same set; a topic deleted and created again (a new topic ID) ends a continuous set cleanly
// with exactly the old topic's records, and the next set backs up the new topic; a scheduled set
// whose base recorded another topic ID starts a new chain; a snapshot set resumed after its topic
// was recreated fails with reason TopicRecreated instead of mixing the two topics' offsets; a topic
// deleted and not created again (named, or matched by a pattern) ends in a continuous set with what
// was stored, reported once, not retried, while the run goes on with the others, also when resumed;
// a snapshot run whose topic is deleted fails with reason TopicDeleted, not after minutes of retries.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { planOptions, prepareChainPlan } from "../../engine/backup/chain.ts";
import { type BackupResult, runBackup } from "../../engine/backup/engine.ts";
import { checkpointKey } from "../../engine/backup/layout.ts";
import type { DeletedTopic } from "../../engine/backup/topic-changes.ts";
import { readManifest, readSetManifest } from "../../engine/backupset/catalog.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { fetchTopicIds } from "../../engine/kafka/topic-ids.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { minioStore, readBackup } from "../support/backup.ts";
import { createTopicRetrying, deleteTopicAndWait } from "../support/e2e.ts";
import { captureLogs } from "../support/logs.ts";
import { stackEnv } from "../support/stack-env.ts";

const run = randomUUID().slice(0, 8);
const bootstrap = () => stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",");
let kafka: KafkaClient;
let store: StorageBackend;

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: bootstrap() });
  store = await minioStore(`topic-changes-${run}`);
});
after(async () => {
  await kafka.close();
});

const createTopic = (topic: string, partitions: number) => createTopicRetrying(kafka, topic, partitions);
const deleteTopic = (topic: string) => deleteTopicAndWait(kafka, topic);

/** `n` records per listed partition, values `${tag}-p${partition}-${i}`; a producer of its own (a recreated topic's metadata is new). */
async function produce(topic: string, partitions: number[], n: number, tag: string): Promise<void> {
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await producer.send({
          topic,
          acks: -1,
          messages: partitions.flatMap((partition) =>
            Array.from({ length: n }, (_, i) => ({ partition, key: `k${i}`, value: `${tag}-p${partition}-${i}` })),
          ),
        });
        return;
      } catch (err) {
        // Leaders of a partition added a moment ago may still be elected.
        if (attempt >= 10) throw err;
        await sleep(500);
      }
    }
  } finally {
    await producer.disconnect();
  }
}

const topicId = async (topic: string) => (await fetchTopicIds(kafka, [topic])).ids.get(topic) as string;

/** Records per topic in a set's manifest, by the segments it lists. */
async function counts(backupId: string): Promise<Record<string, number>> {
  const m = await readSetManifest(store, backupId).catch(() => undefined);
  const out: Record<string, number> = {};
  for (const t of m?.topics ?? [])
    out[t.name] = t.partitions.reduce((n, p) => n + p.segments.reduce((k, s) => k + s.recordCount, 0), 0);
  return out;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** A continuous run that is stopped whatever the test does, so it never outlives the file. */
function continuous(
  backupId: string,
  selection: Parameters<typeof runBackup>[2]["selection"],
  client = kafka,
  extra: Partial<Parameters<typeof runBackup>[2]> = {},
) {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(new Error("the test's deadline")), 240_000);
  timer.unref();
  const running: Promise<BackupResult> = runBackup(client, store, {
    backupId,
    selection,
    mode: "continuous",
    codec: "zstd",
    segmentMaxIntervalMs: 300,
    manifestIntervalMs: 500,
    topicRefreshIntervalMs: 1000,
    leaseHolder: "topic-changes-test",
    signal: stop.signal,
    ...extra,
  }).finally(() => clearTimeout(timer));
  running.catch(() => {});
  return { running, stop };
}

describe("topics that change under a backup", () => {
  test("a continuous backup takes in new matching topics and added partitions from their log start, in the same set", async () => {
    const a = `tc-${run}-grow-a`;
    const b = `tc-${run}-grow-b`;
    const other = `tcx-${run}-other`;
    await createTopic(a, 1);
    await createTopic(other, 1);
    await produce(a, [0], 30, "a");
    await produce(other, [0], 5, "other");
    const { running, stop } = continuous("grow", { include: [`tc-${run}-grow-*`] });
    try {
      await waitFor("topic a backed up", async () => ((await counts("grow"))[a] === 30 ? true : undefined));
      // Partitions added to a topic of the run, written to before the backup looks again.
      const admin = await kafka.admin();
      await admin.createPartitions({ topicPartitions: [{ topic: a, count: 3 }] });
      await produce(a, [1, 2], 20, "a");
      // A topic that comes to match the pattern, and one that does not.
      await createTopic(b, 2);
      await produce(b, [0, 1], 20, "b");
      await produce(other, [0], 5, "other");
      await waitFor(
        "the new partitions and the new topic in the manifest",
        async () => {
          const c = await counts("grow");
          return c[a] === 70 && c[b] === 40 ? c : undefined;
        },
        90_000,
      );
      // Still following them: records that arrive now are taken in too.
      await produce(a, [2], 5, "a-late");
      await produce(b, [1], 5, "b-late");
      await waitFor("the late records", async () => {
        const c = await counts("grow");
        return c[a] === 75 && c[b] === 45 ? c : undefined;
      });
    } finally {
      stop.abort(new Error("test done"));
    }
    const result = await running;
    assert.equal(result.cancelled, true);
    assert.equal(result.records, 120);
    assert.equal(result.partitions, 5);
    assert.deepEqual(result.topics.sort(), [a, b]);

    const { manifest, records } = await readBackup(store, "grow");
    assert.deepEqual(manifest.topics.map((t) => t.name).sort(), [a, b], "the non-matching topic stays out");
    const ta = manifest.topics.find((t) => t.name === a);
    const tb = manifest.topics.find((t) => t.name === b);
    assert.equal(ta?.partitionCount, 3);
    assert.equal(tb?.partitionCount, 2);
    assert.equal(tb?.topicId, await topicId(b), "the new topic's ID is recorded");
    assert.deepEqual(ta?.partitions.map((p) => [p.partition, p.nextOffset]).sort(), [
      [0, 30],
      [1, 20],
      [2, 25],
    ]);
    assert.deepEqual(tb?.partitions.map((p) => [p.partition, p.nextOffset]).sort(), [
      [0, 20],
      [1, 25],
    ]);
    // From their log start: the first record of every added partition is there, and each record once.
    const values = (t: string) => (records.get(t) ?? []).map((r) => Buffer.from(r.value ?? "", "base64").toString());
    for (const v of ["a-p1-0", "a-p2-0", "a-p2-19", "a-late-p2-4", "b-p0-0", "b-p1-0", "b-late-p1-4"])
      assert.ok(values(a).includes(v) || values(b).includes(v), v);
    assert.equal(new Set(values(a)).size, 75);
    assert.equal(new Set(values(b)).size, 45);
    // Each added partition has its own checkpoint, so a restart resumes it.
    for (const [t, p, next] of [
      [a, 1, 20],
      [a, 2, 25],
      [b, 0, 20],
      [b, 1, 25],
    ] as const) {
      const cp = JSON.parse((await store.getBuffer(checkpointKey("grow", t, p))).body.toString()) as { nextOffset: number };
      assert.equal(cp.nextOffset, next, `${t}/${p}`);
    }
  });

  test("a topic recreated under a continuous backup ends the set cleanly with the old topic's records; the next set takes the new topic", async () => {
    const c = `tc-${run}-recreated`;
    const d = `tc-${run}-steady`;
    await createTopic(c, 1);
    await createTopic(d, 1);
    await produce(c, [0], 50, "old");
    await produce(d, [0], 10, "steady");
    const oldId = await topicId(c);
    // A client of its own, as a controller's run has: one that asked for a deleted topic keeps asking.
    const client = new KafkaClient({ bootstrapServers: bootstrap() });
    const { running, stop } = continuous("recreate-1", { topics: [c, d] }, client);
    let result: BackupResult;
    let newId: string;
    try {
      await waitFor("both topics backed up", async () => {
        const n = await counts("recreate-1");
        return n[c] === 50 && n[d] === 10 ? true : undefined;
      });
      await deleteTopic(c);
      await createTopic(c, 1);
      // More records than the old topic had: read by name at offset 50, they would pass for its next ones.
      await produce(c, [0], 80, "new");
      newId = await topicId(c);
      assert.notEqual(newId, oldId);
      result = await Promise.race([
        running,
        sleep(90_000, undefined, { ref: false }).then(() => {
          throw new Error("the continuous run did not end after the topic was recreated");
        }),
      ]);
    } finally {
      stop.abort(new Error("test done"));
      await running.catch(() => {});
      await client.close();
    }
    assert.equal(result.cancelled, false, "ended by the recreation, not by the test");
    assert.deepEqual(result.recreatedTopics, [{ topic: c, previousTopicId: oldId, topicId: newId }]);
    const { manifest, records } = await readBackup(store, "recreate-1");
    assert.equal(manifest.run?.state, "complete");
    assert.match(manifest.run?.endReason ?? "", new RegExp(`${c} \\(topic ID ${oldId} → ${newId}\\) deleted and created again`));
    assert.equal(manifest.topics.find((t) => t.name === c)?.topicId, oldId, "the set names the topic it holds");
    const values = (t: string) => (records.get(t) ?? []).map((r) => Buffer.from(r.value ?? "", "base64").toString());
    assert.deepEqual(
      values(c),
      Array.from({ length: 50 }, (_, i) => `old-p0-${i}`),
      "exactly the old topic's records, none of the new one's",
    );
    assert.equal(values(d).length, 10);

    // Started again into the same set (a controller restart): it ends at once, still naming the topic.
    const again = new KafkaClient({ bootstrapServers: bootstrap() });
    try {
      const resumed = await runBackup(again, store, {
        backupId: "recreate-1",
        selection: { topics: [c, d] },
        mode: "continuous",
        codec: "zstd",
        leaseHolder: "topic-changes-test",
      });
      assert.equal(resumed.records, 0);
      assert.deepEqual(resumed.recreatedTopics, [{ topic: c, previousTopicId: oldId, topicId: newId }]);
    } finally {
      await again.close();
    }
    assert.equal((await counts("recreate-1"))[c], 50, "nothing of the new topic went into the ended set");

    // The next set takes the new topic from its log start.
    const next = continuous("recreate-2", { topics: [c, d] });
    try {
      await waitFor("the new topic in the next set", async () => {
        const n = await counts("recreate-2");
        return n[c] === 80 && n[d] === 10 ? true : undefined;
      });
    } finally {
      next.stop.abort(new Error("test done"));
    }
    const second = await next.running;
    assert.equal(second.records, 90);
    const newSet = await readBackup(store, "recreate-2");
    assert.equal(newSet.manifest.topics.find((t) => t.name === c)?.topicId, newId);
    assert.deepEqual(
      (newSet.records.get(c) ?? []).map((r) => Buffer.from(r.value ?? "", "base64").toString()),
      Array.from({ length: 80 }, (_, i) => `new-p0-${i}`),
    );
  });

  test("a topic gone when a continuous set resumes and created again while it runs ends the set; it never continues the old topic's checkpoint", async () => {
    const p = `tc-${run}-back-p`;
    const q = `tc-${run}-back-q`;
    await createTopic(p, 1);
    await createTopic(q, 1);
    await produce(p, [0], 10, "old");
    await produce(q, [0], 5, "q");
    const oldId = await topicId(p);
    const selection = { include: [`tc-${run}-back-*`] };
    const first = continuous("return-1", selection);
    try {
      await waitFor("both topics backed up", async () => {
        const n = await counts("return-1");
        return n[p] === 10 && n[q] === 5 ? true : undefined;
      });
    } finally {
      first.stop.abort(new Error("test done"));
    }
    assert.equal((await first.running).cancelled, true);
    await deleteTopic(p);

    // The set resumes without p (the pattern matches nothing of that name now) ...
    const client = new KafkaClient({ bootstrapServers: bootstrap() });
    const second = continuous("return-1", selection, client);
    let result: BackupResult;
    let newId: string;
    try {
      await produce(q, [0], 5, "q2");
      await waitFor("the resumed run going", async () => ((await counts("return-1"))[q] === 10 ? true : undefined));
      // ... and p comes back: a new topic, with more records than the set's checkpoint of the old one.
      await createTopic(p, 1);
      await produce(p, [0], 20, "new");
      newId = await topicId(p);
      result = await Promise.race([
        second.running,
        sleep(60_000, undefined, { ref: false }).then(() => {
          throw new Error("the continuous run did not end after the topic came back");
        }),
      ]);
    } finally {
      second.stop.abort(new Error("test done"));
      await second.running.catch(() => {});
      await client.close();
    }
    assert.equal(result.cancelled, false);
    assert.deepEqual(result.recreatedTopics, [{ topic: p, previousTopicId: oldId, topicId: newId }]);
    const { manifest, records } = await readBackup(store, "return-1");
    assert.equal(manifest.run?.state, "complete");
    assert.equal(manifest.topics.find((t) => t.name === p)?.topicId, oldId);
    assert.deepEqual(
      (records.get(p) ?? []).map((r) => Buffer.from(r.value ?? "", "base64").toString()),
      Array.from({ length: 10 }, (_, i) => `old-p0-${i}`),
      "the old topic's records only",
    );
    assert.equal((records.get(q) ?? []).length, 10);
  });

  test("a scheduled set whose base recorded another topic ID starts a new chain; a snapshot set resumed after a recreation fails", async () => {
    const e = `tc-${run}-scheduled`;
    await createTopic(e, 2);
    await produce(e, [0, 1], 20, "old");
    const owner = { namespace: "prod", name: "hourly", uid: `uid-${run}` };
    const tick = async (backupId: string) => {
      const plan = await prepareChainPlan(kafka, store, {
        backupId,
        owner,
        selection: { topics: [e] },
        policy: { fullBackupEvery: 7 },
      });
      const client = new KafkaClient({ bootstrapServers: bootstrap() });
      try {
        const result = await runBackup(client, store, {
          backupId,
          ...planOptions(plan),
          selection: { topics: [e] },
          mode: "snapshot",
          codec: "zstd",
          leaseHolder: "t",
        });
        return { plan, result };
      } finally {
        await client.close();
      }
    };
    const first = await tick("prod.hourly-1");
    assert.equal(first.result.records, 40);
    const oldId = await topicId(e);
    assert.equal((await readSetManifest(store, "prod.hourly-1")).topics[0]?.topicId, oldId);

    await deleteTopic(e);
    await createTopic(e, 2);
    // More records per partition than the base ended at: no end check can tell it is another topic.
    await produce(e, [0, 1], 30, "new");
    const newId = await topicId(e);
    const second = await tick("prod.hourly-2");
    assert.equal(second.plan.chain.sequence, 0, "a full set: a new chain");
    assert.equal(second.plan.chain.base, undefined);
    assert.match(
      second.plan.chain.fullReason ?? "",
      new RegExp(`recreated since prod.hourly-1: ${e} \\(topic ID ${oldId} → ${newId}\\)`),
    );
    assert.deepEqual(second.plan.recreatedTopics, [{ topic: e, previousTopicId: oldId, topicId: newId }]);
    assert.deepEqual(second.plan.startOffsets, {});
    assert.equal(second.result.records, 60, "every record of the new topic, from its log start");
    const view = await readManifest(store, "prod.hourly-2");
    assert.equal(
      view.topics[0]?.partitions.reduce((n, p) => n + p.segments.reduce((k, s) => k + s.recordCount, 0), 0),
      60,
      "read as a backup, the set is its own chain: nothing of the old topic's chain comes with it",
    );
    const { records } = await readBackup(store, "prod.hourly-2");
    assert.deepEqual(
      (records.get(e) ?? []).map((r) => Buffer.from(r.value ?? "", "base64").toString()).sort(),
      [0, 1].flatMap((p) => Array.from({ length: 30 }, (_, i) => `new-p${p}-${i}`)).sort(),
    );
    // The next tick builds on the new chain again.
    await produce(e, [0], 5, "more");
    const third = await tick("prod.hourly-3");
    assert.deepEqual(third.plan.chain, { id: "prod.hourly-2", sequence: 1, base: "prod.hourly-2" });
    assert.equal(third.result.records, 5);

    // A snapshot set started again after its topic was recreated: it fails, naming the topic.
    await deleteTopic(e);
    await createTopic(e, 2);
    await produce(e, [0, 1], 40, "third");
    const latestId = await topicId(e);
    const client = new KafkaClient({ bootstrapServers: bootstrap() });
    try {
      await assert.rejects(
        runBackup(client, store, {
          backupId: "prod.hourly-3",
          selection: { topics: [e] },
          mode: "snapshot",
          codec: "zstd",
          leaseHolder: "t",
        }),
        (err: Error & { reason?: string }) => {
          assert.equal(err.reason, "TopicRecreated");
          assert.match(err.message, new RegExp(`${e} \\(topic ID ${newId} → ${latestId}\\)`));
          return true;
        },
      );
    } finally {
      await client.close();
    }
    const untouched = await readSetManifest(store, "prod.hourly-3");
    assert.equal(untouched.topics[0]?.topicId, newId);
    assert.equal(
      untouched.topics[0]?.partitions.reduce((n, p) => n + p.segments.reduce((k, s) => k + s.recordCount, 0), 0),
      5,
    );
  });

  // Named in `topics` (a) and matched by a pattern (b): the same outcome.
  for (const [how, selectionOf] of [
    ["named in topics", (gone: string, kept: string) => ({ topics: [gone, kept] })],
    ["matched by a pattern", () => ({ include: [`tc-${run}-del-pat-*`] })],
  ] as const) {
    test(`a topic ${how} deleted and not created again: it ends in the continuous set with what was stored, reported once, never retried; the others go on, also after a resume`, async () => {
      const tag = how === "named in topics" ? "named" : "pat";
      const gone = `tc-${run}-del-${tag}-gone`;
      const kept = `tc-${run}-del-${tag}-kept`;
      await createTopic(gone, 2);
      await createTopic(kept, 1);
      await produce(gone, [0, 1], 15, "gone");
      await produce(kept, [0], 10, "kept");
      const goneId = await topicId(gone);
      const backupId = `deleted-${tag}`;
      const selection = selectionOf(gone, kept);
      const reports: DeletedTopic[][] = [];
      const logs = captureLogs("warn");
      const client = new KafkaClient({ bootstrapServers: bootstrap() });
      const first = continuous(backupId, selection, client, {
        log: logs.logger,
        onTopicsDeleted: (topics) => reports.push(topics),
      });
      let settled = false;
      void first.running.finally(() => {
        settled = true;
      });
      try {
        await waitFor("both topics backed up", async () => {
          const n = await counts(backupId);
          return n[gone] === 30 && n[kept] === 10 ? true : undefined;
        });
        const deletedFrom = Date.now();
        await deleteTopic(gone);
        const reported = await waitFor("the deletion reported", async () => reports[0], 60_000);
        console.log(`${how}: the deletion reported ${Date.now() - deletedFrom} ms after the topic was deleted`);
        assert.deepEqual(
          reported.map((t) => [t.topic, t.topicId]),
          [[gone, goneId]],
        );
        // The others go on: records that arrive now are taken in.
        await produce(kept, [0], 5, "kept-late");
        await waitFor("the kept topic's late records", async () => ((await counts(backupId))[kept] === 15 ? true : undefined));
        // Three re-listings later: not reported again, not fetched, looked up or retried again.
        const warned = logs
          .text()
          .split("\n")
          .filter((l) => l.includes(gone)).length;
        await sleep(3500);
        assert.equal(reports.length, 1, "reported once");
        const after = logs
          .text()
          .split("\n")
          .filter((l) => l.includes(gone));
        assert.equal(after.length, warned, `no retry of the deleted topic: ${after.slice(warned).join("\n")}`);
        assert.ok(
          !logs.text().includes("listing the selected topics again failed"),
          "the re-listing never failed on the deleted topic",
        );
        assert.equal(settled, false, "the run goes on");
      } finally {
        first.stop.abort(new Error("test done"));
      }
      const result = await first.running;
      await client.close();
      assert.equal(result.cancelled, true);
      assert.deepEqual(
        result.deletedTopics?.map((t) => t.topic),
        [gone],
      );
      const deletedAt = result.deletedTopics?.[0]?.deletedAt;
      const { manifest, records } = await readBackup(store, backupId);
      const entry = manifest.topics.find((t) => t.name === gone);
      assert.equal(entry?.topicId, goneId);
      assert.equal(entry?.deletedAt, deletedAt, "the manifest says when the topic was found deleted");
      assert.deepEqual(
        entry?.partitions.map((p) => [p.partition, p.nextOffset]),
        [
          [0, 15],
          [1, 15],
        ],
      );
      const values = (t: string) => (records.get(t) ?? []).map((r) => Buffer.from(r.value ?? "", "base64").toString()).sort();
      assert.deepEqual(values(gone), [0, 1].flatMap((p) => Array.from({ length: 15 }, (_, i) => `gone-p${p}-${i}`)).sort());
      assert.equal(values(kept).length, 15);
      assert.equal(manifest.topics.find((t) => t.name === kept)?.deletedAt, undefined);

      // Resumed into the same set (a controller restart): no TopicNotFound, the deletion reported
      // at the start, the kept topic followed, the deleted one kept as it was.
      const resumedReports: DeletedTopic[][] = [];
      const second = continuous(backupId, selection, kafka, { onTopicsDeleted: (topics) => resumedReports.push(topics) });
      try {
        await produce(kept, [0], 5, "kept-resumed");
        await waitFor("the resumed run's records", async () => ((await counts(backupId))[kept] === 20 ? true : undefined));
      } finally {
        second.stop.abort(new Error("test done"));
      }
      const resumed = await second.running;
      assert.equal(resumed.cancelled, true);
      assert.deepEqual(
        resumedReports.map((r) => r.map((t) => [t.topic, t.topicId, t.deletedAt])),
        [[[gone, goneId, deletedAt]]],
      );
      const again = await readBackup(store, backupId);
      assert.equal(again.manifest.topics.find((t) => t.name === gone)?.deletedAt, deletedAt);
      assert.deepEqual(
        (again.records.get(gone) ?? []).map((r) => Buffer.from(r.value ?? "", "base64").toString()).sort(),
        values(gone),
      );
      assert.equal((again.records.get(kept) ?? []).length, 20);
    });
  }

  test("every topic of a continuous set deleted: the run waits for topics instead of completing or failing", async () => {
    const only = `tc-${run}-del-only`;
    await createTopic(only, 1);
    await produce(only, [0], 12, "only");
    const client = new KafkaClient({ bootstrapServers: bootstrap() });
    const reports: DeletedTopic[][] = [];
    const { running, stop } = continuous("deleted-only", { topics: [only] }, client, {
      onTopicsDeleted: (topics) => reports.push(topics),
    });
    let settled = false;
    void running.finally(() => {
      settled = true;
    });
    try {
      await waitFor("the topic backed up", async () => ((await counts("deleted-only"))[only] === 12 ? true : undefined));
      await deleteTopic(only);
      await waitFor("the deletion reported", async () => reports[0], 60_000);
      await sleep(3000);
      assert.equal(settled, false, "the run neither completed nor failed");
    } finally {
      stop.abort(new Error("test done"));
    }
    const result = await running;
    await client.close();
    assert.equal(result.cancelled, true);
    assert.equal((await counts("deleted-only"))[only], 12);
  });

  test("a snapshot run whose topic is deleted under it fails with reason TopicDeleted once the topic stayed missing for a re-listing period", async () => {
    // Batches of 100 records of 400 bytes and a small memory budget: a Fetch carries ~600 records,
    // so the run fetches again after the deletion.
    const doomed = `tc-${run}-del-snapshot`;
    await createTopic(doomed, 1);
    const producer = kafka.kafka.producer({ idempotent: true });
    await producer.connect();
    for (let b = 0; b < 40; b++) {
      await producer.send({
        topic: doomed,
        acks: -1,
        messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${b * 100 + i}`, value: "v".repeat(400) })),
      });
    }
    await producer.disconnect();
    const client = new KafkaClient({ bootstrapServers: bootstrap() });
    let records = 0;
    const backup = runBackup(client, store, {
      backupId: "deleted-snapshot",
      selection: { topics: [doomed] },
      mode: "snapshot",
      codec: "zstd",
      segmentMaxRecords: 100,
      memoryBudgetBytes: 4 * 1024 * 1024,
      recordsPerSec: 400,
      // Deleted once missing for this long (30 s by default).
      topicRefreshIntervalMs: 1000,
      leaseHolder: "t",
      progressIntervalMs: 100,
      onProgress: (p) => {
        records = p.records;
      },
    });
    backup.catch(() => {});
    try {
      await waitFor("the run under way", async () => (records >= 400 ? true : undefined));
      const deletedAt = Date.now();
      await deleteTopic(doomed);
      await assert.rejects(backup, (err: Error & { reason?: string }) => {
        assert.equal(err.reason, "TopicDeleted", err.message);
        assert.match(err.message, new RegExp(`${doomed} \\(topic ID [^)]+\\) deleted while the set was written`));
        return true;
      });
      const seconds = (Date.now() - deletedAt) / 1000;
      console.log(`snapshot: failed ${seconds.toFixed(1)} s after the deletion, at ${records} of 4000 records`);
      assert.ok(records < 4000, "the deletion landed mid-run");
      // Before: its partitions were retried like an unreachable leader's, ~30 times, for minutes.
      assert.ok(seconds < 10, `failed ${seconds} s after the deletion, with a re-listing period of 1 s`);
    } finally {
      await client.close();
    }
  });

  test("a snapshot run whose partition is first fetched after its topic was recreated fails with TopicRecreated; nothing of the new topic is stored", async () => {
    // Partitions fetched one at a time, each whole in one response (small records): the first is
    // stored at 100 records/s while the topic is deleted and created again; the second is then
    // fetched for the first time, by name, from offset 0 — of the new topic, and without any error.
    // Only its end, below the one the run began with, tells.
    const t = `tc-${run}-first-fetch`;
    await createTopic(t, 2);
    await produce(t, [0, 1], 1000, "old");
    const client = new KafkaClient({ bootstrapServers: bootstrap() });
    // Bounded: before, the run read the new topic's records and waited for the old end for ever.
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(new Error("the test's deadline")), 60_000);
    let records = 0;
    const backup = runBackup(client, store, {
      backupId: "first-fetch",
      selection: { topics: [t] },
      mode: "snapshot",
      codec: "zstd",
      segmentMaxRecords: 100,
      recordsPerSec: 100,
      maxConcurrentPartitions: 1,
      leaseHolder: "t",
      progressIntervalMs: 100,
      onProgress: (p) => {
        records = p.records;
      },
      signal: stop.signal,
    });
    backup.catch(() => {});
    try {
      await waitFor("the first partition being stored", async () => (records > 0 ? true : undefined));
      const oldId = await topicId(t);
      await deleteTopic(t);
      await createTopic(t, 2);
      await produce(t, [0, 1], 80, "new");
      const newId = await topicId(t);
      assert.ok(records < 1000, `the first partition still being stored at the recreation (${records} records)`);
      await assert.rejects(backup, (err: Error & { reason?: string }) => {
        assert.equal(err.reason, "TopicRecreated", err.message);
        assert.match(err.message, new RegExp(`${t} \\(topic ID ${oldId} → ${newId}\\) deleted and created again`));
        return true;
      });
      const stored = (await readBackup(store, "first-fetch")).records.get(t) ?? [];
      const values = stored.map((r) => Buffer.from(r.value ?? "", "base64").toString());
      assert.deepEqual(
        values.filter((v) => v.startsWith("new-")),
        [],
        "no record of the new topic in the set",
      );
    } finally {
      clearTimeout(timer);
      await client.close();
    }
  });
});
