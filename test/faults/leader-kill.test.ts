// A Kafka cluster of 3 brokers of its own (KRaft) and a topic with replication factor 3 and
// min.insync.replicas 2. The broker leading every partition is SIGKILLed in the middle of a
// backup, and the broker leading most partitions of the restore's new topic (the active KRaft
// controller when it leads as many) in the middle of the restore: the clients find the new
// leaders and each run ends with exact data (every record once, at its offset, in order),
// compared with the Java consumer.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runBackup } from "../../engine/backup/engine.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import type { Logger } from "../../engine/log.ts";
import { runRestore } from "../../engine/restore/restore.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { type JavaRecord, javaDump, minioStore, readBackup } from "../support/backup.ts";
import { topicWith } from "../support/e2e.ts";
import { type KafkaCluster, kafkaCluster } from "../support/faults.ts";
import { captureLogs } from "../support/logs.ts";

const partitions = 6;
const perPartition = 10_000;
const records = partitions * perPartition;

let cluster: KafkaCluster | undefined;
let kafka: KafkaClient | undefined;
let store: StorageBackend;
let topic: string;
/** The broker leading every partition of `topic`: not the active controller, so the kill is a leader's alone. */
let leader: number;
/** What the Java consumer reads from `topic`, by partition and offset. */
let source: JavaRecord[] = [];

before(async () => {
  const started = Date.now();
  cluster = await kafkaCluster("leader-kill", 3);
  kafka = new KafkaClient({ bootstrapServers: cluster.bootstrapServers });
  const { brokers } = await (await kafka.admin()).describeCluster();
  assert.equal(brokers.length, 3);
  const controller = cluster.activeController();
  leader = brokers.map((b) => b.nodeId).find((id) => id !== controller) ?? 1;
  const others = brokers.map((b) => b.nodeId).filter((id) => id !== leader);
  topic = await topicWith(kafka, partitions, perPartition, 200, {
    // The leader first in every replica list: it is each partition's preferred leader.
    replicaAssignment: Array.from({ length: partitions }, (_, partition) => ({
      partition,
      replicas: [leader, ...(partition % 2 ? others : [...others].reverse())],
    })),
    configEntries: [{ name: "min.insync.replicas", value: "2" }],
  });
  store = await minioStore(`fault-leader-${randomUUID().slice(0, 8)}`);
  console.log(`3 brokers up and ${records} records written in ${((Date.now() - started) / 1000).toFixed(1)}s`);
});
after(async () => {
  await kafka?.close();
  await cluster?.destroy();
});

const identity = (r: JavaRecord) => `${r.partition}/${r.offset}/${r.key}/${r.value}`;
const byOffset = (a: JavaRecord, b: JavaRecord) => a.partition - b.partition || a.offset - b.offset;

/** The cluster and a client of it, once `before` has started them. */
function ready(): { client: KafkaClient; nodes: KafkaCluster } {
  assert.ok(kafka && cluster, "the 3-broker cluster is up");
  return { client: kafka, nodes: cluster };
}

/** Records seen more than once, and records of `expected` never seen. */
function exactness(actual: JavaRecord[], expected: JavaRecord[]): { duplicates: number; lost: number } {
  const seen = new Set(actual.map(identity));
  return {
    duplicates: actual.length - seen.size,
    lost: expected.filter((r) => !seen.has(identity(r))).length,
  };
}

/**
 * Starts a run with a logger keeping its warnings, SIGKILLs the node `victim` names once the run
 * has done a tenth of the records, and waits for the run to end.
 */
async function killMidRun<R>(
  start: (log: Logger, progress: (records: number) => void) => Promise<R>,
  victim: () => Promise<number>,
): Promise<{ result: R; node: number; doneAtKill: number; secondsAfter: number; warnings: string }> {
  const { nodes } = ready();
  const logs = captureLogs("warn");
  let done = 0;
  let ended = false;
  const run = start(logs.logger, (records) => {
    done = records;
  });
  run.then(
    () => {
      ended = true;
    },
    () => {
      ended = true;
    },
  );
  while (done < records / 10) {
    assert.ok(!ended, "the run ended before the fault could be injected");
    await sleep(50);
  }
  const doneAtKill = done;
  const node = await victim();
  const killed = Date.now();
  await nodes.kill(node);
  const result = await run;
  return { result, node, doneAtKill, secondsAfter: (Date.now() - killed) / 1000, warnings: logs.text() };
}

/** Warning lines matching `pattern` in what a run logged. */
const count = (text: string, pattern: RegExp) => text.split("\n").filter((line) => pattern.test(line)).length;

/** Partition leaders of a topic, fresh from the cluster. */
async function leadersOf(client: KafkaClient, name: string): Promise<number[]> {
  return [...((await client.leaders([name], true)).get(name)?.values() ?? [])];
}

