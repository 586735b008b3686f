// Retention on every backend (GCS included): real backup sets are written, then the oldest are
// deleted whole, never the current or the newest; a dry run deletes nothing. Two same-named
// KafkaBackups in two namespaces share the prefix: retention and deletion of one leave the
// other's sets alone (ownership is the manifest's, not the name's).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runBackup } from "../../engine/backup/engine.ts";
import { applyRetention, deleteOwnedSets } from "../../engine/backup/retention.ts";
import { listBackupSets } from "../../engine/backupset/catalog.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { createStorageBackend } from "../../engine/storage/open.ts";
import { stackEnv } from "../support/stack-env.ts";

const run = randomUUID().slice(0, 8);
let kafka: KafkaClient;
let topic: string;

const backends: Record<string, () => Promise<StorageBackend>> = {
  filesystem: () => {
    const root = join(tmpdir(), `kbo-retention-${run}`);
    mkdirSync(join(root, "claim"), { recursive: true });
    return createStorageBackend({ storageType: "pvc", pvc: { claimName: "claim", subPath: "sets" } }, {}, { pvcMountRoot: root });
  },
  minio: () =>
    createStorageBackend(
      {
        storageType: "s3",
        s3: {
          bucket: stackEnv("S3_BUCKET"),
          region: stackEnv("S3_REGION"),
          endpoint: stackEnv("S3_ENDPOINT"),
          pathStyle: true,
          allowHttp: true,
          prefix: `retention-${run}`,
          credentialsSecret: { name: "x" },
        },
      },
      { s3: { accessKeyId: stackEnv("S3_ACCESS_KEY_ID"), secretAccessKey: stackEnv("S3_SECRET_ACCESS_KEY") } },
    ),
  azurite: () =>
    createStorageBackend(
      {
        storageType: "azure",
        azure: {
          container: stackEnv("AZURE_CONTAINER"),
          accountName: stackEnv("AZURE_STORAGE_ACCOUNT"),
          endpoint: stackEnv("AZURE_BLOB_ENDPOINT"),
          prefix: `retention-${run}`,
          credentialsSecret: { name: "x" },
        },
      },
      { azure: { accountKey: stackEnv("AZURE_STORAGE_KEY") } },
    ),
  "fake-gcs": () =>
    createStorageBackend(
      {
        storageType: "gcs",
        gcs: { bucket: stackEnv("GCS_BUCKET"), endpoint: stackEnv("GCS_ENDPOINT"), anonymous: true, prefix: `retention-${run}` },
      },
      {},
    ),
};

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  topic = `retention-${run}`;
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ value: `r${i}` })) });
  await producer.disconnect();
});
after(async () => {
  await kafka.close();
});

describe("backup retention", () => {
  for (const [name, open] of Object.entries(backends)) {
    test(`keepLast on ${name}: the oldest sets go whole, the newest stay, a same-named KafkaBackup's sets in another namespace stay`, async () => {
      const store = await open();
      const prod = { namespace: "prod", name: "nightly", uid: `prod-${run}` };
      const dev = { namespace: "dev", name: "nightly", uid: `dev-${run}` };
      const backup = (backupId: string, owner: typeof prod) =>
        runBackup(kafka, store, {
          backupId,
          owner,
          selection: { topics: [topic] },
          mode: "snapshot",
          codec: "zstd",
          leaseHolder: "t",
        });
      const ids = [1, 2, 3, 4].map((d) => `prod.nightly-2026010${d}-020000`);
      const theirs = [1, 2].map((d) => `dev.nightly-2026010${d}-020000`);
      // The other namespace's KafkaBackup of the same name writes first: its sets are the oldest.
      for (const backupId of theirs) await backup(backupId, dev);
      for (const backupId of ids) await backup(backupId, prod);
      // A set written before owners were recorded, named like ours: not ours to delete either.
      await runBackup(kafka, store, {
        backupId: "nightly-20251231-020000",
        selection: { topics: [topic] },
        mode: "snapshot",
        codec: "zstd",
        leaseHolder: "t",
      });

      const dry = await applyRetention(store, prod, { keepLast: 2, dryRun: true }, ids[3]);
      assert.deepEqual(dry.delete.map((s) => s.backupId).sort(), [ids[0], ids[1]]);
      assert.ok(dry.reclaimedBytes > 0);
      assert.equal((await listBackupSets(store)).length, 7, "a dry run deletes nothing");

      const plan = await applyRetention(store, prod, { keepLast: 2 }, ids[3]);
      assert.equal(plan.inspected, 4);
      assert.deepEqual(
        (await listBackupSets(store)).sort(),
        [ids[2], ids[3], ...theirs, "nightly-20251231-020000"].sort(),
        "only prod/nightly's own sets are deleted",
      );
      for (const gone of [ids[0], ids[1]]) {
        const left: string[] = [];
        for await (const entry of store.list(`${gone}/`)) left.push(entry.type === "object" ? entry.key : entry.prefix);
        assert.deepEqual(left, [], `${gone} left objects behind`);
      }
      // deletionPolicy Delete of prod/nightly: dev/nightly's sets stay.
      assert.deepEqual((await deleteOwnedSets(store, prod)).sort(), [ids[2], ids[3]].sort());
      assert.deepEqual((await listBackupSets(store)).sort(), [...theirs, "nightly-20251231-020000"].sort());
      // A run into a set another KafkaBackup owns is refused before it writes.
      await assert.rejects(backup(theirs[0] as string, prod), /belongs to KafkaBackup dev\/nightly/);
    });
  }
});
