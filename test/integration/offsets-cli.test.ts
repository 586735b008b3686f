// `kafka-backup offsets ...` as a user runs it: show, snapshot to a file, reset (dry run, then for
// real with the snapshot file), roll back from the file, verified.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { commitGroupOffsets } from "../../engine/kafka/groups.ts";
import { repoRoot } from "../stack/config.ts";
import { stackEnv } from "../support/stack-env.ts";

const dir = mkdtempSync(join(tmpdir(), "kbo-offsets-cli-"));
let kafka: KafkaClient;
const topic = `ocli-${randomUUID().slice(0, 8)}`;
const groups = [`ocli-a-${randomUUID().slice(0, 6)}`, `ocli-b-${randomUUID().slice(0, 6)}`];

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [join(repoRoot, "engine/cli/main.ts"), ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function committed(groupId: string): Promise<number[]> {
  const [t] = await (await kafka.admin()).fetchOffsets({ groupId, topics: [topic] });
  return (t?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
}

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
before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  await leadersSettled(topic);
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % 2, value: `v${i}` })) });
  await producer.disconnect();
  for (const g of groups)
    await commitGroupOffsets(kafka, g, [
      { topic, partition: 0, offset: 7 },
      { topic, partition: 1, offset: 9 },
    ]);
});
after(async () => {
  await kafka.close();
});

describe("kafka-backup offsets", () => {
  test("show, snapshot, reset and rollback", async () => {
    const cluster = { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") };
    const resetFile = join(dir, "reset.yaml");
    writeFileSync(
      resetFile,
      stringify({
        apiVersion: "kafka.oso.sh/v1alpha1",
        kind: "KafkaOffsetReset",
        metadata: { name: "cli" },
        spec: { kafkaCluster: cluster, consumerGroups: groups, topics: [topic], resetStrategy: "to-latest" },
      }),
    );
    const show = cli(["offsets", "show", "-c", resetFile, "--json"]);
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout) as Array<{ groupId: string; partitions: Array<{ offset: number; lag: number }> }>;
    assert.deepEqual(
      shown.map((g) => [g.groupId, g.partitions.map((p) => [p.offset, p.lag])]),
      groups.map((g) => [
        g,
        [
          [7, 13],
          [9, 11],
        ],
      ]),
    );

    const dry = cli(["offsets", "reset", "-c", resetFile, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /7 -> 20/);
    assert.deepEqual(await committed(groups[0] as string), [7, 9]);

    const noSnapshot = cli(["offsets", "reset", "-c", resetFile]);
    assert.equal(noSnapshot.code, 2);
    assert.match(noSnapshot.stderr, /--snapshot-file/);

    const snapshotFile = join(dir, "before.json");
    const reset = cli(["offsets", "reset", "-c", resetFile, "--snapshot-file", snapshotFile, "--json"]);
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal((JSON.parse(reset.stdout) as { phase: string }).phase, "Completed");
    for (const g of groups) assert.deepEqual(await committed(g), [20, 20]);
    const snap = JSON.parse(readFileSync(snapshotFile, "utf8")) as { groups: Array<{ offsets: unknown[] }> };
    assert.equal(snap.groups.length, 2);

    const explicit = cli([
      "offsets",
      "snapshot",
      "-c",
      resetFile,
      "--groups",
      groups[0] as string,
      "--out",
      join(dir, "s.json"),
      "--json",
    ]);
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.equal((JSON.parse(explicit.stdout) as { partitions: number }).partitions, 2);

    const rollbackFile = join(dir, "rollback.yaml");
    writeFileSync(
      rollbackFile,
      stringify({
        spec: { kafkaCluster: cluster, snapshotRef: { name: "before", path: snapshotFile }, verifyAfterRollback: true },
      }),
    );
    const rollback = cli(["offsets", "rollback", "-c", rollbackFile]);
    assert.equal(rollback.code, 0, rollback.stdout + rollback.stderr);
    assert.match(rollback.stdout, /verification: all 2 groups match the snapshot/);
    for (const g of groups) assert.deepEqual(await committed(g), [7, 9]);
  });
});
