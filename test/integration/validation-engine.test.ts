// Validation on the real stack: a real backup in MinIO of a real topic, checked against its
// manifest and the source cluster; one byte flipped in one segment object fails the deep check
// naming that segment; signed evidence verifies with the public key (library and CLI) and fails
// after tampering; a restore-like topic is compared by mapping and time window; webhooks and
// Slack/PagerDuty notifications go to a local receiver and leak nothing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runBackup } from "../../engine/backup/engine.ts";
import { readManifest } from "../../engine/backupset/catalog.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { parsePrivateKey, parsePublicKey, verifyEvidence } from "../../engine/validation/evidence.ts";
import { notifyPagerDuty, notifySlack } from "../../engine/validation/notify.ts";
import { applyEvidenceRetention, runValidation, storeEvidence } from "../../engine/validation/run.ts";
import { repoRoot } from "../stack/config.ts";
import { minioStorageSpec, minioStore } from "../support/backup.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { stackEnv } from "../support/stack-env.ts";

const topic = `val-${randomUUID().slice(0, 8)}`;
const group = `val-group-${randomUUID().slice(0, 8)}`;
const prefix = `validation-${randomUUID().slice(0, 8)}`;
const early = Date.now() - 2 * 86_400_000;
const late = Date.now() - 86_400_000;
const dir = mkdtempSync(join(tmpdir(), "kbo-validation-"));
let kafka: KafkaClient;
let store: StorageBackend;
let receiver: Receiver;
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const privatePem = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const publicPem = keys.publicKey.export({ type: "spki", format: "pem" }).toString();

