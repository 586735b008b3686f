// Chains, owners and complete sets through the controllers: real kube-apiserver, Kafka and MinIO.
// Two same-named scheduled KafkaBackups in two namespaces share one prefix: their ticks never pick
// the same set, their sets chain (each holds only what arrived since the one before), retention on
// one leaves the other's sets intact, and a restore by KafkaBackup name reads a whole chain. A
// failed one-shot KafkaBackup leaves nothing listed, is never chosen by a restore, and is retried
// by the annotation and by its retry policy.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runBackup } from "../../engine/backup/engine.ts";
import { listBackupSets, readSetManifest } from "../../engine/backupset/catalog.ts";
import { readSets } from "../../engine/backupset/sets.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { minioStore } from "../support/backup.ts";
import { apply, events, minioSecret, s3Storage, topicWith } from "../support/e2e.ts";
import { applyCrds, controllersForThisFile, createNamespace, getObject, kubectl, waitFor } from "../support/kube.ts";
import { stackEnv } from "../support/stack-env.ts";

interface Status {
  phase?: string;
  backupId?: string;
  chainId?: string;
  baseBackupId?: string;
  retryCount?: number;
  message?: string;
  recordsRestored?: number;
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
}

let kafka: KafkaClient;
const controller = controllersForThisFile();
const bootstrap = () => stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",");

before(async () => {
  applyCrds();
  kafka = new KafkaClient({ bootstrapServers: bootstrap() });
});
after(async () => {
  await kafka.close();
});

const status = (kind: string, namespace: string, name: string) =>
  getObject<{ status?: Status }>(kind, namespace, name).status ?? {};
/** The sets of a KafkaBackup's runs that completed, from its BackupSucceeded Events. */
const completedSets = (namespace: string, name: string) =>
  events(namespace, name)
    .filter((e) => e.reason === "BackupSucceeded")
    .map((e) => /^backup (\S+):/.exec(e.message)?.[1] ?? "");

async function produce(topic: string, n: number): Promise<void> {
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `more-${i}` })) });
  await producer.disconnect();
}

