// A topic deleted and created again under a KafkaBackup, through the controller: real
// kube-apiserver, Kafka and MinIO. A scheduled KafkaBackup whose previous set recorded another
// topic ID starts a new chain (a full set of the new topic) with the TopicRecreated condition and a
// Warning Event naming the topic; a continuous one ends its set cleanly with the old topic's
// records and goes on at once in a new set, instead of failing every 60 s.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { readSetManifest } from "../../engine/backupset/catalog.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { fetchTopicIds } from "../../engine/kafka/topic-ids.ts";
import { minioStore, readBackup } from "../support/backup.ts";
import { apply, events, minioSecret, produce, produceInBatches, recreateTopic, s3Storage, topicWith } from "../support/e2e.ts";
import { applyCrds, controllersForThisFile, createNamespace, getObject, kubectl, waitFor } from "../support/kube.ts";
import { stackEnv } from "../support/stack-env.ts";

interface Status {
  phase?: string;
  backupId?: string;
  chainId?: string;
  baseBackupId?: string;
  lastSuccessfulBackupId?: string;
  recordsProcessed?: number;
  message?: string;
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
}

let kafka: KafkaClient;
const start = controllersForThisFile();
const bootstrap = () => stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",");

before(async () => {
  applyCrds();
  kafka = new KafkaClient({ bootstrapServers: bootstrap() });
});
after(async () => {
  await kafka.close();
});

const controller = (namespace: string) => start("controllers/backup.ts", [namespace]);

const status = (namespace: string, name: string) => getObject<{ status?: Status }>("kafkabackup", namespace, name).status ?? {};
const condition = (namespace: string, name: string, type: string) =>
  status(namespace, name).conditions?.find((c) => c.type === type);
const topicId = async (topic: string) => (await fetchTopicIds(kafka, [topic])).ids.get(topic) as string;

/** Deletes the topic and creates it again (one partition) with `n` records valued `new-<i>`. */
async function recreate(topic: string, n: number): Promise<void> {
  await recreateTopic(kafka, topic, 1);
  await produce(
    kafka,
    topic,
    Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `new-${i}` })),
  );
}

const recordsOf = (m: Awaited<ReturnType<typeof readSetManifest>>, topic: string) =>
  m.topics.find((t) => t.name === topic)?.partitions.reduce((n, p) => n + p.segments.reduce((k, s) => k + s.recordCount, 0), 0) ??
  0;

