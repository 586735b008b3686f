// The KafkaBackupValidation controller end to end: real kube-apiserver, Kafka and MinIO, the
// controller as a local process. The example manifest (examples/kafkabackupvalidation-signed-
// evidence.yaml) runs on a seconds schedule at least three times with signed evidence that
// verifies; a flipped byte in a segment turns it Failed with Ready=False and notifies Slack and
// PagerDuty (a local receiver); suspend stops it; and the canary values of every Secret it uses
// appear nowhere in status, events, reports or the controller's logs.
import assert from "node:assert/strict";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parse as parseYaml } from "yaml";
import { runBackup } from "../../engine/backup/engine.ts";
import { readManifest } from "../../engine/backupset/catalog.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { parsePublicKey, verifyEvidence } from "../../engine/validation/evidence.ts";
import { repoRoot } from "../stack/config.ts";
import { minioStore } from "../support/backup.ts";
import { LeakSearch } from "../support/canaries.ts";
import { events } from "../support/e2e.ts";
import {
  applyCrds,
  createNamespace,
  getObject,
  kubectl,
  type RunningController,
  startController,
  waitFor,
} from "../support/kube.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { stackEnv } from "../support/stack-env.ts";

interface Status {
  phase?: string;
  validationResult?: string;
  backupId?: string;
  lastScheduleTime?: string;
  lastValidationTime?: string;
  nextScheduledValidation?: string;
  checksTotal?: number;
  checksPassed?: number;
  checksFailed?: number;
  checkResults?: Array<{ checkName: string; outcome: string; message: string }>;
  evidenceReportPath?: string;
  evidenceReportSigned?: boolean;
  observedGeneration?: number;
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
}

let kafka: KafkaClient;
let receiver: Receiver;
const controllers: RunningController[] = [];
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const privatePem = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const publicPem = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
const canarySlack = `CANARY-SLACK-${randomUUID()}`;
const canaryPagerDuty = `CANARY-PD-${randomUUID()}`;

before(async () => {
  applyCrds();
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  receiver = await startReceiver();
});
after(async () => {
  for (const c of controllers) await c.stop("SIGKILL");
  await receiver.close();
  await kafka.close();
});

async function topicWithGroup(): Promise<{ topic: string; group: string }> {
  const topic = `e2e-val-${randomUUID().slice(0, 8)}`;
  const group = `e2e-val-group-${randomUUID().slice(0, 8)}`;
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: Array.from({ length: 300 }, (_, i) => ({ partition: i % 2, value: `v${i}` })),
  });
  await producer.disconnect();
  await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: "100" }] });
  return { topic, group };
}

async function validationController(namespace: string): Promise<RunningController> {
  const c = await startController("controllers/validation.ts", {
    WATCH_NAMESPACES: namespace,
    LEADER_ELECTION_NAMESPACE: namespace,
    PAGERDUTY_EVENTS_URL: `${receiver.url}/v2/enqueue`,
  });
  controllers.push(c);
  return c;
}

function apply(namespace: string, manifest: Record<string, unknown>): void {
  kubectl(["apply", "-n", namespace, "-f", "-"], JSON.stringify(manifest));
}

function secret(namespace: string, name: string, data: Record<string, string>): void {
  apply(namespace, { apiVersion: "v1", kind: "Secret", metadata: { name }, stringData: data });
}

const s3Storage = (prefix: string) => ({
  storageType: "s3",
  s3: {
    bucket: stackEnv("S3_BUCKET"),
    region: stackEnv("S3_REGION"),
    endpoint: stackEnv("S3_ENDPOINT"),
    pathStyle: true,
    allowHttp: true,
    prefix,
    credentialsSecret: { name: "minio-credentials" },
  },
});

