// Backup chains on the real broker and MinIO: each scheduled set writes only what arrived since
// the previous complete set of the same KafkaBackup; a retention gap between two sets is recorded
// as a gap; a failed or cancelled set is never a base nor chosen; a chain restores (whole and
// point in time) as one backup; a new full set starts a new chain; retention removes whole chains.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { planOptions, prepareChainPlan } from "../../engine/backup/chain.ts";
import { runBackup } from "../../engine/backup/engine.ts";
import { applyRetention, discardIfEmpty } from "../../engine/backup/retention.ts";
import { listBackupSets, readManifest, readSetManifest } from "../../engine/backupset/catalog.ts";
import { coverage } from "../../engine/backupset/chain.ts";
import { chooseSet, readSets, setsOf } from "../../engine/backupset/sets.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { runRestore } from "../../engine/restore/restore.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { runValidation } from "../../engine/validation/run.ts";
import { repoRoot } from "../stack/config.ts";
import { type JavaRecord, javaDump, minioStorageSpec, minioStore } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";

const run = randomUUID().slice(0, 8);
const topic = `chain-src-${run}`;
const owner = { namespace: "prod", name: "hourly", uid: `uid-${run}` };
const base = 1_700_000_000_000;
let kafka: KafkaClient;
let store: StorageBackend;
let sent = 0;

async function produce(n: number): Promise<void> {
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: n }, (_, j) => {
        const i = sent + j;
        return { key: `k${i}`, value: `v${i}`, timestamp: String(base + i * 1000), partition: i % 2 };
      }),
    });
    sent += n;
  } finally {
    await producer.disconnect();
  }
}

/** One tick of a scheduled KafkaBackup: plan the set's place in the chain, then back it up. */
async function tick(backupId: string, o: { fullBackupEvery?: number; forceFull?: string; signal?: AbortSignal } = {}) {
  const plan = await prepareChainPlan(kafka, store, {
    backupId,
    owner,
    selection: { topics: [topic] },
    policy: { fullBackupEvery: o.fullBackupEvery ?? 7, ...(o.forceFull ? { forceFull: o.forceFull } : {}) },
  });
  const result = await runBackup(kafka, store, {
    backupId,
    ...planOptions(plan),
    selection: { topics: [topic] },
    mode: "snapshot",
    codec: "zstd",
    segmentMaxRecords: 40,
    leaseHolder: "t",
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return { plan, result };
}

const records = (m: Awaited<ReturnType<typeof readSetManifest>>) =>
  m.topics.flatMap((t) => t.partitions).reduce((n, p) => n + p.segments.reduce((k, s) => k + s.recordCount, 0), 0);
const byPartitionOffset = (a: JavaRecord, b: JavaRecord) => a.partition - b.partition || a.offset - b.offset;

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  const admin = await kafka.admin();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 2, configEntries: [{ name: "retention.ms", value: "-1" }] }],
    waitForLeaders: true,
  });
  store = await minioStore(`chains-${run}`);
});
after(async () => {
  await kafka.close();
});

