// Topic IDs through our own Metadata v10 request, against the real broker: the ID is the one
// Kafka's own kafka-topics tool prints; a backup records it in the manifest; a topic deleted and
// created again gets a new one; and a restore into the source cluster reports a source topic that
// was recreated or deleted since the backup (and still restores).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runBackup } from "../../engine/backup/engine.ts";
import { readManifest } from "../../engine/backupset/catalog.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { fetchTopicIds } from "../../engine/kafka/topic-ids.ts";
import { runRestore } from "../../engine/restore/restore.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { minioStore } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";

const run = randomUUID().slice(0, 8);
let kafka: KafkaClient;
let store: StorageBackend;

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  store = await minioStore(`topic-ids-${run}`);
});
after(async () => {
  await kafka.close();
});

/** The ID Kafka's own tool prints for the topic. */
function kafkaTopicsId(topic: string): string {
  const out = execFileSync(
    join(stackEnv("KAFKA_BIN"), "kafka-topics"),
    ["--bootstrap-server", stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",")[0] as string, "--describe", "--topic", topic],
    { encoding: "utf8" },
  );
  const id = /TopicId:\s*(\S+)/.exec(out)?.[1];
  assert.ok(id, out);
  return id;
}

async function createTopic(topic: string, records: number): Promise<void> {
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: Array.from({ length: records }, (_, i) => ({ value: `v${i}` })) });
  await producer.disconnect();
}

async function deleteTopic(topic: string): Promise<void> {
  const admin = await kafka.admin();
  await admin.deleteTopics({ topics: [topic] });
  for (let i = 0; i < 100 && (await admin.listTopics()).includes(topic); i++) await new Promise((r) => setTimeout(r, 100));
}

test("Metadata v10 gives each topic the ID kafka-topics prints, and the cluster id", async () => {
  const a = `ids-a-${run}`;
  const b = `ids-b-${run}`;
  await createTopic(a, 1);
  await createTopic(b, 1);
  const { ids, clusterId } = await fetchTopicIds(kafka, [a, b, `ids-missing-${run}`]);
  assert.equal(ids.get(a), kafkaTopicsId(a));
  assert.equal(ids.get(b), kafkaTopicsId(b));
  assert.notEqual(ids.get(a), ids.get(b));
  assert.equal(ids.has(`ids-missing-${run}`), false);
  assert.equal(clusterId, (await (await kafka.admin()).describeCluster()).clusterId);
});

test("the manifest records topic IDs; a restore into the source cluster reports a recreated or deleted source topic", async () => {
  const recreated = `ids-recreated-${run}`;
  const deleted = `ids-deleted-${run}`;
  const kept = `ids-kept-${run}`;
  for (const t of [recreated, deleted, kept]) await createTopic(t, 20);
  // Each run with a client of its own, as the CLI and controllers have: a client that has
  // asked for a topic keeps asking for it after it is deleted.
  const client = () => new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  const backupClient = client();
  await runBackup(backupClient, store, {
    backupId: "ids",
    selection: { topics: [recreated, deleted, kept] },
    mode: "snapshot",
    codec: "zstd",
    leaseHolder: "t",
  });
  await backupClient.close();
  const manifest = await readManifest(store, "ids");
  const recorded = new Map(manifest.topics.map((t) => [t.name, t.topicId]));
  for (const t of [recreated, deleted, kept]) assert.equal(recorded.get(t), kafkaTopicsId(t), t);

  const before = kafkaTopicsId(recreated);
  await deleteTopic(recreated);
  await createTopic(recreated, 5);
  const after = kafkaTopicsId(recreated);
  assert.notEqual(after, before);
  await deleteTopic(deleted);

  const restoreClient = client();
  const result = await runRestore(restoreClient, store, {
    backupId: "ids",
    restoreId: "ids",
    selection: {
      topicMapping: { [recreated]: `${recreated}-copy`, [deleted]: `${deleted}-copy`, [kept]: `${kept}-copy` },
    },
    createTopics: true,
  });
  await restoreClient.close();
  assert.equal(result.records, 60);
  assert.deepEqual(
    (result.sourceTopics ?? []).sort((x, y) => x.topic.localeCompare(y.topic)),
    [
      { topic: deleted, change: "Deleted", backupTopicId: recorded.get(deleted) },
      { topic: recreated, change: "Recreated", backupTopicId: before, currentTopicId: after },
    ],
  );
});