describe("a topic recreated under a KafkaBackup", () => {
  test("scheduled: the next set starts a new chain, with the TopicRecreated condition and Event", async () => {
    const namespace = createNamespace("kb-recreated-sched");
    minioSecret(namespace);
    const topic = await topicWith(kafka, 1, 20);
    const prefix = `e2e-recreated-${randomUUID().slice(0, 8)}`;
    await controller(namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "ticks" },
      spec: {
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [topic],
        storage: s3Storage(prefix),
        schedule: "*/3 * * * * *",
        chain: { fullBackupEvery: 20 },
      },
    });
    const succeeded = () => events(namespace, "ticks").filter((e) => e.reason === "BackupSucceeded");
    await waitFor("a complete set", () => (succeeded().length >= 1 ? true : undefined), 90_000);
    kubectl(["patch", "kafkabackup", "ticks", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}']);
    await waitFor("Suspended", () => (status(namespace, "ticks").phase === "Suspended" ? true : undefined));
    const before = succeeded().length;
    const oldId = await topicId(topic);
    // More records than the old topic had: offsets alone cannot tell it is another topic.
    await recreate(topic, 50);
    const newId = await topicId(topic);
    assert.notEqual(newId, oldId);
    kubectl(["patch", "kafkabackup", "ticks", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":false}}']);

    const event = await waitFor(
      "the TopicRecreated Event",
      () => events(namespace, "ticks").find((e) => e.reason === "TopicRecreated"),
      90_000,
    );
    assert.equal(event.type, "Warning");
    assert.match(event.message, new RegExp(`topic ${topic} \\(topic ID ${oldId} → ${newId}\\) deleted and created again`));
    const newSet = /backup set (\S+) starts a new chain/.exec(event.message)?.[1];
    assert.ok(newSet, event.message);
    const cond = condition(namespace, "ticks", "TopicRecreated");
    assert.equal(cond?.status, "True");
    assert.equal(cond?.reason, "TopicRecreated");
    assert.equal(cond?.message, event.message);

    await waitFor(
      `set ${newSet} to complete`,
      () => (succeeded().some((e) => e.message.startsWith(`backup ${newSet}:`)) ? true : undefined),
      90_000,
    );
    assert.ok(succeeded().length > before);
    const store = await minioStore(prefix);
    const manifest = await readSetManifest(store, newSet);
    assert.equal(manifest.run?.state, "complete");
    assert.equal(manifest.chain?.sequence, 0, "a full set");
    assert.equal(manifest.chain?.base, undefined);
    assert.match(manifest.chain?.fullReason ?? "", /recreated since/);
    assert.equal(manifest.topics[0]?.topicId, newId);
    assert.equal(recordsOf(manifest, topic), 50, "every record of the new topic");
    // Later ticks build on the new chain.
    await waitFor(
      "an incremental set on the new chain",
      () => {
        const s = status(namespace, "ticks");
        return s.chainId === newSet && s.baseBackupId ? s : undefined;
      },
      90_000,
    );
    kubectl(["patch", "kafkabackup", "ticks", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}']);
  });

  test("continuous: the set ends cleanly with the old topic's records and the backup goes on in a new set", async () => {
    const namespace = createNamespace("kb-recreated-cont");
    minioSecret(namespace);
    const topic = await topicWith(kafka, 1, 30);
    const prefix = `e2e-recreated-${randomUUID().slice(0, 8)}`;
    await controller(namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "stream" },
      spec: {
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [topic],
        storage: s3Storage(prefix),
        continuous: true,
        segmentMaxIntervalMs: 500,
      },
    });
    await waitFor("30 records", () => ((status(namespace, "stream").recordsProcessed ?? 0) >= 30 ? true : undefined), 90_000);
    const first = status(namespace, "stream").backupId as string;
    const oldId = await topicId(topic);
    await recreate(topic, 40);
    const newId = await topicId(topic);

    const event = await waitFor(
      "the TopicRecreated Event",
      () => events(namespace, "stream").find((e) => e.reason === "TopicRecreated"),
      120_000,
    );
    assert.equal(event.type, "Warning");
    assert.match(event.message, new RegExp(`topic ${topic} \\(topic ID ${oldId} → ${newId}\\) deleted and created again`));
    assert.match(event.message, new RegExp(`continuous backup set ${first} ended`));
    const cond = condition(namespace, "stream", "TopicRecreated");
    assert.equal(cond?.status, "True");
    assert.equal(cond?.reason, "TopicRecreated");

    // The backup goes on at once, in a new set that takes the new topic from its log start.
    const store = await minioStore(prefix);
    const next = await waitFor(
      "a new set running with the new topic's records",
      async () => {
        const s = status(namespace, "stream");
        if (s.phase !== "Running" || !s.backupId || s.backupId === first) return undefined;
        const m = await readSetManifest(store, s.backupId).catch(() => undefined);
        return m && recordsOf(m, topic) === 40 ? s : undefined;
      },
      120_000,
    );
    assert.equal(next.lastSuccessfulBackupId, first);
    assert.match(event.message, new RegExp(`a new set ${next.backupId}`));
    assert.ok(
      events(namespace, "stream").some((e) => e.reason === "BackupStarted" && e.message.includes(next.backupId as string)),
    );
    // The ended set: complete, naming why, with exactly the old topic's 30 records.
    const { manifest, records } = await readBackup(store, first);
    assert.equal(manifest.run?.state, "complete");
    assert.match(manifest.run?.endReason ?? "", new RegExp(`${topic} \\(topic ID ${oldId} → ${newId}\\)`));
    assert.equal(manifest.topics[0]?.topicId, oldId);
    assert.deepEqual(
      (records.get(topic) ?? []).map((r) => Buffer.from(r.key ?? "", "base64").toString()),
      Array.from({ length: 30 }, (_, i) => `p0-${i}`),
    );
    // Never a failure: the only Warning is the recreation.
    assert.deepEqual(
      events(namespace, "stream")
        .filter((e) => e.type === "Warning")
        .map((e) => e.reason),
      ["TopicRecreated"],
    );
    kubectl(["patch", "kafkabackup", "stream", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}']);
    await waitFor("Suspended", () => (status(namespace, "stream").phase === "Suspended" ? true : undefined));
  });

  test("continuous: a topic deleted and not created again (named, or matched by a pattern) ends in the set; TopicDeleted condition and Event; the backup goes on, also after a restart", async () => {
    const namespace = createNamespace("kb-deleted-cont");
    minioSecret(namespace);
    const tag = randomUUID().slice(0, 8);
    const names = {
      namedGone: `e2e-del-${tag}-a`,
      namedKept: `e2e-del-${tag}-b`,
      patGone: `e2e-pat-${tag}-c`,
      patKept: `e2e-pat-${tag}-d`,
    };
    const admin = await kafka.admin();
    await admin.createTopics({
      topics: Object.values(names).map((topic) => ({ topic, numPartitions: 2 })),
      waitForLeaders: true,
    });
    const send = (topic: string, n: number, prefix: string) =>
      produce(
        kafka,
        topic,
        Array.from({ length: n }, (_, i) => ({ partition: i % 2, key: `${prefix}-${i}`, value: `${prefix}-${i}` })),
      );
    for (const t of Object.values(names)) await send(t, 20, "old");
    const prefix = `e2e-deleted-${tag}`;
    const backups = {
      named: { topics: [names.namedGone, names.namedKept], gone: names.namedGone, kept: names.namedKept },
      pattern: { includeTopics: [`e2e-pat-${tag}-*`], gone: names.patGone, kept: names.patKept },
    };
    let controllerNow = await controller(namespace);
    for (const [name, b] of Object.entries(backups)) {
      apply(namespace, {
        apiVersion: "kafka.oso.sh/v1alpha1",
        kind: "KafkaBackup",
        metadata: { name },
        spec: {
          kafkaCluster: { bootstrapServers: bootstrap() },
          ...("topics" in b ? { topics: b.topics } : { includeTopics: b.includeTopics }),
          storage: s3Storage(`${prefix}-${name}`),
          continuous: true,
          segmentMaxIntervalMs: 500,
        },
      });
    }
    const stores = { named: await minioStore(`${prefix}-named`), pattern: await minioStore(`${prefix}-pattern`) };
    const stored = async (name: keyof typeof backups, topic: string) => {
      const id = status(namespace, name).backupId;
      const m = id ? await readSetManifest(stores[name], id).catch(() => undefined) : undefined;
      return m ? recordsOf(m, topic) : 0;
    };
    for (const [name, b] of Object.entries(backups) as Array<[keyof typeof backups, (typeof backups)["named"]]>) {
      await waitFor(
        `${name}: 40 records stored`,
        async () => ((await stored(name, b.gone)) === 20 && (await stored(name, b.kept)) === 20 ? true : undefined),
        90_000,
      );
    }
    const sets = {
      named: status(namespace, "named").backupId as string,
      pattern: status(namespace, "pattern").backupId as string,
    };
    const ids = { named: await topicId(names.namedGone), pattern: await topicId(names.patGone) };
    const deletedAt = Date.now();
    await admin.deleteTopics({ topics: [names.namedGone, names.patGone] });

    for (const [name, b] of Object.entries(backups) as Array<[keyof typeof backups, (typeof backups)["named"]]>) {
      const event = await waitFor(
        `${name}: the TopicDeleted Event`,
        () => events(namespace, name).find((e) => e.reason === "TopicDeleted"),
        120_000,
      );
      console.log(`${name}: TopicDeleted ${((Date.now() - deletedAt) / 1000).toFixed(1)} s after the deletion`);
      assert.equal(event.type, "Warning");
      assert.equal(
        event.message,
        `topic ${b.gone} (topic ID ${ids[name]}) deleted and not created again: backup set ${sets[name]} keeps what was stored of it, and the backup goes on with the other topics`,
      );
      const cond = condition(namespace, name, "TopicDeleted");
      assert.equal(cond?.status, "True");
      assert.equal(cond?.reason, "TopicDeleted");
      assert.equal(cond?.message, event.message);
    }
    // The backup goes on in the same set with the other topic, and a restarted controller resumes it.
    for (const t of [names.namedKept, names.patKept]) await send(t, 10, "late");
    for (const [name, b] of Object.entries(backups) as Array<[keyof typeof backups, (typeof backups)["named"]]>) {
      await waitFor(`${name}: the late records`, async () => ((await stored(name, b.kept)) === 30 ? true : undefined), 90_000);
    }
    await controllerNow.stop();
    controllerNow = await controller(namespace);
    for (const t of [names.namedKept, names.patKept]) await send(t, 10, "resumed");
    for (const [name, b] of Object.entries(backups) as Array<[keyof typeof backups, (typeof backups)["named"]]>) {
      await waitFor(
        `${name}: the records after the restart`,
        async () => ((await stored(name, b.kept)) === 40 ? true : undefined),
        90_000,
      );
      const s = status(namespace, name);
      assert.equal(s.phase, "Running");
      assert.equal(s.backupId, sets[name], "the same set goes on");
      const { manifest, records } = await readBackup(stores[name], sets[name]);
      const gone = manifest.topics.find((t) => t.name === b.gone);
      assert.equal(gone?.topicId, ids[name]);
      assert.ok((gone?.deletedAt ?? 0) >= deletedAt, "the manifest says when the topic was found deleted");
      assert.deepEqual(
        (records.get(b.gone) ?? []).map((r) => Buffer.from(r.value ?? "", "base64").toString()).sort(),
        Array.from({ length: 20 }, (_, i) => `old-${i}`).sort(),
        "exactly what was stored of the deleted topic",
      );
      assert.equal(manifest.topics.find((t) => t.name === b.kept)?.deletedAt, undefined);
      // Never a failure: the only Warnings are the deletion's (one per run: the resumed run says it again).
      const warnings = events(namespace, name).filter((e) => e.type === "Warning");
      assert.deepEqual([...new Set(warnings.map((e) => e.reason))], ["TopicDeleted"], JSON.stringify(warnings));
      assert.ok(!events(namespace, name).some((e) => e.reason === "BackupSucceeded"), "a continuous backup never completes");
    }
    for (const name of Object.keys(backups))
      kubectl(["patch", "kafkabackup", name, "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}']);
  });

  test("one-shot: a topic recreated mid-run fails the run with reason TopicRecreated, a Ready=False condition and a Warning Event naming the topic and both IDs", async () => {
    // A sharded run's workers fail for good with the same reason (integration/sharded-workers),
    // which the controller turns into the same reason, condition and Event (docs/scale-out.md).
    const namespace = createNamespace("kb-recreated-oneshot");
    minioSecret(namespace);
    // 4 partitions of 3,000 records of 1 KiB in batches of 100 at 300 records/s: the run takes
    // 40 s and holds at most ~2 MiB fetched ahead under the 16 MiB budget, so it fetches again
    // after the recreation.
    const topic = await topicWith(kafka, 4, 0);
    await produceInBatches(kafka, topic, { partitions: 4, perPartition: 3000, valueBytes: 1024, batch: 100, tag: "old" });
    const prefix = `e2e-recreated-oneshot-${randomUUID().slice(0, 8)}`;
    await controller(namespace);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "once" },
      spec: {
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [topic],
        storage: s3Storage(prefix),
        segmentMaxRecords: 100,
        memoryBudgetMiB: 16,
        rateLimiting: { recordsPerSec: 300 },
      },
    });
    await waitFor("the run under way", () => ((status(namespace, "once").recordsProcessed ?? 0) > 0 ? true : undefined), 90_000);
    const oldId = await topicId(topic);
    await recreateTopic(kafka, topic, 4);
    await produceInBatches(kafka, topic, { partitions: 4, perPartition: 80, valueBytes: 1, batch: 80, tag: "new" });
    const newId = await topicId(topic);
    assert.notEqual(newId, oldId);
    const named = new RegExp(`topic ${topic} \\(topic ID ${oldId} → ${newId}\\) deleted and created again`);
    const s = await waitFor(
      "Failed",
      () => (status(namespace, "once").phase === "Failed" ? status(namespace, "once") : undefined),
      90_000,
    );
    assert.ok((s.recordsProcessed ?? 0) < 12_000, `the recreation landed mid-run (${s.recordsProcessed} records)`);
    const ready = condition(namespace, "once", "Ready");
    assert.equal(ready?.status, "False");
    assert.equal(ready?.reason, "TopicRecreated", ready?.message);
    assert.match(ready?.message ?? "", named);
    const warning = events(namespace, "once").find((e) => e.type === "Warning" && e.reason === "TopicRecreated");
    assert.match(warning?.message ?? "", named);
  });
});