/** A KafkaBackup whose last backup is `backupId` (written here by the engine; its controller is not needed). */
async function backupResource(namespace: string, name: string, topic: string, prefix: string, store: StorageBackend) {
  const backupId = `${name}-20260101-000000`;
  await runBackup(kafka, store, {
    backupId,
    selection: { topics: [topic] },
    mode: "snapshot",
    codec: "zstd",
    segmentMaxRecords: 50,
    consumerGroupSnapshot: true,
    leaseHolder: "e2e",
  });
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaBackup",
    metadata: { name },
    spec: {
      kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
      topics: [topic],
      storage: s3Storage(prefix),
      suspend: true,
    },
  });
  kubectl([
    "patch",
    "kafkabackup",
    name,
    "-n",
    namespace,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status: { phase: "Completed", backupId } }),
  ]);
  return backupId;
}

const status = (namespace: string, name: string) =>
  getObject<{ status?: Status }>("kafkabackupvalidation", namespace, name).status ?? {};
const ready = (s: Status) => s.conditions?.find((c) => c.type === "Ready");

async function evidenceFolders(store: StorageBackend, backupId: string, name: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list(`${backupId}/validations/`, { delimiter: "/" }))
    if (e.type === "prefix" && e.prefix.includes(`/${name}-`)) out.push(e.prefix);
  return out;
}