describe("backup chains", () => {
  test("each tick writes only what arrived since the previous complete set; a chain restores as one backup", async () => {
    await produce(200);
    const first = await tick("prod.hourly-1");
    assert.equal(first.plan.chain.sequence, 0);
    assert.match(first.plan.chain.fullReason ?? "", /first set/);
    assert.equal(first.result.records, 200);

    await produce(60);
    const second = await tick("prod.hourly-2");
    assert.deepEqual(second.plan.chain, { id: "prod.hourly-1", sequence: 1, base: "prod.hourly-1" });
    assert.deepEqual(second.plan.startOffsets, { [`${topic}/0`]: 100, [`${topic}/1`]: 100 });
    assert.equal(second.result.records, 60, "an incremental set holds only the new records");

    // A cancelled run is neither a base nor a restore point.
    await produce(20);
    const stop = new AbortController();
    stop.abort(new Error("cancelled by the test"));
    await tick("prod.hourly-3", { signal: stop.signal });
    const cancelled = await readSetManifest(store, "prod.hourly-3");
    assert.equal(cancelled.run?.state, "cancelled");

    // Log retention between two ticks: the next set records the lost offsets as a gap.
    await produce(20);
    const admin = await kafka.admin();
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "135" }] });
    const fourth = await tick("prod.hourly-4");
    assert.deepEqual(fourth.plan.chain, { id: "prod.hourly-1", sequence: 2, base: "prod.hourly-2" });
    assert.equal(fourth.result.gaps, 1);
    const own = await readSetManifest(store, "prod.hourly-4");
    assert.equal(own.run?.state, "complete");
    assert.deepEqual(own.owner, owner);
    const p0 = own.topics[0]?.partitions.find((p) => p.partition === 0);
    assert.deepEqual(
      p0?.gaps.map((g) => [g.start, g.end, g.reason]),
      [[130, 135, "retention"]],
    );
    assert.equal(records(own), 40 - 5, "only what arrived since hourly-2, less the offsets retention took");

    // The chain view: every set's segments, in offset order, with the gap.
    const view = await readManifest(store, "prod.hourly-4");
    assert.deepEqual(view.chainSets, ["prod.hourly-1", "prod.hourly-2", "prod.hourly-4"]);
    assert.equal(records(view), sent - 5);

    // Unnamed, the newest complete set of this KafkaBackup is chosen, never the cancelled one.
    const sets = await readSets(store);
    assert.deepEqual(chooseSet(undefined, setsOf(sets, owner)), { backupId: "prod.hourly-4" });
    assert.match(chooseSet("prod.hourly-3", sets).warning ?? "", /cancelled/);

    // What the chain holds: every record produced but those retention took from partition 0 (offsets
    // 130..134, records 260..268) before hourly-4 read them.
    const lost = new Set([260, 262, 264, 266, 268]);
    const expectedValues = (from = 0, to = sent - 1) =>
      [0, 1].map((p) =>
        Array.from({ length: to - from + 1 }, (_, k) => from + k)
          .filter((i) => i % 2 === p && !lost.has(i))
          .map((i) => `v${i}`),
      );
    const valuesOf = (t: string) =>
      [0, 1].map((p) =>
        javaDump(t)
          .filter((r) => r.partition === p)
          .sort(byPartitionOffset)
          .map((r) => Buffer.from(r.value ?? "", "base64").toString("utf8")),
      );

    // The chain restores as one backup: every record once, in order per partition.
    const target = `chain-dst-${run}`;
    const restored = await runRestore(kafka, store, {
      backupId: "prod.hourly-4",
      restoreId: "whole",
      selection: { topicMapping: { [topic]: target } },
      createTopics: true,
    });
    assert.equal(restored.records, sent - 5);
    assert.deepEqual(valuesOf(target), expectedValues());

    // Point in time across the sets' boundaries: records 150..285 lie in hourly-1, -2 and -4.
    const pitr = `chain-pitr-${run}`;
    const window = { start: base + 150_000, end: base + 285_000 };
    const inWindow = await runRestore(kafka, store, {
      backupId: "prod.hourly-4",
      restoreId: "pitr",
      selection: { topicMapping: { [topic]: pitr }, window },
      createTopics: true,
    });
    const wanted = expectedValues(150, 285);
    assert.equal(inWindow.records, (wanted[0]?.length ?? 0) + (wanted[1]?.length ?? 0));
    assert.deepEqual(valuesOf(pitr), wanted);

    // Validation of the chain: counts and deep integrity over every set's segments; the evidence names each set.
    const report = await runValidation(store, {
      backupId: "prod.hourly-4",
      checks: { messageCount: {}, offsetRange: {}, deepIntegrity: {} },
      validation: { name: "t", triggeredBy: "test" },
    });
    // Warn, not Pass: the retention gap between hourly-2 and hourly-4 is reported, as it must be.
    assert.equal(report.result, "Warn", JSON.stringify(report.checks, null, 2));
    assert.deepEqual(
      report.checks.map((c) => [c.checkName, c.outcome]),
      [
        ["messageCount", "Passed"],
        ["offsetRange", "Warning"],
        ["deepIntegrity", "Passed"],
      ],
    );
    assert.match(report.checks[1]?.message ?? "", new RegExp(`${topic}/0: 5 offsets lost to retention`));
    assert.equal(report.backup.records, sent - 5);
    assert.deepEqual(
      report.backup.chain?.sets.map((s) => s.backupId),
      ["prod.hourly-1", "prod.hourly-2", "prod.hourly-4"],
    );
    assert.equal(
      report.segments?.length,
      view.topics.flatMap((t) => t.partitions).reduce((n, p) => n + p.segments.length, 0),
    );
  });

  test("a full set starts a new chain; retention removes whole chains, never a set a kept set depends on", async () => {
    await produce(10);
    const fifth = await tick("prod.hourly-5", { forceFull: "asked for" });
    assert.deepEqual(fifth.plan.chain, { id: "prod.hourly-5", sequence: 0, fullReason: "asked for" });
    await produce(10);
    const sixth = await tick("prod.hourly-6");
    assert.equal(sixth.plan.chain.base, "prod.hourly-5");
    assert.equal(sixth.result.records, 10);

    // keepLast 3: the newest restore points are hourly-6, -5 and -4; -4 needs -2 and -1, so chain 1 stays whole.
    const keep3 = await applyRetention(store, owner, { keepLast: 3, dryRun: true }, undefined);
    assert.deepEqual(keep3.delete, []);
    // keepLast and maxAge together: either rule deletes a chain — maxAge one that keepLast would
    // keep, keepLast one that maxAge would keep — and the newest chain stays.
    const threeDaysOn = Date.now() + 3 * 86_400_000;
    const mixAged = await applyRetention(store, owner, { keepLast: 6, maxAgeDays: 1, dryRun: true }, undefined, threeDaysOn);
    assert.deepEqual(mixAged.chainsDeleted, ["prod.hourly-1"]);
    const mixKept = await applyRetention(store, owner, { keepLast: 2, maxAgeDays: 10, dryRun: true }, undefined);
    assert.deepEqual(mixKept.chainsDeleted, ["prod.hourly-1"]);
    assert.equal((await listBackupSets(store)).length, 6, "a dry run deletes nothing");
    // keepLast 2: chain 1 goes whole (the cancelled set with it), newest first; chain 2 stays.
    const keep2 = await applyRetention(store, owner, { keepLast: 2 }, undefined);
    assert.deepEqual(keep2.chainsDeleted, ["prod.hourly-1"]);
    assert.deepEqual(
      keep2.delete.map((s) => s.backupId),
      ["prod.hourly-4", "prod.hourly-3", "prod.hourly-2", "prod.hourly-1"],
    );
    assert.deepEqual(await listBackupSets(store), ["prod.hourly-5", "prod.hourly-6"]);
    // The kept chain still reads whole.
    assert.equal(
      records(await readManifest(store, "prod.hourly-6")),
      records(await readSetManifest(store, "prod.hourly-5")) + 10,
    );
    // A run that fails before storing anything leaves only its lease: discarded, never listed.
    await assert.rejects(
      runBackup(kafka, store, {
        backupId: "prod.hourly-7",
        owner,
        selection: { topics: [`${topic}-missing`] },
        mode: "snapshot",
        codec: "zstd",
        leaseHolder: "t",
      }),
      /do not exist/,
    );
    const leftovers = async (id: string) => {
      const keys: string[] = [];
      for await (const e of store.list(`${id}/`)) if (e.type === "object") keys.push(e.key);
      return keys;
    };
    assert.deepEqual(await leftovers("prod.hourly-7"), ["prod.hourly-7/lease.json"]);
    assert.equal(await discardIfEmpty(store, "prod.hourly-7", owner), true);
    assert.deepEqual(await leftovers("prod.hourly-7"), []);
    // A set with data, or another KafkaBackup's, is never discarded.
    assert.equal(await discardIfEmpty(store, "prod.hourly-6", owner), false);
    assert.equal(await discardIfEmpty(store, "prod.hourly-6", { ...owner, namespace: "dev" }), false);
    // maxAge: the newest chain is never deleted, even when all of it is old.
    const aged = await applyRetention(store, owner, { maxAgeDays: 1 }, undefined, Date.now() + 3 * 86_400_000);
    assert.deepEqual(aged.delete, []);
  });

  test("a sharded run writes the plan's link: every worker starts at the base's ends, the merged manifest is complete", async () => {
    // One record: one partition gets data, the other none (its worker stores no checkpoint at all).
    await produce(1);
    const plan = await prepareChainPlan(kafka, store, {
      backupId: "prod.hourly-8",
      owner,
      selection: { topics: [topic] },
      policy: { fullBackupEvery: 7 },
    });
    assert.equal(plan.chain.base, "prod.hourly-6");
    // What the workers of a Job do: each runs its shard with the stored plan (engine/cli/worker.ts).
    const results = await Promise.all(
      [0, 1].map((index) =>
        runBackup(kafka, store, {
          backupId: "prod.hourly-8",
          ...planOptions(plan),
          selection: { topics: [topic] },
          mode: "snapshot",
          codec: "zstd",
          shard: { index, count: 2 },
          leaseHolder: `shard-${index}`,
        }),
      ),
    );
    assert.ok(results.some((r) => r.merged));
    assert.equal(
      results.reduce((n, r) => n + r.records, 0),
      1,
    );
    const own = await readSetManifest(store, "prod.hourly-8");
    assert.equal(own.run?.state, "complete");
    assert.deepEqual(own.chain, { id: "prod.hourly-5", sequence: 2, base: "prod.hourly-6" });
    assert.equal(records(own), 1);
    const view = await readManifest(store, "prod.hourly-8");
    assert.deepEqual(view.chainSets, ["prod.hourly-5", "prod.hourly-6", "prod.hourly-8"]);
    // Both partitions resume at their ends, the one without new data too.
    const admin = await kafka.admin();
    const highs = Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    assert.deepEqual(Object.fromEntries(coverage(view).map((c) => [c.partition, c.to])), highs);
    assert.deepEqual(
      Object.fromEntries((own.topics[0]?.partitions ?? []).map((p) => [p.partition, p.nextOffset])),
      highs,
      "the merged manifest of the shards",
    );
  });

  test("kafka-backup list shows the chains; describe shows a set's chain, per-partition coverage and gaps", () => {
    // The CLI on the same MinIO prefix, its Secret from a folder.
    const dir = mkdtempSync(join(tmpdir(), "kbo-chains-cli-"));
    const { spec, secrets } = minioStorageSpec(`chains-${run}`);
    for (const [name, keys] of Object.entries(secrets)) {
      mkdirSync(join(dir, "secrets", name), { recursive: true });
      for (const [key, value] of Object.entries(keys)) writeFileSync(join(dir, "secrets", name, key), value);
    }
    const config = join(dir, "spec.json");
    writeFileSync(
      config,
      JSON.stringify({ kafkaCluster: { bootstrapServers: ["127.0.0.1:9"] }, topics: [topic], storage: spec }),
    );
    const cli = (args: string[]) =>
      spawnSync(
        process.execPath,
        [join(repoRoot, "engine/cli/main.ts"), ...args, "-c", config, "--secrets-dir", join(dir, "secrets")],
        {
          encoding: "utf8",
          timeout: 60_000,
        },
      );
    const list = cli(["list"]);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^chain prod\.hourly-5:$/m);
    assert.match(list.stdout, /^prod\.hourly-6\s+complete .* owner prod\/hourly\s+\+1 on prod\.hourly-5$/m);
    const described = cli(["describe", "prod.hourly-8"]);
    assert.equal(described.status, 0, described.stderr);
    assert.match(
      described.stdout,
      /chain prod\.hourly-5, set 2, built on prod\.hourly-6; a restore reads prod\.hourly-5 \+ prod\.hourly-6 \+ prod\.hourly-8/,
    );
    assert.match(described.stdout, /owner KafkaBackup prod\/hourly/);
    assert.match(described.stdout, /^\s+0: offsets \d+\.\.160, \d+ records \(1 in this set\)/m);
    const json = JSON.parse(cli(["describe", "prod.hourly-8", "--json"]).stdout) as {
      chainSets: string[];
      coverage: Array<{ partition: number; to: number }>;
    };
    assert.deepEqual(json.chainSets, ["prod.hourly-5", "prod.hourly-6", "prod.hourly-8"]);
  });
});
