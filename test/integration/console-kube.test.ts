// The console as it runs in a cluster (controllers/console.ts), against the stack's API server and
// MinIO: it lists the KafkaBackups of the namespace it watches, reads each one's storage with that
// KafkaBackup's Secret, shows only the sets that KafkaBackup owns, gives a KafkaRestore that names
// the KafkaBackup, and says which Secret is missing when a KafkaBackup's storage cannot be opened;
// its restores and validations page shows each KafkaRestore's and KafkaBackupValidation's status
// (written here through the status subresource, as a controller would); evidence signatures are
// verified with the public key of the KafkaBackupValidation's Secret. No Secret value reaches a page.
import assert from "node:assert/strict";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { runBackup } from "../../engine/backup/engine.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { runRestore } from "../../engine/restore/restore.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { runValidation, storeEvidence } from "../../engine/validation/run.ts";
import { minioStorageSpec, minioStore } from "../support/backup.ts";
import { LeakSearch } from "../support/canaries.ts";
import {
  applyCrds,
  createNamespace,
  deleteNamespace,
  getObject,
  kubectl,
  type RunningController,
  startController,
} from "../support/kube.ts";
import { stackEnv } from "../support/stack-env.ts";

const run = randomUUID().slice(0, 8);
const topic = `console-kube-${run}`;
const prefix = `console-kube-${run}`;
let namespace: string;
let kafka: KafkaClient;
let consoleProgram: RunningController;
let store: StorageBackend;
let base: string;
const pages: Record<string, string> = {};

const fromHtml = (s: string) =>
  s.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&amp;", "&");

before(async () => {
  applyCrds();
  namespace = createNamespace("kbo-console");
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const producer = kafka.kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  await producer.disconnect();

  const { spec, secrets } = minioStorageSpec(prefix);
  const secret = (name: string, data: Record<string, string>) =>
    kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace }, stringData: data }),
    );
  for (const [name, data] of Object.entries(secrets)) secret(name, data);
  const kafkaBackup = (name: string, storage: unknown) =>
    kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "kafka.oso.sh/v1alpha1",
        kind: "KafkaBackup",
        metadata: { name, namespace },
        spec: { kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") }, topics: [topic], storage },
      }),
    );
  // Two KafkaBackups share the prefix; no controller runs, so this test writes the sets itself, as each one's owner.
  kafkaBackup("orders", spec);
  kafkaBackup("payments", spec);
  kafkaBackup("broken", { ...spec, s3: { ...spec.s3, credentialsSecret: { name: "no-such-secret" } } });
  store = await minioStore(prefix);
  for (const name of ["orders", "payments"]) {
    const uid = getObject<{ metadata: { uid: string } }>("kafkabackup", namespace, name).metadata.uid;
    const result = await runBackup(kafka, store, {
      backupId: `${namespace}.${name}-20261203-120000`,
      owner: { namespace, name, uid },
      selection: { topics: [topic] },
      mode: "snapshot",
      codec: "zstd",
      leaseHolder: "t",
    });
    assert.equal(result.records, 50);
  }

  // Evidence of each set, signed with the key pair of a KafkaBackupValidation's Secret (no
  // controller: the reports are stored as that validation stores them). orders' report is signed
  // with that key, payments' with another: the console verifies with the public half it reads.
  const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
  secret("evidence-signing", {
    "signing-key.pem": pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    "signing-key-pub.pem": pair.publicKey.export({ type: "spki", format: "pem" }) as string,
  });
  kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackupValidation",
      metadata: { name: "signed-checks", namespace },
      spec: {
        backupRef: { name: "orders" },
        checks: { messageCount: {} },
        evidence: { signing: { enabled: true, keySecret: { name: "evidence-signing" } } },
      },
    }),
  );
  for (const [name, key] of [
    ["orders", pair.privateKey],
    ["payments", generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey],
  ] as const) {
    const report = await runValidation(store, {
      backupId: `${namespace}.${name}-20261203-120000`,
      checks: { messageCount: {} },
      validation: { name: "signed-checks", namespace, triggeredBy: "test" },
    });
    await storeEvidence(store, report, { at: new Date(), signingKey: key });
  }

  consoleProgram = await startController("controllers/console.ts", { WATCH_NAMESPACES: namespace });
  base = `http://127.0.0.1:${consoleProgram.metricsPort}`;
});