async function produce(t: string, partitions: number, perPartition: number, timestamp: (i: number) => number) {
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let p = 0; p < partitions; p++) {
      await producer.send({
        topic: t,
        acks: -1,
        messages: Array.from({ length: perPartition }, (_, i) => ({
          partition: p,
          key: `k${i}`,
          value: `value ${p}/${i}`,
          timestamp: String(timestamp(i)),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

async function backup(backupId: string) {
  return await runBackup(kafka, store, {
    backupId,
    selection: { topics: [topic] },
    mode: "snapshot",
    codec: "zstd",
    segmentMaxRecords: 40,
    consumerGroupSnapshot: true,
    leaseHolder: "validation-test",
  });
}

const allChecks = {
  messageCount: { enabled: true },
  offsetRange: { enabled: true },
  consumerGroupOffsets: { enabled: true, consumerGroups: [group] },
  deepIntegrity: { enabled: true },
};

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, "engine/cli/main.ts"), ...args, "--secrets-dir", join(dir, "secrets")], {
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A CLI spec for the test's MinIO prefix, and its Secrets as mounted files. */
function cliSpec(extra: Record<string, unknown> = {}): string {
  const { spec, secrets } = minioStorageSpec(prefix);
  const secretsDir = join(dir, "secrets");
  for (const [name, values] of Object.entries({ ...secrets, "evidence-signing": { "signing-key.pem": privatePem } })) {
    mkdirSync(join(secretsDir, name), { recursive: true });
    for (const [k, v] of Object.entries(values)) writeFileSync(join(secretsDir, name, k), v);
  }
  const file = join(dir, `spec-${randomUUID().slice(0, 6)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      backupRef: { storage: spec },
      kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
      checks: allChecks,
      evidence: { signing: { enabled: true, keySecret: { name: "evidence-signing" } } },
      ...extra,
    }),
  );
  return file;
}

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  const admin = await kafka.admin();
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 2 },
      { topic: `${topic}-restored`, numPartitions: 2 },
    ],
    waitForLeaders: true,
  });
  // Half the records two days old, half one day old: a window can select the late half.
  await produce(topic, 2, 100, (i) => early + i);
  await produce(topic, 2, 100, (i) => late + i);
  await admin.setOffsets({
    groupId: group,
    topic,
    partitions: [
      { partition: 0, offset: "150" },
      { partition: 1, offset: "20" },
    ],
  });
  store = await minioStore(prefix);
  await backup("intact");
  await backup("corrupt");
  receiver = await startReceiver();
});

after(async () => {
  await receiver?.close();
  await kafka.close();
});

describe("validation engine", () => {
  test("an intact backup passes every check, against its manifest and the source cluster", async () => {
    const report = await runValidation(store, {
      backupId: "intact",
      checks: allChecks,
      kafka,
      validation: { name: "t", triggeredBy: "test" },
    });
    assert.equal(report.result, "Pass", JSON.stringify(report.checks, null, 2));
    assert.deepEqual(
      report.checks.map((c) => [c.checkName, c.outcome]),
      [
        ["messageCount", "Passed"],
        ["offsetRange", "Passed"],
        ["consumerGroupOffsets", "Passed"],
        ["deepIntegrity", "Passed"],
      ],
    );
    const manifest = await readManifest(store, "intact");
    const segments = manifest.topics.flatMap((t) => t.partitions.flatMap((p) => p.segments));
    assert.ok(segments.length >= 10, `${segments.length} segments`);
    assert.equal(report.segments?.length, segments.length);
    assert.equal(report.backup.records, 400);
    assert.deepEqual(
      report.segments?.map((s) => s.sha256),
      segments.map((s) => s.sha256),
      "the report records each segment's SHA-256 as read",
    );

    // New records in the source: the backup is behind, and says by how much.
    await produce(topic, 1, 3, (i) => late + 1000 + i);
    const behind = await runValidation(store, {
      backupId: "intact",
      checks: { messageCount: {} },
      kafka,
      validation: { name: "t", triggeredBy: "test" },
    });
    assert.equal(behind.checks[0]?.outcome, "Failed");
    assert.match(behind.checks[0]?.message ?? "", /the cluster holds 3 offsets the backup does not/);
    const tolerated = await runValidation(store, {
      backupId: "intact",
      checks: { messageCount: { failThreshold: 3 } },
      kafka,
      validation: { name: "t", triggeredBy: "test" },
    });
    assert.equal(tolerated.result, "Pass");
  });

  test("one byte flipped in one segment in MinIO: the deep check fails and names that segment", async () => {
    const manifest = await readManifest(store, "corrupt");
    const segments = manifest.topics.flatMap((t) => t.partitions.flatMap((p) => p.segments));
    const victim = segments[Math.floor(segments.length / 2)];
    assert.ok(victim);
    const { body } = await store.getBuffer(victim.key);
    const flipped = Buffer.from(body);
    const at = Math.floor(flipped.length / 2);
    flipped[at] = (flipped[at] as number) ^ 0x40;
    await store.put(victim.key, flipped);

    const report = await runValidation(store, {
      backupId: "corrupt",
      checks: { deepIntegrity: {}, messageCount: {} },
      validation: { name: "t", triggeredBy: "test" },
    });
    assert.equal(report.result, "Fail");
    const deep = report.checks.find((c) => c.checkName === "deepIntegrity");
    assert.equal(deep?.outcome, "Failed");
    assert.match(deep?.message ?? "", new RegExp(victim.key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    const failed = (deep?.details as { failedSegments: Array<{ key: string; error: string }> } | undefined)?.failedSegments ?? [];
    assert.deepEqual(
      failed.map((f) => f.key),
      [victim.key],
      "exactly the flipped segment fails",
    );
    assert.match(failed[0]?.error ?? "", /SHA-256|CRC/);
    assert.equal(report.segments?.filter((s) => !s.ok).length, 1);

    // The same through the CLI: exit 1, the segment named.
    const out = cli(["validate", "-c", cliSpec({ checks: { deepIntegrity: {} } }), "--backup-id", "corrupt", "--no-store"]);
    assert.equal(out.code, 1, out.stderr);
    assert.match(out.stdout, /Failed +deepIntegrity/);
    assert.ok(out.stdout.includes(victim.key), out.stdout);
  });

  test("signed evidence is stored with the backup, verifies with the public key and fails after any tampering", async () => {
    const at = new Date();
    const report = await runValidation(store, {
      backupId: "intact",
      checks: { deepIntegrity: {}, offsetRange: {} },
      validation: { name: "signed", namespace: "ns", triggeredBy: "test" },
    });
    const stored = await storeEvidence(store, report, { at, signingKey: parsePrivateKey(privatePem, "test") });
    assert.ok(stored.signed);
    assert.match(stored.key, /^intact\/validations\/signed-\d{8}-\d{6}\/evidence\.json$/);
    assert.equal(stored.path, `s3://${stackEnv("S3_BUCKET")}/${prefix}/${stored.key}`);
    const bytes = (await store.getBuffer(stored.key)).body;
    const sig = (await store.getBuffer(`${stored.key}.sig`)).body.toString("utf8");
    const pub = parsePublicKey(publicPem, "test");
    assert.equal(verifyEvidence(bytes, sig, pub).valid, true);
    // No credential in the report.
    for (const secret of [stackEnv("S3_SECRET_ACCESS_KEY"), privatePem.split("\n")[1] as string])
      assert.ok(!bytes.toString("utf8").includes(secret), "a credential leaked into the report");

    const pubFile = join(dir, "pub.pem");
    writeFileSync(pubFile, publicPem);
    const spec = cliSpec();
    const ok = cli(["verify", "-c", spec, stored.path, "--public-key", pubFile]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^VALID/);

    // Tamper with one byte of the stored report in MinIO: a digit of the record count.
    const text = bytes.toString("utf8");
    const i = text.indexOf('"records":400') + '"records":'.length;
    const tampered = Buffer.from(bytes);
    tampered[i] = "5".charCodeAt(0);
    await store.put(stored.key, tampered);
    const bad = cli(["verify", "-c", spec, stored.key, "--public-key", pubFile]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^INVALID/);
    // And any other single byte, offline.
    for (let j = 0; j < bytes.length; j += 7) {
      const t = Buffer.from(bytes);
      t[j] = (t[j] as number) ^ 0x20;
      assert.equal(verifyEvidence(t, sig, pub).valid, false, `byte ${j}`);
    }
    // A local copy verifies with the CLI too; another key does not.
    await store.put(stored.key, bytes);
    const local = join(dir, "evidence.json");
    writeFileSync(local, bytes);
    writeFileSync(`${local}.sig`, sig);
    assert.equal(cli(["verify", local, "--public-key", pubFile]).code, 0);
    const other = join(dir, "other.pem");
    writeFileSync(
      other,
      generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString(),
    );
    assert.equal(cli(["verify", local, "--public-key", other]).code, 1);
  });

  test("evidence older than retentionDays is deleted, only this validation's and only under this backup", async () => {
    const put = (key: string) => store.put(key, Buffer.from("{}"));
    await put("intact/validations/aged-20200101-000000/evidence.json");
    await put("intact/validations/aged-20200101-000000/evidence.json.sig");
    await put(`intact/validations/aged-${new Date().toISOString().slice(0, 10).replace(/-/g, "")}-000000/evidence.json`);
    await put("intact/validations/aged-other-20200101-000000/evidence.json");
    await put("intact/validations/other-20200101-000000/evidence.json");
    assert.equal(await applyEvidenceRetention(store, "intact", "aged", 90), 1);
    const left: string[] = [];
    for await (const o of store.list("intact/validations/"))
      if (o.type === "object" && o.key.includes("20200101")) left.push(o.key);
    assert.deepEqual(left.sort(), [
      "intact/validations/aged-other-20200101-000000/evidence.json",
      "intact/validations/other-20200101-000000/evidence.json",
    ]);
  });

  test("CLI validate stores signed evidence beside the backup", () => {
    const out = cli([
      "validate",
      "-c",
      cliSpec({ checks: { deepIntegrity: {}, offsetRange: {} } }),
      "--backup-id",
      "intact",
      "--name",
      "cli-run",
    ]);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /backup intact: Pass/);
    assert.match(out.stdout, /evidence: s3:\/\/.*\/intact\/validations\/cli-run-\d{8}-\d{6}\/evidence\.json \(signed\)/);
    assert.ok(!out.stdout.includes(stackEnv("S3_SECRET_ACCESS_KEY")));
  });

  test("a restored cluster is compared on the mapped topic, inside the time window", async () => {
    const restoredTopic = `${topic}-restored`;
    // What a restore of the late half into the mapped topic leaves: 100 records per partition.
    await produce(restoredTopic, 2, 100, (i) => late + i);
    const run = (restored: { topicMapping?: Record<string, string>; window?: { start?: number; end?: number } }) =>
      runValidation(store, {
        backupId: "intact",
        checks: { messageCount: {}, offsetRange: {} },
        kafka,
        restored,
        validation: { name: "t", triggeredBy: "test" },
      });
    const windowed = await run({ topicMapping: { [topic]: restoredTopic }, window: { start: late } });
    assert.equal(windowed.result, "Pass", JSON.stringify(windowed.checks, null, 2));
    assert.match(windowed.checks[0]?.message ?? "", /every expected record is in the cluster/);
    const whole = await run({ topicMapping: { [topic]: restoredTopic } });
    assert.equal(whole.checks[0]?.outcome, "Failed");
    assert.match(whole.checks[0]?.message ?? "", /200 records of the backup are missing/);
    const unmapped = await run({ window: { start: late } });
    assert.equal(unmapped.checks[0]?.outcome, "Warning", "the source topic (with extra records) is not the restore target");
  });

  test("custom webhooks: the expected status passes, another fails, a slow one times out", async () => {
    receiver.answer("/slow", 200, 3000);
    receiver.answer("/teapot", 418);
    const report = await runValidation(store, {
      backupId: "intact",
      checks: {
        offsetRange: {},
        customWebhooks: [
          { name: "ok", url: `${receiver.url}/ok?token=SECRET-QUERY-1` },
          { name: "teapot", url: `${receiver.url}/teapot` },
          { name: "teapot-expected", url: `${receiver.url}/teapot`, expectedStatusCode: 418 },
          { name: "slow", url: `${receiver.url}/slow`, timeoutSecs: 1 },
        ],
      },
      validation: { name: "hooks", triggeredBy: "test" },
    });
    assert.deepEqual(
      report.checks.map((c) => [c.checkName, c.outcome]),
      [
        ["offsetRange", "Passed"],
        ["webhook:ok", "Passed"],
        ["webhook:teapot", "Failed"],
        ["webhook:teapot-expected", "Passed"],
        ["webhook:slow", "Failed"],
      ],
    );
    assert.match(report.checks[4]?.message ?? "", /timeout/);
    const got = receiver.requests.find((r) => r.path === "/ok")?.json as {
      event: string;
      backupId: string;
      checks: Array<{ checkName: string }>;
    };
    assert.equal(got.event, "kafka_backup_validation");
    assert.equal(got.backupId, "intact");
    assert.deepEqual(
      got.checks.map((c) => c.checkName),
      ["offsetRange"],
    );
    assert.ok(!JSON.stringify(report).includes("SECRET-QUERY-1"), "a webhook's query string is not put in the report");
  });

  test("Slack and PagerDuty notifications reach a local receiver; failures name no URL or key", async () => {
    const notice = {
      namespace: "ns",
      name: "nightly",
      backupId: "intact",
      result: "Fail",
      summary: "Fail: 1 failed",
      failedChecks: [{ checkName: "deepIntegrity", message: "segment x: CRC mismatch" }],
    };
    await notifySlack(`${receiver.url}/services/CANARY-SLACK-PATH`, notice);
    const slack = receiver.requests.find((r) => r.path === "/services/CANARY-SLACK-PATH")?.json as { text: string };
    assert.match(slack.text, /ns\/nightly.*Fail.*intact/);
    assert.match(slack.text, /deepIntegrity: segment x: CRC mismatch/);

    await notifyPagerDuty("CANARY-ROUTING-KEY", "trigger", notice, "warning", { url: `${receiver.url}/v2/enqueue` });
    const pd = receiver.requests.find((r) => r.path === "/v2/enqueue")?.json as {
      routing_key: string;
      event_action: string;
      dedup_key: string;
      payload: { severity: string; summary: string };
    };
    assert.equal(pd.routing_key, "CANARY-ROUTING-KEY");
    assert.equal(pd.event_action, "trigger");
    assert.equal(pd.dedup_key, "kafka-backup-validation/ns/nightly");
    assert.equal(pd.payload.severity, "warning");

    receiver.answer("/services/CANARY-FAIL", 500);
    await assert.rejects(notifySlack(`${receiver.url}/services/CANARY-FAIL`, notice), (err: Error) => {
      assert.match(err.message, /HTTP 500/);
      assert.ok(!err.message.includes("CANARY"), err.message);
      return true;
    });
    await assert.rejects(
      notifyPagerDuty("CANARY-ROUTING-KEY", "trigger", notice, "critical", { url: "http://127.0.0.1:1/CANARY" }),
      (err: Error) => {
        assert.ok(!err.message.includes("CANARY"), err.message);
        return true;
      },
    );
  });
});