describe("KafkaBackupValidation controller", () => {
  test("the signed-evidence example runs on a seconds schedule ≥3 times, Ready tells the truth, Slack and PagerDuty hear of the failure, suspend stops it, and no secret leaks", async () => {
    const namespace = createNamespace("kbv");
    const prefix = `e2e-kbv-${randomUUID().slice(0, 8)}`;
    const store = await minioStore(prefix);
    const { topic } = await topicWithGroup();
    secret(namespace, "minio-credentials", {
      AWS_ACCESS_KEY_ID: stackEnv("S3_ACCESS_KEY_ID"),
      AWS_SECRET_ACCESS_KEY: stackEnv("S3_SECRET_ACCESS_KEY"),
    });
    secret(namespace, "evidence-signing", { "signing-key.pem": privatePem, "signing-key-pub.pem": publicPem });
    secret(namespace, "validation-slack", { url: `${receiver.url}/services/${canarySlack}` });
    secret(namespace, "validation-pagerduty", { "routing-key": canaryPagerDuty });
    const backupId = await backupResource(namespace, "orders-daily", topic, prefix, store);

    // The example as shipped, pointed at the stack and ticking every 5 seconds.
    const example = parseYaml(readFileSync(join(repoRoot, "examples/kafkabackupvalidation-signed-evidence.yaml"), "utf8")) as {
      metadata: { name: string };
      spec: Record<string, unknown> & { kafkaCluster: { bootstrapServers: string[] } };
    };
    example.spec.kafkaCluster.bootstrapServers = stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",");
    example.spec.schedule = "*/5 * * * * *";
    const name = example.metadata.name;
    apply(namespace, example as unknown as Record<string, unknown>);
    const controller = await validationController(namespace);

    // Three scheduled runs, each with its own signed evidence report.
    const folders = await waitFor(
      "three scheduled validations with evidence",
      async () => {
        const f = await evidenceFolders(store, backupId, name);
        return f.length >= 3 ? f : undefined;
      },
      90_000,
    );
    const passed = await waitFor("a completed status", () => {
      const s = status(namespace, name);
      return s.phase === "Completed" && s.validationResult === "Pass" ? s : undefined;
    });
    assert.equal(ready(passed)?.status, "True");
    assert.equal(ready(passed)?.reason, "ValidationPassed");
    assert.equal(passed.backupId, backupId);
    assert.equal(passed.checksTotal, 4);
    assert.equal(passed.checksPassed, 4);
    assert.deepEqual(
      passed.checkResults?.map((c) => c.checkName),
      ["messageCount", "offsetRange", "consumerGroupOffsets", "deepIntegrity"],
    );
    assert.equal(passed.evidenceReportSigned, true);
    assert.ok(passed.nextScheduledValidation && passed.lastScheduleTime && passed.lastValidationTime);
    const evidenceKey = passed.evidenceReportPath?.replace(`s3://${stackEnv("S3_BUCKET")}/${prefix}/`, "") as string;
    const report = (await store.getBuffer(evidenceKey)).body;
    const signature = (await store.getBuffer(`${evidenceKey}.sig`)).body.toString("utf8");
    const verified = verifyEvidence(report, signature, parsePublicKey(publicPem, "test"));
    assert.equal(verified.valid, true, verified.message);
    assert.equal(verified.report?.backup.backupId, backupId);
    assert.equal(verified.report?.validation.namespace, namespace);
    const started = events(namespace, name).filter((e) => e.reason === "ValidationStarted").length;
    assert.ok(started >= 3, `${started} runs started`);
    assert.ok(folders.length >= 3);

    // A flipped byte in one segment: the next run fails, says which segment, and notifies.
    const manifest = await readManifest(store, backupId);
    const victim = manifest.topics[0]?.partitions[1]?.segments[0];
    assert.ok(victim);
    const { body } = await store.getBuffer(victim.key);
    const flipped = Buffer.from(body);
    flipped[100] = (flipped[100] as number) ^ 0x01;
    await store.put(victim.key, flipped);
    const failed = await waitFor(
      "a failed validation",
      () => {
        const s = status(namespace, name);
        return s.validationResult === "Fail" ? s : undefined;
      },
      30_000,
    );
    assert.equal(failed.phase, "Failed");
    assert.equal(ready(failed)?.status, "False", "a failed validation is not Ready");
    assert.equal(ready(failed)?.reason, "ValidationFailed");
    const deep = failed.checkResults?.find((c) => c.checkName === "deepIntegrity");
    assert.equal(deep?.outcome, "Failed");
    assert.ok(deep?.message.includes(victim.key), deep?.message);
    assert.ok(
      events(namespace, name).some(
        (e) => e.type === "Warning" && e.reason === "ValidationFailed" && e.message.includes(victim.key),
      ),
    );
    const slack = await waitFor("the Slack message", () => receiver.requests.find((r) => r.path === `/services/${canarySlack}`));
    assert.match((slack.json as { text: string }).text, new RegExp(`${namespace}/${name}.*Fail`));
    const pd = await waitFor("the PagerDuty event", () =>
      receiver.requests.find((r) => r.path === "/v2/enqueue" && (r.json as { event_action: string }).event_action === "trigger"),
    );
    assert.equal((pd.json as { routing_key: string }).routing_key, canaryPagerDuty);
    assert.equal((pd.json as { payload: { severity: string } }).payload.severity, "critical");

    // Repaired: the next run passes, Ready again, and PagerDuty's incident is resolved.
    await store.put(victim.key, body);
    await waitFor(
      "a passing validation again",
      () => (status(namespace, name).validationResult === "Pass" ? true : undefined),
      30_000,
    );
    assert.equal(ready(status(namespace, name))?.status, "True");
    await waitFor("the PagerDuty resolve", () =>
      receiver.requests.find((r) => r.path === "/v2/enqueue" && (r.json as { event_action: string }).event_action === "resolve"),
    );

    // Suspend: phase Suspended, and no more runs.
    kubectl(["patch", "kafkabackupvalidation", name, "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}']);
    await waitFor("Suspended", () => (status(namespace, name).phase === "Suspended" ? true : undefined));
    await sleep(1000);
    const before = (await evidenceFolders(store, backupId, name)).length;
    await sleep(11_000);
    assert.equal((await evidenceFolders(store, backupId, name)).length, before, "no run while suspended");
    // Resumed: runs again, Ready from the result.
    kubectl(["patch", "kafkabackupvalidation", name, "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":false}}']);
    await waitFor(
      "a run after resuming",
      async () => ((await evidenceFolders(store, backupId, name)).length > before ? true : undefined),
      30_000,
    );
    await waitFor("Completed and Ready after resuming", () => {
      const s = status(namespace, name);
      return s.phase === "Completed" && ready(s)?.status === "True" ? true : undefined;
    });

    // Metrics: the existing operator's family, by outcome.
    const metrics = await (await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`)).text();
    const pass = new RegExp(
      `kafka_backup_operator_validations_total\\{outcome="Pass",resource_namespace="${namespace}",name="${name}"\\} (\\d+)`,
    ).exec(metrics);
    assert.ok(
      pass && Number(pass[1]) >= 3,
      metrics
        .split("\n")
        .filter((l) => l.includes("validations_total"))
        .join("\n"),
    );
    assert.match(
      metrics,
      new RegExp(`kafka_backup_operator_validations_total\\{outcome="Fail",resource_namespace="${namespace}"`),
    );

    // No Secret value anywhere: status, events, every stored report, the controller's logs.
    const canaries = {
      "S3 secret key": stackEnv("S3_SECRET_ACCESS_KEY"),
      "signing key": privatePem.split("\n")[2] as string,
      "Slack webhook": canarySlack,
      "PagerDuty routing key": canaryPagerDuty,
    };
    const search = new LeakSearch();
    for (const folder of await evidenceFolders(store, backupId, name)) {
      search.add(`${folder}evidence.json`, (await store.getBuffer(`${folder}evidence.json`)).body.toString("utf8"), backupId);
      const signature = (await store.getBuffer(`${folder}evidence.json.sig`)).body.toString("utf8");
      search.add(`${folder}evidence.json.sig`, signature, signature.slice(0, 8));
    }
    assert.ok(search.places.size >= 6, `${search.places.size} reports and signatures`);
    search.add("status", kubectl(["get", "kafkabackupvalidation", name, "-n", namespace, "-o", "yaml"]), backupId);
    search.add("Events", kubectl(["get", "events", "-n", namespace, "-o", "yaml"]), "ValidationFailed");
    await search.addController("validation controller", controller, namespace);
    console.log(search.assertNone(canaries));
  });

  test("two replicas: each tick runs once, and a SIGKILLed leader's standby carries on", async () => {
    const namespace = createNamespace("kbv-ha");
    const prefix = `e2e-kbv-${randomUUID().slice(0, 8)}`;
    const store = await minioStore(prefix);
    const { topic } = await topicWithGroup();
    secret(namespace, "minio-credentials", {
      AWS_ACCESS_KEY_ID: stackEnv("S3_ACCESS_KEY_ID"),
      AWS_SECRET_ACCESS_KEY: stackEnv("S3_SECRET_ACCESS_KEY"),
    });
    const backupId = await backupResource(namespace, "ha", topic, prefix, store);
    const env = {
      WATCH_NAMESPACES: namespace,
      LEADER_ELECTION_NAMESPACE: namespace,
      LEADER_ELECTION_LEASE_SECONDS: "4",
    };
    const replicas = [
      await startController("controllers/validation.ts", env),
      await startController("controllers/validation.ts", env),
    ];
    controllers.push(...replicas);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackupValidation",
      metadata: { name: "ha-check" },
      spec: { backupRef: { name: "ha" }, checks: { deepIntegrity: {} }, schedule: "*/2 * * * * *" },
    });
    const runs = async () => (await evidenceFolders(store, backupId, "ha-check")).length;
    await waitFor("three runs", async () => ((await runs()) >= 3 ? true : undefined), 60_000);
    const leader = await waitFor("the leader", () => replicas.find((r) => r.logs().includes("became the leader")));
    await leader.stop("SIGKILL");
    const atKill = await runs();
    await waitFor("three runs by the standby", async () => ((await runs()) >= atKill + 3 ? true : undefined), 60_000);
    const standby = replicas.find((r) => r !== leader);
    assert.ok(standby?.logs().includes("became the leader"));
    kubectl(["patch", "kafkabackupvalidation", "ha-check", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}']);
    await waitFor("Suspended", () => (status(namespace, "ha-check").phase === "Suspended" ? true : undefined));
    await sleep(3000);
    // Every tick was claimed once: one report per scheduled run. A run the SIGKILL cut short is
    // rerun by the standby ("resumed"), so its tick has a report too, and never more than two. A
    // run in flight when the suspension came is stopped (ValidationStopped) and may leave none.
    const recorded = events(namespace, "ha-check");
    const started = recorded.filter((e) => e.reason === "ValidationStarted");
    const stopped = recorded.filter((e) => e.reason === "ValidationStopped").length;
    const resumed = started.filter((e) => e.message.startsWith("resumed")).length;
    const scheduled = started.length - resumed;
    const folders = await evidenceFolders(store, backupId, "ha-check");
    assert.ok(resumed <= 1, `${resumed} runs resumed after one kill`);
    assert.ok(stopped <= 1, `${stopped} runs stopped by one suspension`);
    assert.ok(
      folders.length >= scheduled - stopped && folders.length <= scheduled + resumed,
      `${scheduled} scheduled runs, ${resumed} resumed and ${stopped} stopped, ${folders.length} reports\n${JSON.stringify(recorded.map((e) => [e.reason, e.message, (e as { firstTimestamp?: string }).firstTimestamp]))}\n${folders.join("\n")}`,
    );
    const stamps = folders.map((f) => f.slice(-16, -1));
    assert.equal(new Set(stamps).size, stamps.length, "two runs in one second: a tick ran twice");
  });

  test("a one-shot validation runs once per generation; a missing KafkaBackup is Ready=False with an Event", async () => {
    const namespace = createNamespace("kbv-once");
    const prefix = `e2e-kbv-${randomUUID().slice(0, 8)}`;
    const store = await minioStore(prefix);
    const { topic, group } = await topicWithGroup();
    secret(namespace, "minio-credentials", {
      AWS_ACCESS_KEY_ID: stackEnv("S3_ACCESS_KEY_ID"),
      AWS_SECRET_ACCESS_KEY: stackEnv("S3_SECRET_ACCESS_KEY"),
    });
    const backupId = await backupResource(namespace, "nightly", topic, prefix, store);
    await validationController(namespace);
    const validation = (name: string, backupName: string) => ({
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackupValidation",
      metadata: { name },
      spec: {
        backupRef: { name: backupName },
        checks: { messageCount: {}, deepIntegrity: {}, consumerGroupOffsets: { consumerGroups: [group, "absent-group"] } },
        kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
      },
    });
    apply(namespace, validation("once", "nightly"));
    apply(namespace, validation("dangling", "no-such-backup"));
    // A signing key that is not ECDSA P-256 (RSA, with a canary line in its PEM).
    const rsaPem = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    secret(namespace, "rsa-signing", { "signing-key.pem": rsaPem });
    apply(namespace, {
      ...validation("badkey", "nightly"),
      spec: {
        ...validation("badkey", "nightly").spec,
        evidence: { signing: { enabled: true, keySecret: { name: "rsa-signing" } } },
      },
    });

    const done = await waitFor("the one-shot result", () => {
      const s = status(namespace, "once");
      return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
    });
    // The snapshot lacks "absent-group": the consumer-group check fails, and Ready says so.
    assert.equal(done.validationResult, "Fail");
    assert.equal(ready(done)?.status, "False");
    assert.equal(done.backupId, backupId);
    assert.match(done.checkResults?.find((c) => c.checkName === "consumerGroupOffsets")?.message ?? "", /absent-group/);
    assert.equal(done.checkResults?.find((c) => c.checkName === "deepIntegrity")?.outcome, "Passed");
    await sleep(5000);
    assert.equal(events(namespace, "once").filter((e) => e.reason === "ValidationStarted").length, 1, "one run per generation");

    const dangling = await waitFor("the dangling reference's condition", () => {
      const s = status(namespace, "dangling");
      return ready(s)?.reason === "BackupNotFound" ? s : undefined;
    });
    assert.equal(ready(dangling)?.status, "False");
    assert.match(ready(dangling)?.message ?? "", new RegExp(`KafkaBackup ${namespace}/no-such-backup not found`));
    assert.ok(events(namespace, "dangling").some((e) => e.type === "Warning" && e.reason === "BackupNotFound"));

    const badKey = await waitFor("the signing key's condition", () => {
      const s = status(namespace, "badkey");
      return ready(s)?.reason === "InvalidSigningKey" ? s : undefined;
    });
    assert.equal(ready(badKey)?.status, "False");
    assert.match(ready(badKey)?.message ?? "", /spec\.evidence\.signing\.keySecret.*rsa-signing.*not an ECDSA P-256 key/);
    const rsaLine = rsaPem.split("\n")[3] as string;
    assert.ok(!kubectl(["get", "events", "-n", namespace, "-o", "yaml"]).includes(rsaLine));
    assert.ok(!JSON.stringify(badKey).includes(rsaLine));
  });
});
