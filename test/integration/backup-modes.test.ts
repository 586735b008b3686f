// Continuous mode with time-based segment rollover, progress and metrics on a caller's registry,
// the records/s limit, and no consumer group left behind by the backup.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Registry } from "prom-client";
import { type BackupProgress, runBackup } from "../../engine/backup/engine.ts";
import { BackupMetrics } from "../../engine/backup/metrics.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { commitGroupOffsets, describeGroup } from "../../engine/kafka/groups.ts";
import { runRestore } from "../../engine/restore/restore.ts";
import { minioStore, readBackup } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";

let kafka: KafkaClient;

before(() => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
});
after(async () => {
  await kafka.close();
});

async function newTopic(partitions: number): Promise<string> {
  const topic = `modes-${randomUUID().slice(0, 8)}`;
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  return topic;
}

async function send(topic: string, from: number, count: number): Promise<void> {
  const producer = kafka.kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: Array.from({ length: count }, (_, i) => ({ key: String(from + i), value: `v${from + i}` })),
  });
  await producer.disconnect();
}

test("continuous mode follows new records, rolls segments by time, and stops cleanly", { timeout: 180_000 }, async () => {
  const topic = await newTopic(2);
  await send(topic, 0, 100);
  const store = await minioStore();
  const registry = new Registry();
  const controller = new AbortController();
  const progress: BackupProgress[] = [];
  const admin = await kafka.admin();
  const groupsBefore = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
  const running = runBackup(kafka, store, {
    backupId: "continuous",
    selection: { topics: [topic] },
    mode: "continuous",
    codec: "zstd",
    segmentMaxIntervalMs: 500,
    manifestIntervalMs: 1000,
    progressIntervalMs: 200,
    leaseHolder: "continuous-test",
    metrics: new BackupMetrics(registry),
    signal: controller.signal,
    onProgress: (p) => progress.push(p),
  });
  // Whatever fails below, the continuous run is stopped: a run left going would hold the file open.
  const stopAnyway = setTimeout(() => controller.abort(), 120_000);
  stopAnyway.unref();
  try {
    for (let round = 1; round <= 3; round++) {
      await sleep(1200);
      await send(topic, round * 100, 100);
    }
  } catch (err) {
    controller.abort();
    throw err;
  }
  // While it runs, the manifest is kept current: the last burst shows up within seconds.
  let midway = 0;
  for (let i = 0; i < 150 && midway < 400; i++) {
    await sleep(200);
    midway = ((await readBackup(store, "continuous").catch(() => ({ records: new Map() }))).records.get(topic) ?? []).length;
  }
  if (midway !== 400) controller.abort();
  assert.equal(midway, 400);
  // Other tests create groups meanwhile: of the new ones, none may have anything on this topic.
  for (const { groupId } of (await admin.listGroups()).groups.filter((g) => !groupsBefore.has(g.groupId))) {
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.ok(
      offsets.every((t) => t.partitions.every((p) => Number(p.offset) < 0)),
      `group ${groupId} is on the backed-up topic`,
    );
  }
  controller.abort();
  const result = await running;
  assert.equal(result.cancelled, true);
  assert.equal(result.records, 400);
  // Four bursts 1.2 s apart, each sealed by the 500 ms interval: at least one segment each.
  assert.ok(result.segments >= 4, `${result.segments} segments`);
  const { manifest, records } = await readBackup(store, "continuous");
  assert.deepEqual(
    (records.get(topic) ?? []).map((r) => Number(Buffer.from(r.key ?? "", "base64").toString())).sort((a, b) => a - b),
    Array.from({ length: 400 }, (_, i) => i),
  );
  assert.equal(
    manifest.topics[0]?.partitions.reduce((n, p) => n + (p.nextOffset ?? 0), 0),
    400,
  );
  const last = progress.at(-1);
  assert.equal(last?.records, 400);
  assert.equal(last?.lag, 0);
  assert.equal(last?.etaSeconds, undefined);
  const metrics = await registry.getSingleMetricAsString("kafka_backup_records_total");
  assert.match(metrics, new RegExp(`kafka_backup_records_total\\{backup_id="continuous",topic="${topic}"\\} 400`));
  assert.match(
    await registry.getSingleMetricAsString("kafka_backup_storage_write_latency_seconds"),
    /_count\{backup_id="continuous"\} \d+/,
  );
});

