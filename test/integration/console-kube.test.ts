// The console as it runs in a cluster (controllers/console.ts), against the stack's API server and
// MinIO: it lists the KafkaBackups of the namespace it watches, reads each one's storage with that
// KafkaBackup's Secret, shows only the sets that KafkaBackup owns, gives a KafkaRestore that names
// the KafkaBackup, and says which Secret is missing when a KafkaBackup's storage cannot be opened.
// No Secret value reaches a page.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { runBackup } from "../../engine/backup/engine.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
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
  const store = await minioStore(prefix);
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
});