test("a backup rides out a SIGKILL of the broker leading every partition", async () => {
  const { client, nodes } = ready();
  assert.deepEqual(await leadersOf(client, topic), Array(partitions).fill(leader));
  const controller = nodes.activeController();
  const { result, doneAtKill, secondsAfter, warnings } = await killMidRun(
    (log, progress) =>
      runBackup(client, store, {
        log,
        backupId: "leader-kill",
        selection: { topics: [topic] },
        mode: "snapshot",
        codec: "lz4",
        segmentMaxRecords: 2000,
        recordsPerSec: 4000,
        leaseHolder: "fault",
        progressIntervalMs: 100,
        onProgress: (p) => progress(p.records),
      }),
    async () => leader,
  );
  const retries = count(warnings, /; retrying"/);
  console.log(
    `leader of every partition (node ${leader}; active controller node ${controller}) SIGKILLed after ${doneAtKill} of ${records} records; backup done ${secondsAfter.toFixed(1)}s later, after ${retries} retries`,
  );
  assert.ok(doneAtKill < records, "the kill landed mid-backup");
  assert.ok(retries > 0, "the backup met the dead leader and retried");
  assert.equal(result.records, records);
  const moved = await leadersOf(client, topic);
  assert.ok(!moved.includes(leader) && !moved.includes(-1), `every partition has a new leader: ${moved.join(",")}`);
  // The victim boots again while the backup is checked: the restore's new topic of replication
  // factor 3 needs three brokers.
  const back = nodes.startStopped();
  back.catch(() => {});

  const backedUp = (await readBackup(store, "leader-kill")).records.get(topic) ?? [];
  source = javaDump(topic, nodes.bootstrapServers.join(",")).sort(byOffset);
  assert.equal(source.length, records);
  const { duplicates, lost } = exactness(backedUp, source);
  assert.deepEqual(backedUp.map(identity).sort(), source.map(identity).sort());
  console.log(`leader kill: backup ${backedUp.length} records checked, duplicates ${duplicates}, lost ${lost}`);
  await back;
});

test("a restore into a new RF-3 topic rides out a SIGKILL of the broker leading most of its partitions", async () => {
  const { client, nodes } = ready();
  assert.ok(source.length, "the backup test ran");
  const target = `${topic}-restored`;
  const controller = nodes.activeController();
  let led = (_: number) => 0;
  const { result, node, doneAtKill, secondsAfter, warnings } = await killMidRun(
    (log, progress) =>
      runRestore(client, store, {
        log,
        backupId: "leader-kill",
        restoreId: "leader-kill",
        selection: { topicMapping: { [topic]: target } },
        createTopics: true,
        batchRecords: 500,
        recordsPerSec: 4000,
        // Every partition in flight, so the victim's are being written when it dies.
        maxConcurrentPartitions: partitions,
        onProgress: (p) => progress(p.recordsRestored),
      }),
    async () => {
      const leaders = await leadersOf(client, target);
      led = (id) => leaders.filter((l) => l === id).length;
      // Of the brokers leading most partitions, the active controller when it is one: leaders
      // are then elected by a controller elected first.
      return [controller, ...[1, 2, 3].filter((id) => id !== controller)].reduce((a, b) => (led(b) > led(a) ? b : a));
    },
  );
  const resent = count(warnings, /produce failed; resending the same batch/);
  console.log(
    `node ${node} (leading ${led(node)} of ${partitions} partitions${node === controller ? ", the active controller" : ""}) SIGKILLed after ${doneAtKill} of ${records} records; restore done ${secondsAfter.toFixed(1)}s later, after ${resent} resent batches`,
  );
  assert.ok(doneAtKill < records, "the kill landed mid-restore");
  assert.ok(resent > 0, "the restore met the dead leader and resent");
  assert.equal(result.records, records);

  const admin = await client.admin();
  const { topics } = await admin.fetchTopicMetadata({ topics: [target] });
  assert.deepEqual(
    topics[0]?.partitions.map((p) => p.replicas.length),
    Array(partitions).fill(3),
  );
  const configs = await admin.describeConfigs({ resources: [{ type: 2, name: target }], includeSynonyms: false });
  const minIsr = configs.resources[0]?.configEntries.find((e) => e.configName === "min.insync.replicas");
  assert.equal(minIsr?.configValue, "2");

  const restoredRecords = javaDump(target, nodes.bootstrapServers.join(",")).sort(byOffset);
  const { duplicates, lost } = exactness(restoredRecords, source);
  assert.deepEqual(restoredRecords.map(identity), source.map(identity));
  console.log(`leader kill: restore ${restoredRecords.length} records checked, duplicates ${duplicates}, lost ${lost}`);
});