describe("backup chains and owners through the controllers", () => {
  test("two same-named KafkaBackups in two namespaces on one prefix: own sets, chains, retention on one only, restore of a chain by name", async () => {
    const prod = createNamespace("kb-chain-a");
    const dev = createNamespace("kb-chain-b");
    const topic = await topicWith(kafka, 2, 300);
    const prefix = `e2e-chains-${randomUUID().slice(0, 8)}`;
    for (const ns of [prod, dev]) minioSecret(ns);
    await controller("controllers/backup.ts", [prod, dev]);
    const spec = (extra: Record<string, unknown>) => ({
      kafkaCluster: { bootstrapServers: bootstrap() },
      topics: [topic],
      storage: s3Storage(prefix),
      schedule: "*/4 * * * * *",
      chain: { fullBackupEvery: 3 },
      ...extra,
    });
    apply(prod, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "nightly" },
      spec: spec({ retention: { enabled: true, keepLast: 1 } }),
    });
    apply(dev, { apiVersion: "kafka.oso.sh/v1alpha1", kind: "KafkaBackup", metadata: { name: "nightly" }, spec: spec({}) });

    // New records between ticks, so incremental sets have something to hold.
    const feeding = (async () => {
      for (let i = 0; i < 8; i++) {
        await sleep(3000);
        await produce(topic, 20);
      }
    })();
    const succeeded = (ns: string) => events(ns, "nightly").filter((e) => e.reason === "BackupSucceeded").length;
    await waitFor(
      "7 complete sets in each namespace",
      () => (succeeded(prod) >= 7 && succeeded(dev) >= 7 ? true : undefined),
      180_000,
    );
    await feeding;
    // Two more of dev's sets: the second surely started after the last records arrived.
    const fed = succeeded(dev);
    await waitFor("two more sets", () => (succeeded(dev) >= fed + 2 ? true : undefined), 60_000);
    for (const ns of [prod, dev])
      kubectl(["patch", "kafkabackup", "nightly", "-n", ns, "--type=merge", "-p", '{"spec":{"suspend":true}}']);
    for (const ns of [prod, dev])
      await waitFor(`${ns} Suspended`, () => (status("kafkabackup", ns, "nightly").phase === "Suspended" ? true : undefined));

    const store = await minioStore(prefix);
    const sets = await readSets(store);
    const devStarted = completedSets(dev, "nightly");
    const prodStarted = completedSets(prod, "nightly");
    // Set ids carry the namespace: the two never wrote into one set.
    assert.ok(devStarted.every((id) => id.startsWith(`${dev}.nightly-`)));
    assert.ok(prodStarted.every((id) => id.startsWith(`${prod}.nightly-`)));
    // Retention on prod deleted prod's older chains and nothing of dev's.
    const listed = new Set(sets.map((s) => s.backupId));
    const devComplete = sets.filter((s) => s.manifest.owner?.namespace === dev && s.manifest.run?.state === "complete");
    assert.ok(devComplete.length >= 7, `dev's complete sets are all there: ${devComplete.length}`);
    for (const id of devStarted) assert.ok(listed.has(id), `dev's set ${id} was deleted`);
    assert.ok(events(prod, "nightly").some((e) => e.reason === "RetentionApplied"));
    assert.ok(
      prodStarted.some((id) => !listed.has(id)),
      "retention deleted some of prod's sets",
    );
    // Whole chains only: every prod set that is left has its whole chain.
    const prodSets = sets.filter((s) => s.manifest.owner?.namespace === prod);
    for (const s of prodSets) {
      const base = s.manifest.chain?.base;
      if (base) assert.ok(listed.has(base), `${s.backupId} lost its base ${base}`);
    }
    // Chains: dev has incremental sets built on the one before, and full sets every 3.
    const devChains = new Map<string, number>();
    for (const s of devComplete) {
      const id = s.manifest.chain?.id ?? "";
      devChains.set(id, (devChains.get(id) ?? 0) + 1);
    }
    assert.ok(
      [...devChains.values()].every((n) => n <= 3),
      `chains of at most fullBackupEvery sets: ${JSON.stringify([...devChains])}`,
    );
    assert.ok(
      devComplete.some((s) => s.manifest.chain?.base),
      "incremental sets",
    );
    const dst = status("kafkabackup", dev, "nightly");
    assert.ok(dst.chainId);

    // Restore by KafkaBackup name: the newest complete set of dev/nightly, read with its chain.
    await controller("controllers/restore.ts", [dev]);
    apply(dev, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaRestore",
      metadata: { name: "from-chain" },
      spec: {
        backupRef: { name: "nightly" },
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [topic],
        topicMapping: { [topic]: `${topic}-copy` },
        createTopics: true,
      },
    });
    const restored = await waitFor(
      "the restore to finish",
      () => {
        const s = status("kafkarestore", dev, "from-chain");
        return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
      },
      120_000,
    );
    assert.equal(restored.phase, "Completed", restored.message);
    const admin = await kafka.admin();
    const count = async (t: string) => (await admin.fetchTopicOffsets(t)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    assert.equal(await count(`${topic}-copy`), await count(topic), "the whole chain was restored, not just its newest set");
  });

  test("a failed one-shot KafkaBackup leaves nothing listed, is not chosen by a restore, and is retried", async () => {
    const namespace = createNamespace("kb-retry");
    minioSecret(namespace);
    const prefix = `e2e-retry-${randomUUID().slice(0, 8)}`;
    const missing = `e2e-later-${randomUUID().slice(0, 8)}`;
    await controller("controllers/backup.ts", [namespace]);
    await controller("controllers/restore.ts", [namespace]);
    const backup = (name: string, extra: Record<string, unknown>) =>
      apply(namespace, {
        apiVersion: "kafka.oso.sh/v1alpha1",
        kind: "KafkaBackup",
        metadata: { name },
        spec: { kafkaCluster: { bootstrapServers: bootstrap() }, topics: [missing], storage: s3Storage(prefix), ...extra },
      });
    backup("by-hand", {});
    backup("by-policy", { retryPolicy: { maxRetries: 30, backoffSeconds: 2, maxBackoffSeconds: 4 } });
    const failed = await waitFor("by-hand to fail", () => {
      const s = status("kafkabackup", namespace, "by-hand");
      return s.phase === "Failed" ? s : undefined;
    });
    const store = await minioStore(prefix);
    assert.deepEqual(await listBackupSets(store), [], "a run that stored nothing leaves no set");
    // A restore naming it finds no complete set: it waits, it does not take the failed one.
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaRestore",
      metadata: { name: "too-early" },
      spec: {
        backupRef: { name: "by-hand" },
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [missing],
        topicMapping: { [missing]: `${missing}-copy` },
        createTopics: true,
      },
    });
    const waiting = await waitFor("Ready=False", () =>
      status("kafkarestore", namespace, "too-early").conditions?.find((c) => c.type === "Ready" && c.status === "False"),
    );
    assert.equal(waiting.reason, "BackupNotReady");

    // The topic appears: the policy retries by itself; the annotation retries the other.
    const admin = await kafka.admin();
    await admin.createTopics({ topics: [{ topic: missing, numPartitions: 1 }], waitForLeaders: true });
    await produce(missing, 50);
    const byPolicy = await waitFor(
      "by-policy to complete on a retry",
      () => {
        const s = status("kafkabackup", namespace, "by-policy");
        return s.phase === "Completed" ? s : undefined;
      },
      90_000,
    );
    assert.ok((byPolicy.retryCount ?? 0) >= 1);
    await sleep(2000);
    assert.equal(status("kafkabackup", namespace, "by-hand").phase, "Failed", "no retry without the annotation");
    kubectl(["annotate", "kafkabackup", "by-hand", "-n", namespace, "kafka.oso.sh/retry=1", "--overwrite"]);
    const byHand = await waitFor("by-hand to complete", () => {
      const s = status("kafkabackup", namespace, "by-hand");
      return s.phase === "Completed" ? s : undefined;
    });
    assert.equal(byHand.backupId, failed.backupId, "the retry resumes the failed run's set");
    const restored = await waitFor(
      "the restore to finish",
      () => {
        const s = status("kafkarestore", namespace, "too-early");
        return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
      },
      90_000,
    );
    assert.equal(restored.phase, "Completed", restored.message);
  });

  test("a restore that names an incomplete set explicitly restores what it holds, with BackupSetComplete=False and a Warning Event", async () => {
    const namespace = createNamespace("kb-explicit");
    minioSecret(namespace);
    const prefix = `e2e-explicit-${randomUUID().slice(0, 8)}`;
    const topic = await topicWith(kafka, 1, 0);
    await produce(topic, 400);
    await controller("controllers/restore.ts", [namespace]);
    // A run cancelled midway: its manifest says so and lists what it stored.
    const store = await minioStore(prefix);
    const stop = new AbortController();
    let records = 0;
    const run = runBackup(kafka, store, {
      backupId: "explicit-1",
      selection: { topics: [topic] },
      mode: "snapshot",
      codec: "zstd",
      segmentMaxRecords: 50,
      recordsPerSec: 100,
      leaseHolder: "e2e",
      progressIntervalMs: 100,
      onProgress: (p) => {
        records = p.records;
      },
      signal: stop.signal,
    });
    await waitFor("100 records stored", () => (records >= 100 ? true : undefined));
    stop.abort(new Error("cancelled by the test"));
    assert.equal((await run).cancelled, true);
    const manifest = await readSetManifest(store, "explicit-1");
    assert.equal(manifest.run?.state, "cancelled");
    const held = manifest.topics[0]?.partitions[0]?.segments.reduce((n, seg) => n + seg.recordCount, 0) ?? 0;
    assert.ok(held > 0, "the cancelled set holds records");
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaRestore",
      metadata: { name: "named" },
      spec: {
        backupRef: { storage: s3Storage(prefix), backupId: "explicit-1" },
        kafkaCluster: { bootstrapServers: bootstrap() },
        topics: [topic],
        topicMapping: { [topic]: `${topic}-copy` },
        createTopics: true,
      },
    });
    const done = await waitFor(
      "the restore to finish",
      () => {
        const s = status("kafkarestore", namespace, "named");
        return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
      },
      90_000,
    );
    assert.equal(done.phase, "Completed", done.message);
    assert.equal(done.recordsRestored, held);
    const warned = done.conditions?.find((c) => c.type === "BackupSetComplete");
    assert.equal(warned?.status, "False");
    assert.equal(warned?.reason, "IncompleteBackupSet");
    assert.match(warned?.message ?? "", /explicit-1.*cancelled/);
    const event = events(namespace, "named").find((e) => e.reason === "IncompleteBackupSet");
    assert.equal(event?.type, "Warning");
  });
});