after(async () => {
  await consoleProgram?.stop();
  await kafka?.close();
  if (namespace) deleteNamespace(namespace);
});

describe("web console in a cluster", () => {
  test("the catalog lists each KafkaBackup with only its own sets, and names the Secret a broken one lacks", async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    const text = await res.text();
    pages.catalog = text;
    const section = (name: string) =>
      new RegExp(`<section class="location" data-location="${namespace}/${name}">([\\s\\S]*?)</section>`).exec(text)?.[1] ?? "";
    const orders = section("orders");
    assert.match(orders, new RegExp(`<tr data-backup-id="${namespace}\\.orders-20261203-120000" data-state="complete">`));
    assert.doesNotMatch(orders, /payments-20261203/, "another KafkaBackup's set in the same prefix is not listed");
    assert.match(orders, /<td class="n records">50<\/td>/);
    assert.match(orders, /KafkaBackup phase <strong>unknown<\/strong>/, "no controller ran: the status is empty");
    assert.match(section("payments"), new RegExp(`${namespace}\\.payments-20261203-120000`));
    // The signatures, checked with the public key in the Secret the KafkaBackupValidation names.
    assert.match(orders, /Pass<\/span> <span class="signature signature-verified"[^>]*>\(signature verified\)/);
    assert.match(
      section("payments"),
      /\(signature INVALID\)<\/span><span class="why error">signed by key [0-9a-f]{64}, not by the given public key/,
    );
    assert.match(
      text,
      new RegExp(
        `<h2>${namespace}/broken</h2><p class="error">Could not read this location: [^<]*Secret ${namespace}/no-such-secret not found`,
      ),
    );
  });

  test("the picker's KafkaRestore names the KafkaBackup, and its dry run reads the set", async () => {
    const q = new URLSearchParams({
      location: `${namespace}/orders`,
      shown: "1",
      [`target.${topic}`]: `${topic}-r`,
      createTopics: "on",
      plan: "1",
    });
    const res = await fetch(`${base}/restore?${q}`);
    assert.equal(res.status, 200);
    const text = await res.text();
    pages.picker = text;
    assert.match(text, /data-records-total="50"/);
    assert.doesNotMatch(text, /class="problems"/);
    const manifest = parseYaml(fromHtml(/<pre id="manifest"><code>([\s\S]*?)<\/code><\/pre>/.exec(text)?.[1] ?? "")) as {
      metadata: { namespace: string };
      spec: { backupRef: unknown };
    };
    assert.equal(manifest.metadata.namespace, namespace);
    assert.deepEqual(manifest.spec.backupRef, { name: "orders", namespace, backupId: `${namespace}.orders-20261203-120000` });
    const search = new LeakSearch();
    search.add("catalog page", pages.catalog ?? "", "orders");
    search.add("picker page", pages.picker, "KafkaRestore");
    search.add("console logs", consoleProgram.logs(), "console serving");
    console.log(search.assertNone({ "S3 secret access key": stackEnv("S3_SECRET_ACCESS_KEY") }));
  });

  test("the restores and validations page shows each one's phase, progress, outcome and group translations", async () => {
    const now = new Date().toISOString();
    const cluster = { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") };
    const backupRef = { name: "orders", backupId: `${namespace}.orders-20261203-120000` };
    const object = (kind: string, name: string, spec: unknown, status: unknown) => {
      kubectl(
        ["apply", "-f", "-"],
        JSON.stringify({ apiVersion: "kafka.oso.sh/v1alpha1", kind, metadata: { name, namespace }, spec }),
      );
      kubectl([
        "patch",
        kind.toLowerCase(),
        name,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status }),
      ]);
    };
    // The completed restore's offset mapping report is a real one: the engine's restore of the set.
    const restored = await runRestore(kafka, store, {
      backupId: backupRef.backupId,
      restoreId: "orders-restored",
      selection: { topicMapping: { [topic]: `${topic}-r` } },
      createTopics: true,
    });
    assert.ok(restored.offsetMappingKey);
    const mappingPath = store.location(restored.offsetMappingKey);
    object(
      "KafkaRestore",
      "orders-restored",
      { backupRef, kafkaCluster: cluster, topics: [topic], topicMapping: { [topic]: `${topic}-r` }, autoConsumerGroups: true },
      {
        phase: "Completed",
        backupId: backupRef.backupId,
        progressPercent: 100,
        recordsRestored: 50,
        recordsTotal: 50,
        bytesRestored: 4096,
        offsetMappingPath: mappingPath,
        consumerGroups: [
          { groupId: "billing", committed: true, partitions: 1 },
          { groupId: "audit", committed: false, error: "the group has <live> members" },
        ],
        message: "restored 50 records; consumer groups: 1 of 2 carried over",
        conditions: [{ type: "Ready", status: "True", reason: "RestoreSucceeded", lastTransitionTime: now }],
      },
    );
    object(
      "KafkaRestore",
      "orders-running",
      { backupRef, kafkaCluster: cluster, topics: [topic], topicMapping: { [topic]: `${topic}-r2` } },
      { phase: "Running", progressPercent: 24, recordsRestored: 1200, recordsTotal: 5000, currentTopic: topic },
    );
    object(
      "KafkaBackupValidation",
      "orders-check",
      { backupRef, checks: { messageCount: {} } },
      {
        phase: "Completed",
        validationResult: "Fail",
        backupId: backupRef.backupId,
        checksTotal: 2,
        checksCompleted: 2,
        checksPassed: 1,
        checksFailed: 1,
        checkResults: [
          { checkName: "messageCount", outcome: "Passed", message: "50 records" },
          { checkName: "consumerGroupOffsets", outcome: "Failed", message: "group absent-group not in the snapshot" },
        ],
        evidenceReportPath: `s3://kbo-test/${prefix}/evidence/orders-check/evidence.json`,
        evidenceReportSigned: false,
        conditions: [
          { type: "Ready", status: "False", reason: "ValidationFailed", message: "1 check failed", lastTransitionTime: now },
        ],
      },
    );

    const res = await fetch(`${base}/operations`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const section = (kind: string, name: string) =>
      new RegExp(`<section class="${kind}" data-${kind}="${namespace}/${name}">([\\s\\S]*?)</section>`).exec(text)?.[1] ?? "";
    const done = section("restore", "orders-restored");
    assert.match(done, /class="phase phase-Completed">Completed</);
    assert.match(done, /data-records-restored="50" data-records-total="50">50 of 50 records \(100%\)/);
    assert.ok(done.includes(`<code>${mappingPath}</code>`), "the report's location");
    // Its contents, read from the KafkaBackup's storage: where each source partition landed.
    assert.match(
      done,
      new RegExp(
        `<tr data-source="${topic}/0"><td>${topic}/0</td><td>${topic}-r/0</td><td class="n">50</td><td>0–49</td><td>0–49</td><td class="n">1</td></tr>`,
      ),
    );
    assert.match(done, /1 of 2 carried over/);
    assert.match(done, /<tr data-group="billing" data-committed="true"><td>billing<\/td><td>yes<\/td><td class="n">1<\/td>/);
    assert.match(done, /<tr data-group="audit" data-committed="false">.*the group has &lt;live&gt; members/, "escaped");
    assert.match(done, /data-type="Ready" data-status="True">Ready=True \(RestoreSucceeded\)/);
    assert.match(done, new RegExp(`${namespace}/orders<br><span class="muted">${namespace}\\.orders-20261203-120000`));
    const running = section("restore", "orders-running");
    assert.match(running, /phase-Running">Running</);
    assert.match(running, /data-records-restored="1200" data-records-total="5000">1,200 of 5,000 records \(24%\)/);
    const validation = section("validation", "orders-check");
    assert.match(validation, /phase-Completed">Completed<\/span> <span class="verdict-fail">Fail</);
    assert.match(validation, /1 passed, 1 failed, 0 warned of 2/);
    assert.match(validation, /<tr data-check="consumerGroupOffsets" data-outcome="Failed">/);
    assert.match(validation, /evidence\.json<\/code> · unsigned/);
    assert.match(validation, /Ready=False \(ValidationFailed\): 1 check failed/);
    assert.doesNotMatch(text, /bootstrapServers|127\.0\.0\.1:\d+/, "no spec's cluster block on the page");
    const search = new LeakSearch();
    search.add("restores and validations page", text, "orders-restored");
    console.log(search.assertNone({ "S3 secret access key": stackEnv("S3_SECRET_ACCESS_KEY") }));
  });
});