test("the records/s limit holds the backup back", { timeout: 180_000 }, async () => {
  const topic = await newTopic(1);
  await send(topic, 0, 3000);
  const store = await minioStore();
  const started = Date.now();
  const progress: BackupProgress[] = [];
  // A client of its own: nothing left over from the continuous run above can hold it up.
  const own = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  after(() => own.close());
  const result = await runBackup(own, store, {
    backupId: "limited",
    selection: { topics: [topic] },
    mode: "snapshot",
    codec: "none",
    recordsPerSec: 1000,
    leaseHolder: "t",
    progressIntervalMs: 300,
    onProgress: (p) => progress.push(p),
  });
  const seconds = (Date.now() - started) / 1000;
  assert.equal(result.records, 3000);
  // A burst of one second's worth, then 1,000/s: at least 2 s for 3,000 records.
  assert.ok(seconds >= 1.8, `took only ${seconds}s`);
  assert.ok(
    progress.some((p) => p.percent !== undefined && p.percent > 0 && p.percent < 100 && p.etaSeconds !== undefined),
    JSON.stringify(progress),
  );
});

test("backups and restores over SSL with a client certificate and over SASL_SSL with SCRAM-SHA-512, Secrets as the CRD names them", {
  timeout: 180_000,
}, async () => {
  const { readFileSync } = await import("node:fs");
  const { resolveKafkaCluster } = await import("../../engine/kafka/spec.ts");
  const topic = await newTopic(1);
  await send(topic, 0, 250);
  const secrets: Record<string, Record<string, string>> = {
    "my-user": {
      "user.crt": readFileSync(stackEnv("KAFKA_CLIENT_CERT"), "utf8"),
      "user.key": readFileSync(stackEnv("KAFKA_CLIENT_KEY"), "utf8"),
    },
    "cluster-ca": { "ca.crt": readFileSync(stackEnv("KAFKA_CA_CERT"), "utf8") },
    "scram-user": { username: stackEnv("KAFKA_SCRAM_USERNAME"), password: stackEnv("KAFKA_SCRAM_PASSWORD") },
  };
  const read = async ({ secretName, key }: { secretName: string; key: string }) => secrets[secretName]?.[key] ?? "";
  const clusters = {
    SSL: await resolveKafkaCluster(
      {
        bootstrapServers: stackEnv("KAFKA_SSL_BOOTSTRAP_SERVERS").split(","),
        securityProtocol: "SSL",
        tlsSecret: { name: "my-user", certKey: "user.crt", keyKey: "user.key" },
        caSecret: { name: "cluster-ca" },
      },
      read,
    ),
    SASL_SSL: await resolveKafkaCluster(
      {
        bootstrapServers: stackEnv("KAFKA_SASL_SSL_BOOTSTRAP_SERVERS").split(","),
        securityProtocol: "SASL_SSL",
        caSecret: { name: "cluster-ca" },
        // The Rust operator's YAML spelling is accepted too.
        saslSecret: { name: "scram-user", mechanism: "SCRAM-SHA512" },
      },
      read,
    ),
  };
  for (const [protocol, cluster] of Object.entries(clusters)) {
    const client = new KafkaClient(cluster);
    try {
      const store = await minioStore();
      const result = await runBackup(client, store, {
        backupId: `secure-${protocol}`,
        selection: { topics: [topic] },
        mode: "snapshot",
        codec: "zstd",
        leaseHolder: "t",
      });
      assert.equal(result.records, 250, protocol);
      const { records } = await readBackup(store, `secure-${protocol}`);
      assert.equal(records.get(topic)?.length, 250, protocol);
      // And back: an idempotent restore and a group commit over the same listener.
      const target = `${topic}-${protocol.toLowerCase().replace("_", "-")}`;
      const restored = await runRestore(client, store, {
        backupId: `secure-${protocol}`,
        restoreId: "secure",
        selection: { topicMapping: { [topic]: target } },
        createTopics: true,
      });
      assert.equal(restored.records, 250, protocol);
      assert.deepEqual(
        (await client.endOffsets(target)).map((p) => p.high),
        [250],
        protocol,
      );
      await commitGroupOffsets(client, `secure-${protocol}`, [{ topic: target, partition: 0, offset: 100 }]);
      assert.equal((await describeGroup(client, `secure-${protocol}`)).members, 0);
    } finally {
      await client.close();
    }
  }
});
