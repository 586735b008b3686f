// The KafkaBackup and KafkaRestore controllers SIGKILLed at random moments, 10 times each, and
// started again as the kubelet restarts a killed container (same pod name): the backup and the
// restore each end Completed with exact data — every record once, at its offset, in order.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { durableOffsets, type JavaRecord, javaDump, minioStore, readBackup } from "../support/backup.ts";
import { apply, minioSecret, s3Storage, topicWith } from "../support/e2e.ts";
import { applyCrds, createNamespace, getObject, type RunningController, startController, waitFor } from "../support/kube.ts";
import { stackEnv } from "../support/stack-env.ts";

const kills = 10;
let kafka: KafkaClient;
let running: RunningController | undefined;

before(async () => {
  applyCrds();
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
});
after(async () => {
  await running?.stop("SIGKILL");
  await kafka.close();
});

const phase = (kind: string, namespace: string, name: string) =>
  getObject<{ status?: { phase?: string; message?: string } }>(kind, namespace, name).status;
const identity = (r: JavaRecord) => `${r.partition}/${r.offset}/${r.key}/${r.value}`;

/**
 * Starts the controller, waits until it has made durable progress (`progress()` grew), lets it
 * work a random while more, SIGKILLs it — each kill proven mid-write: progress above where the
 * run started and below `total` at the moment of the kill; `kills` times; then lets it finish.
 */
async function killRepeatedly(
  entry: string,
  namespace: string,
  kind: string,
  name: string,
  progress: () => Promise<number>,
  total: number,
): Promise<{ kills: number; atKills: number[]; phase?: string; message?: string }> {
  const env = { WATCH_NAMESPACES: namespace, LEADER_ELECTION_NAMESPACE: namespace, POD_NAME: `${kind}-0` };
  let done = 0;
  const atKills: number[] = [];
  for (let i = 0; i < kills; i++) {
    running = await startController(entry, env);
    const before = await progress();
    let now = before;
    for (let t = 0; t < 300 && now <= before; t++) {
      await sleep(100);
      now = await progress();
    }
    await sleep(Math.random() * 1000);
    const atKill = await progress();
    const s = phase(kind, namespace, name);
    await running.stop("SIGKILL");
    if (s?.phase === "Completed" || s?.phase === "Failed") break;
    assert.ok(atKill > before && atKill < total, `${kind} kill ${i + 1} mid-write: ${before} → ${atKill} of ${total}`);
    atKills.push(atKill);
    done++;
  }
  running = await startController(entry, env);
  const final = await waitFor(
    `${kind} ${name} to finish`,
    () => {
      const s = phase(kind, namespace, name);
      return s?.phase === "Completed" || s?.phase === "Failed" ? s : undefined;
    },
    300_000,
  );
  await running.stop();
  return { kills: done, atKills, ...final };
}

test("backup and restore controllers SIGKILLed 10 times each at random moments: exact data", async () => {
  const namespace = createNamespace("fault-kills");
  const topic = await topicWith(kafka, 4, 25_000, 100);
  minioSecret(namespace);
  const prefix = `fault-kills-${namespace}`;
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaBackup",
    metadata: { name: "killed" },
    spec: {
      kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
      topics: [topic],
      storage: s3Storage(prefix),
      segmentMaxRecords: 1000,
      rateLimiting: { recordsPerSec: 2000 },
    },
  });
  // Durable backup progress: the offsets the partitions' checkpoints (one per segment) cover.
  const store = await minioStore(prefix);
  const backedUp = () =>
    durableOffsets(
      store,
      getObject<{ status?: { backupId?: string } }>("kafkabackup", namespace, "killed").status?.backupId,
      topic,
      4,
    );
  const backup = await killRepeatedly("controllers/backup.ts", namespace, "kafkabackup", "killed", backedUp, 100_000);
  assert.equal(backup.phase, "Completed", backup.message);
  const backupId = getObject<{ status?: { backupId?: string } }>("kafkabackup", namespace, "killed").status?.backupId as string;
  const stored = (await readBackup(store, backupId)).records.get(topic) ?? [];
  const source = javaDump(topic);
  assert.deepEqual(stored.map(identity).sort(), source.map(identity).sort());
  console.log(
    `backup controller: ${backup.kills} SIGKILLs, each mid-write (${backup.atKills.join(", ")} of 100000 offsets durable at the kills); ${stored.length} records checked, duplicates 0, lost 0`,
  );

  const target = `${topic}-restored`;
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaRestore",
    metadata: { name: "killed" },
    spec: {
      backupRef: { name: "killed" },
      kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
      topics: [topic],
      topicMapping: { [topic]: target },
      createTopics: true,
      produceBatchSize: 200,
      rateLimiting: { recordsPerSec: 2000 },
    },
  });
  // Restore progress: what the target holds (a batch is in Kafka once acknowledged).
  const restoredSoFar = async () => {
    const admin = await kafka.admin();
    // Never asks for the target before it exists (kafkajs would keep its metadata in error a while).
    if (!(await admin.listTopics()).includes(target)) return 0;
    return await admin
      .fetchTopicOffsets(target)
      .then((ps) => ps.reduce((n, p) => n + Number(p.high), 0))
      .catch(() => 0);
  };
  const restore = await killRepeatedly("controllers/restore.ts", namespace, "kafkarestore", "killed", restoredSoFar, 100_000);
  assert.equal(restore.phase, "Completed", restore.message);
  const byOffset = (a: JavaRecord, b: JavaRecord) => a.partition - b.partition || a.offset - b.offset;
  const restored = javaDump(target).sort(byOffset);
  assert.deepEqual(restored.map(identity), source.sort(byOffset).map(identity));
  console.log(
    `restore controller: ${restore.kills} SIGKILLs, each mid-write (${restore.atKills.join(", ")} of 100000 records in the target at the kills); ${restored.length} records checked, duplicates 0, lost 0`,
  );
  assert.ok(backup.kills + restore.kills >= 20, `only ${backup.kills + restore.kills} kills landed mid-run`);
});
