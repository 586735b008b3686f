// The `kafka-backup` CLI as a user runs it: backup to PVC-style storage (a local folder), list,
// describe, a consumer-group snapshot, and its exit codes for bad input and a locked backup set.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Lease } from "../../engine/backup/lease.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { silentLogger } from "../../engine/log.ts";
import { openStorage } from "../../engine/storage/open.ts";
import { repoRoot } from "../stack/config.ts";
import { stackEnv } from "../support/stack-env.ts";

const dir = mkdtempSync(join(tmpdir(), "kbo-cli-"));
// The claim's volume, as it would be mounted in the pod.
mkdirSync(join(dir, "pvcs", "backups"), { recursive: true });
const topic = `cli-${randomUUID().slice(0, 8)}`;
const group = `billing-${randomUUID().slice(0, 8)}`;
let kafka: KafkaClient;

function writeSpec(name: string, spec: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

const goodSpec = () => ({
  kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
  topics: [topic],
  storage: { storageType: "pvc", pvc: { claimName: "backups", subPath: "cli" } },
  compression: "zstd",
  consumerGroupSnapshot: true,
});

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [join(repoRoot, "engine/cli/main.ts"), ...args, "--pvc-root", join(dir, "pvcs")], {
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 300 }, (_, i) => ({ partition: i % 2, value: `record ${i}` })) });
  await producer.disconnect();
  await admin.setOffsets({
    groupId: group,
    topic,
    partitions: [
      { partition: 0, offset: "42" },
      { partition: 1, offset: "7" },
    ],
  });
});

after(async () => {
  await kafka.close();
});

describe("kafka-backup CLI", () => {
  test("backup, list and describe a backup set in PVC storage, with the consumer groups' offsets", () => {
    const spec = writeSpec("good.json", goodSpec());
    const backup = cli(["backup", "-c", spec, "--backup-id", "cli-1", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    const result = JSON.parse(backup.stdout) as { records: number; partitions: number };
    assert.equal(result.records, 300);
    assert.equal(result.partitions, 2);

    const list = cli(["list", "-c", spec, "--json"]);
    assert.equal(list.code, 0, list.stderr);
    const sets = JSON.parse(list.stdout) as Array<{ backupId: string; records: number; writer: string }>;
    assert.deepEqual(
      sets.map((s) => [s.backupId, s.records, s.writer]),
      [["cli-1", 300, "kafka-backup-operator"]],
    );

    const described = cli(["describe", "cli-1", "-c", spec]);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, new RegExp(`topic ${topic}: 2 partitions`));
    assert.match(described.stdout, /0: offsets 0\.\.149, 150 records, 1 segments, resumes at 150/);
  });

  test("the consumer-group snapshot holds the group's committed offsets", async () => {
    const store = await openStorage({ storageType: "pvc", pvc: { claimName: "backups", subPath: "cli" } }, async () => "", {
      pvcMountRoot: join(dir, "pvcs"),
    });
    const snapshot = JSON.parse((await store.getBuffer("cli-1/consumer-groups-snapshot.json")).body.toString()) as {
      groups: Array<{ group_id: string; offsets: Record<string, Record<string, number>> }>;
    };
    assert.deepEqual(
      snapshot.groups.find((g) => g.group_id === group),
      { group_id: group, offsets: { [topic]: { "0": 42, "1": 7 } } },
    );
  });

  test("bad input exits 2 with the field named; a locked set exits 3", async () => {
    const badServer = writeSpec("bad.json", { ...goodSpec(), kafkaCluster: { bootstrapServers: ["no-port-here"] } });
    const bad = cli(["backup", "-c", badServer]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /kafkaCluster\.bootstrapServers\[0\]: "no-port-here" is not host:port/);

    const badProtocol = writeSpec("bad-protocol.json", {
      ...goodSpec(),
      kafkaCluster: { bootstrapServers: ["a:9092"], securityProtocol: "TLS" },
    });
    const protocol = cli(["backup", "-c", badProtocol]);
    assert.equal(protocol.code, 2);
    assert.match(protocol.stderr, /kafkaCluster\.securityProtocol: unknown protocol "TLS"/);

    const badStorage = writeSpec("bad-storage.json", {
      ...goodSpec(),
      storage: { storageType: "pvc", pvc: { claimName: "Bad_Name" } },
    });
    const storage = cli(["backup", "-c", badStorage]);
    assert.equal(storage.code, 2);
    assert.match(storage.stderr, /pvc\.claimName/);

    const store = await openStorage({ storageType: "pvc", pvc: { claimName: "backups", subPath: "cli" } }, async () => "", {
      pvcMountRoot: join(dir, "pvcs"),
    });
    const lease = await Lease.acquire(store, "cli-locked", "someone-else", 60_000, silentLogger);
    try {
      const locked = cli(["backup", "-c", writeSpec("good2.json", goodSpec()), "--backup-id", "cli-locked"]);
      assert.equal(locked.code, 3, locked.stderr);
      assert.match(locked.stderr, /backup set cli-locked is being written by someone-else/);
    } finally {
      await lease.release();
    }
  });
});
