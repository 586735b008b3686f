// Sharded runs (issue #13) as the Job's pods run them: N real worker processes of the CLI's worker
// mode back up one 24-partition topic together into one backup set, and restore it together; one
// worker is SIGKILLed mid-run and started again (as the Job controller replaces a failed pod of
// the same index). Both end exact: every record once, at its offset, in order, checked against
// the Java consumer.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { readManifest } from "../../engine/backupset/catalog.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { fetchTopicIds } from "../../engine/kafka/topic-ids.ts";
import { readOffsetMapping } from "../../engine/restore/offset-mapping.ts";
import { restoreDir } from "../../engine/restore/restore.ts";
import { readShardReports } from "../../engine/shards/report.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { repoRoot } from "../stack/config.ts";
import { type JavaRecord, javaDump, minioStorageSpec, minioStore, readBackup } from "../support/backup.ts";
import { produceInBatches, recreateTopic, topicWith } from "../support/e2e.ts";
import { stackEnv } from "../support/stack-env.ts";

const workers = 3;
const dir = mkdtempSync(join(tmpdir(), "kbo-shards-"));
const prefix = `shards-${randomUUID().slice(0, 8)}`;
const { spec: storage, secrets } = minioStorageSpec(prefix);
let kafka: KafkaClient;
let store: StorageBackend;
let topic: string;
const children = new Set<ChildProcess>();

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  store = await minioStore(prefix);
  // Uneven partitions, so the assignment has sizes to balance.
  topic = await topicWith(kafka, 24, 1500, 100);
  for (const [name, keys] of Object.entries(secrets)) {
    mkdirSync(join(dir, "secrets", name), { recursive: true });
    for (const [key, value] of Object.entries(keys)) writeFileSync(join(dir, "secrets", name, key), value);
  }
});
after(async () => {
  for (const child of children) child.kill("SIGKILL");
  await kafka.close();
});

interface Worker {
  index: number;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  child: ChildProcess;
}

function startWorker(operation: "backup" | "restore", index: number, spec: object, args: string[]): Worker {
  const specFile = join(dir, `${operation}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "engine/cli/main.ts"),
      "worker",
      operation,
      "--config",
      specFile,
      "--secrets-dir",
      join(dir, "secrets"),
      "--shards",
      String(workers),
      "--log-level",
      "warn",
      ...args,
    ],
    // The index as an Indexed Job gives it.
    { env: { ...process.env, JOB_COMPLETION_INDEX: String(index) }, stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("exit", (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
  return { index, exited, child };
}

/** Runs every worker; kills `victim` once its shard has reported progress, then starts it again. */
async function runKillingOne(
  operation: "backup" | "restore",
  spec: object,
  args: string[],
  victim: number,
  reportDir: string,
): Promise<{ results: Array<{ code: number | null; stdout: string; stderr: string }>; killedAtPercent: number }> {
  const running = Array.from({ length: workers }, (_, i) => startWorker(operation, i, spec, args));
  let killedAtPercent = -1;
  for (let waited = 0; waited < 60_000; waited += 100) {
    const report = (await readShardReports(store, reportDir, workers))[victim];
    if (report?.state === "Running" && report.records > 0) {
      killedAtPercent = report.percent;
      break;
    }
    await sleep(100);
  }
  const killed = running[victim] as Worker;
  killed.child.kill("SIGKILL");
  const first = await killed.exited;
  assert.equal(first.code, null, `worker ${victim} ended before the kill: ${first.stderr}`);
  running[victim] = startWorker(operation, victim, spec, args);
  const results = await Promise.all(running.map((w) => w.exited));
  for (const [i, r] of results.entries()) assert.equal(r.code, 0, `worker ${i}: ${r.stderr}`);
  return { results, killedAtPercent };
}

const identity = (r: JavaRecord) => `${r.partition}/${r.offset}/${r.key}/${r.value}`;
const byOffset = (a: JavaRecord, b: JavaRecord) => a.partition - b.partition || a.offset - b.offset;
const kafkaCluster = () => ({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });

test(`${workers} worker processes back up and restore one 24-partition topic together; one killed mid-run each time: exact`, async () => {
  const backupId = `sharded-${randomUUID().slice(0, 8)}`;
  // Rate-limited per worker, so the kill lands mid-run.
  const backupSpec = {
    kafkaCluster: kafkaCluster(),
    topics: [topic],
    storage,
    segmentMaxRecords: 200,
    rateLimiting: { recordsPerSec: 1500 },
  };
  const backup = await runKillingOne("backup", backupSpec, ["--backup-id", backupId], 1, backupId);
  assert.ok(backup.killedAtPercent >= 0 && backup.killedAtPercent < 100, `killed at ${backup.killedAtPercent}%`);
  const shards = backup.results.map(
    (r) => JSON.parse(r.stdout.trim().split("\n").at(-1) as string) as { partitions: number; merged: boolean },
  );
  assert.deepEqual(
    shards.map((s) => s.partitions),
    [8, 8, 8],
    "24 equal partitions: 8 each",
  );
  assert.ok(
    shards.some((s) => s.merged),
    "the last worker to finish merges the manifest",
  );
  const manifest = await readManifest(store, backupId);
  assert.equal(manifest.topics[0]?.partitions.length, 24);
  const source = javaDump(topic).sort(byOffset);
  const stored = ((await readBackup(store, backupId)).records.get(topic) ?? []).sort(byOffset);
  assert.deepEqual(stored.map(identity), source.map(identity));
  console.log(`backup: worker 1 killed at ${backup.killedAtPercent.toFixed(1)}% of its share; ${stored.length} records exact`);

  const target = `${topic}-restored`;
  const restoreId = `sharded-restore-${randomUUID().slice(0, 8)}`;
  const restoreSpec = {
    backupRef: { storage },
    kafkaCluster: kafkaCluster(),
    topics: [topic],
    topicMapping: { [topic]: target },
    createTopics: true,
    produceBatchSize: 100,
    // Low enough that the kill lands mid-run: stored batches go out whole, five at a time.
    rateLimiting: { recordsPerSec: 1500 },
  };
  const restore = await runKillingOne(
    "restore",
    restoreSpec,
    ["--backup-id", backupId, "--restore-id", restoreId],
    2,
    restoreDir(backupId, restoreId),
  );
  assert.ok(restore.killedAtPercent >= 0 && restore.killedAtPercent < 100, `killed at ${restore.killedAtPercent}%`);
  const restored = javaDump(target).sort(byOffset);
  assert.deepEqual(restored.map(identity), source.map(identity));
  const mapping = await readOffsetMapping(store, `${restoreDir(backupId, restoreId)}/offset-mapping.json`);
  assert.equal(mapping.partitions.length, 24, "one merged offset mapping over every shard's partitions");
  assert.equal(
    mapping.partitions.reduce((n, p) => n + p.records, 0),
    source.length,
  );
  console.log(
    `restore: worker 2 killed at ${restore.killedAtPercent.toFixed(1)}% of its share; ${restored.length} records exact`,
  );
});

test(`a topic deleted and created again under a sharded backup: the running workers and one started again fail for good with TopicRecreated, as an in-process run does`, async () => {
  // 6 partitions of 3,000 records of 1 KiB in batches of 100: a worker's share (6 MiB) is three
  // times what it fetches ahead under the 16 MiB budget, and at 300 records/s it takes 20 s, so
  // the running workers fetch again after the recreation.
  const recreated = await topicWith(kafka, 6, 0);
  await produceInBatches(kafka, recreated, { partitions: 6, perPartition: 3000, valueBytes: 1024, batch: 100, tag: "old" });
  const oldId = (await fetchTopicIds(kafka, [recreated])).ids.get(recreated) as string;
  const backupId = `sharded-recreated-${randomUUID().slice(0, 8)}`;
  const spec = {
    kafkaCluster: kafkaCluster(),
    topics: [recreated],
    storage,
    segmentMaxRecords: 100,
    memoryBudgetMiB: 16,
    rateLimiting: { recordsPerSec: 300 },
  };
  const args = ["--backup-id", backupId];
  const running = Array.from({ length: workers }, (_, i) => startWorker("backup", i, spec, args));
  const reports = () => readShardReports(store, backupId, workers);
  const victim = 1;
  for (let waited = 0; ; waited += 100) {
    const r = await reports();
    if (r.every((x) => x?.state === "Running" && x.records > 0)) break;
    assert.ok(waited < 60_000, `workers under way: ${JSON.stringify(r)}`);
    await sleep(100);
  }
  // Worker 1 dies before the recreation and is started again after it (a replaced pod).
  const killed = running[victim] as Worker;
  killed.child.kill("SIGKILL");
  assert.equal((await killed.exited).code, null, "the victim was killed, not finished");
  const atRecreation = await reports();
  for (const [i, r] of atRecreation.entries())
    assert.ok(r?.state === "Running" && r.records < 6000, `worker ${i} mid-run at the recreation: ${JSON.stringify(r)}`);
  await recreateTopic(kafka, recreated, 6);
  await produceInBatches(kafka, recreated, { partitions: 6, perPartition: 80, valueBytes: 1, batch: 80, tag: "new" });
  const newId = (await fetchTopicIds(kafka, [recreated])).ids.get(recreated) as string;
  assert.notEqual(newId, oldId);
  running[victim] = startWorker("backup", victim, spec, args);
  // Bounded: before the fix a restarted worker could wait for the old topic's ends forever.
  const ended = await Promise.race([
    Promise.all(running.map((w) => w.exited)),
    sleep(180_000, undefined, { ref: false }).then(() => undefined),
  ]);
  assert.ok(ended, `every worker ended within 3 minutes of the recreation: ${JSON.stringify(await reports())}`);
  const final = await reports();
  for (const [i, r] of ended.entries()) {
    // Exit code 2: the Job's pod failure policy fails the index at once, as for corrupt data.
    assert.equal(r.code, 2, `worker ${i} failed for good: ${r.stderr.slice(-1500)}`);
    const report = final[i];
    assert.equal(report?.state, "Failed", `worker ${i}'s report`);
    assert.equal(report?.reason, "TopicRecreated", `worker ${i}: ${report?.message}`);
    assert.equal(report?.permanent, true);
    assert.match(report?.message ?? "", new RegExp(`${recreated} \\(topic ID ${oldId} → ${newId}\\) deleted and created again`));
  }
  // No worker merged a manifest: nothing lists the set as a backup.
  await assert.rejects(readManifest(store, backupId));
});
