// Secret canaries across all five kinds: every kind of Secret the custom resources use holds a
// distinctive value — a SCRAM password (a Kafka user created for this test, over SASL_SSL), a TLS
// client key (mutual TLS on the SSL listener), MinIO's secret key, an Azure SAS token and account
// key (Azurite), a backup encryption key, an evidence signing key, a Slack webhook URL and a
// PagerDuty routing key — and each kind does real work with them, all five controllers running
// (at debug level, each on its ServiceAccount's token with the RBAC the component renders for a
// namespaced installation): an encrypted backup, a restore with a rollback snapshot and an offset mapping
// report, an offset reset with its snapshot in Azure, a rollback from it, and a validation with
// signed evidence that fails and notifies (Slack and PagerDuty answer 500). Failure paths too: a
// wrong MinIO key and a malformed encryption key, each a condition. Then every canary is searched
// for in the controllers' logs and /metrics, every resource's status, the Events, the ConfigMaps,
// what went to Slack and PagerDuty, and every object the work stored: none may appear. The web
// console (controllers/console.ts, on its own ServiceAccount) is run over the same KafkaBackups, and
// its pages (catalog, coverage, a submitted point-in-time picker with its dry run, restores and
// validations) and logs searched too.
// Not covered, because the stack cannot do it for real: GCS service-account keys (fake-gcs-server
// takes no credentials, and a key's token would come from Google), and SASL mechanisms other than
// SCRAM-SHA-512 (the brokers offer no SASL_PLAINTEXT, PLAIN, SCRAM-SHA-256 or OAUTHBEARER).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from "@azure/storage-blob";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { commitGroupOffsets } from "../../engine/kafka/groups.ts";
import type { StorageSpec } from "../../engine/storage/config.ts";
import { openStorage } from "../../engine/storage/open.ts";
import { consoleComponent, operatorControllers } from "../../infra/controllers.ts";
import { deployArgs, renderOperator } from "../../infra/render.ts";
import { stackConfig } from "../stack/config.ts";
import { serviceAccountKubeconfig } from "../stack/kube.ts";
import { readStackEnv } from "../stack/stack.ts";
import { minioStore } from "../support/backup.ts";
import { LeakSearch } from "../support/canaries.ts";
import { apply, events, minioSecret, s3Storage, topicWith } from "../support/e2e.ts";
import {
  applyCrds,
  createNamespace,
  deleteNamespace,
  getObject,
  kubectl,
  type RunningController,
  startController,
  waitFor,
} from "../support/kube.ts";
import { applyRbac } from "../support/rbac.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { stackEnv } from "../support/stack-env.ts";

interface Status {
  phase?: string;
  message?: string;
  backupId?: string;
  validationResult?: string;
  evidenceReportSigned?: boolean;
  offsetMappingPath?: string;
  snapshotPath?: string;
  verified?: boolean;
  rollback?: { snapshotPath: string };
  consumerGroups?: Array<{ groupId: string; committed: boolean }>;
}

const kinds = {
  KafkaBackup: { resource: "kafkabackup", name: "canary-backup" },
  KafkaRestore: { resource: "kafkarestore", name: "canary-restore" },
  KafkaOffsetReset: { resource: "kafkaoffsetreset", name: "canary-reset" },
  KafkaOffsetRollback: { resource: "kafkaoffsetrollback", name: "canary-rollback" },
  KafkaBackupValidation: { resource: "kafkabackupvalidation", name: "canary-validation" },
};
type Kind = keyof typeof kinds;

let kafka: KafkaClient;
let receiver: Receiver;
let namespace = "";
let operatorNs = "";
const controllers = new Map<Kind, RunningController>();
let consoleProgram: RunningController | undefined;

before(async () => {
  applyCrds();
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  receiver = await startReceiver();
});
after(async () => {
  for (const c of controllers.values()) await c.stop("SIGKILL");
  await consoleProgram?.stop("SIGKILL");
  if (operatorNs) deleteNamespace(operatorNs);
  await receiver.close();
  await kafka.close();
});

/** A SCRAM-SHA-512 user with this password, created with Kafka's own tool; returns once it can log in. */
async function scramUser(username: string, password: string): Promise<void> {
  execFileSync(
    "java",
    [
      "-cp",
      `${stackEnv("KAFKA_LIB")}/*`,
      "kafka.admin.ConfigCommand",
      "--bootstrap-server",
      stackEnv("KAFKA_BOOTSTRAP_SERVERS"),
      "--alter",
      "--add-config",
      `SCRAM-SHA-512=[password=${password}]`,
      "--entity-type",
      "users",
      "--entity-name",
      username,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const client = new KafkaClient({
    bootstrapServers: stackEnv("KAFKA_SASL_SSL_BOOTSTRAP_SERVERS").split(","),
    securityProtocol: "SASL_SSL",
    tls: { ca: readFileSync(stackEnv("KAFKA_CA_CERT"), "utf8") },
    sasl: { mechanism: "SCRAM-SHA-512", username, password },
  });
  try {
    await waitFor(
      "the SCRAM user to log in",
      async () => ((await (await client.admin()).listTopics()) ? true : undefined),
      30_000,
    );
  } finally {
    await client.close();
  }
}

const status = (kind: Kind) => getObject<{ status?: Status }>(kinds[kind].resource, namespace, kinds[kind].name).status ?? {};
const finished = (kind: Kind, timeoutMs = 120_000) =>
  waitFor(
    `${kind} to finish`,
    () => {
      const s = status(kind);
      return s.phase && !["Pending", "Running", "Scheduled"].includes(s.phase) ? s : undefined;
    },
    timeoutMs,
  );

test("canary values of every kind of Secret appear in no log, metric, status, Event, ConfigMap or stored object after all five kinds did real work", async () => {
  namespace = createNamespace("canaries");
  const id = randomUUID();
  const topic = await topicWith(kafka, 2, 200);
  const group = `canary-app-${id.slice(0, 8)}`;
  await commitGroupOffsets(kafka, group, [
    { topic, partition: 0, offset: 120 },
    { topic, partition: 1, offset: 150 },
  ]);

  // The Secrets, each holding a canary.
  const scram = { username: `canary-user-${id.slice(0, 8)}`, password: `CANARY-SASL-${randomUUID()}` };
  await scramUser(scram.username, scram.password);
  const clientKey = readFileSync(stackEnv("KAFKA_CLIENT_KEY"), "utf8");
  const caCert = readFileSync(stackEnv("KAFKA_CA_CERT"), "utf8");
  const signing = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const signingPem = signing.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const encryptionKey = randomBytes(32).toString("base64");
  const azure = {
    container: stackEnv("AZURE_CONTAINER"),
    accountName: stackEnv("AZURE_STORAGE_ACCOUNT"),
    endpoint: stackEnv("AZURE_BLOB_ENDPOINT"),
    prefix: `canaries-${id.slice(0, 8)}`,
  };
  const sasToken = generateBlobSASQueryParameters(
    {
      containerName: azure.container,
      permissions: ContainerSASPermissions.parse("racwdl"),
      expiresOn: new Date(Date.now() + 3600_000),
    },
    new StorageSharedKeyCredential(azure.accountName, stackEnv("AZURE_STORAGE_KEY")),
  ).toString();
  const slackPath = `/services/CANARY-SLACK-${randomUUID()}`;
  // Both services fail, so the failure path is exercised too (the requests still arrive).
  receiver.answer(slackPath, 500);
  receiver.answer("/v2/enqueue", 500);
  const pagerDutyKey = `CANARY-PD-${randomUUID()}`;
  const secret = (name: string, stringData: Record<string, string>) =>
    apply(namespace, { apiVersion: "v1", kind: "Secret", metadata: { name }, stringData });
  minioSecret(namespace);
  secret("kafka-scram", scram);
  secret("kafka-ca", { "ca.crt": caCert });
  secret("kafka-mtls", {
    "ca.crt": caCert,
    "tls.crt": readFileSync(stackEnv("KAFKA_CLIENT_CERT"), "utf8"),
    "tls.key": clientKey,
  });
  secret("backup-encryption", { key: encryptionKey });
  secret("azure-sas", { AZURE_SAS_TOKEN: sasToken });
  secret("azure-key", { AZURE_STORAGE_KEY: stackEnv("AZURE_STORAGE_KEY") });
  secret("evidence-signing", {
    "signing-key.pem": signingPem,
    "signing-key-pub.pem": signing.publicKey.export({ type: "spki", format: "pem" }).toString(),
  });
  secret("validation-slack", { url: `${receiver.url}${slackPath}` });
  secret("validation-pagerduty", { "routing-key": pagerDutyKey });
  // Values that are wrong, for the failure paths, where a value is likeliest to be quoted.
  const wrongS3Key = `CANARY-S3-WRONG-${randomUUID()}`;
  const notAKey = `CANARY-NOT-A-KEY-${randomUUID()}`;
  secret("minio-wrong", { AWS_ACCESS_KEY_ID: stackEnv("S3_ACCESS_KEY_ID"), AWS_SECRET_ACCESS_KEY: wrongS3Key });
  secret("encryption-wrong", { key: notAKey });
  const pemLine = (pem: string) => pem.split("\n")[1] as string;
  const canaries = {
    "SCRAM password": scram.password,
    "TLS client key": pemLine(clientKey),
    "S3 secret access key": stackEnv("S3_SECRET_ACCESS_KEY"),
    "Azure SAS signature": decodeURIComponent(new URLSearchParams(sasToken).get("sig") ?? ""),
    "Azure SAS token": sasToken,
    "Azure account key": stackEnv("AZURE_STORAGE_KEY"),
    "backup encryption key": encryptionKey,
    "evidence signing key": pemLine(signingPem),
    "Slack webhook": slackPath.slice("/services/".length),
    "PagerDuty routing key": pagerDutyKey,
    "wrong S3 secret key": wrongS3Key,
    "malformed encryption key": notAKey,
  };

  const sasl = {
    bootstrapServers: stackEnv("KAFKA_SASL_SSL_BOOTSTRAP_SERVERS").split(","),
    securityProtocol: "SASL_SSL",
    caSecret: { name: "kafka-ca" },
    saslSecret: { name: "kafka-scram", mechanism: "SCRAM-SHA-512" },
  };
  const mtls = {
    bootstrapServers: stackEnv("KAFKA_SSL_BOOTSTRAP_SERVERS").split(","),
    securityProtocol: "SSL",
    tlsSecret: { name: "kafka-mtls", caKey: "ca.crt", certKey: "tls.crt", keyKey: "tls.key" },
  };
  // Each controller on its own ServiceAccount's token, with the RBAC the component renders for a
  // namespaced installation watching this namespace: what it may do is what it does in a cluster.
  operatorNs = `${namespace}-operator`;
  applyRbac(
    await renderOperator({ ...deployArgs, namespace: operatorNs, watchNamespaces: [namespace], console: { enabled: true } }),
  );
  const kubeconfigs = mkdtempSync(join(tmpdir(), "kbo-canaries-"));
  for (const c of operatorControllers) {
    const kubeconfig = serviceAccountKubeconfig(readStackEnv(stackConfig()), operatorNs, c.component, join(kubeconfigs, c.name));
    const env = {
      WATCH_NAMESPACES: namespace,
      LEADER_ELECTION_NAMESPACE: operatorNs,
      LOG_LEVEL: "debug",
      PAGERDUTY_EVENTS_URL: `${receiver.url}/v2/enqueue`,
    };
    controllers.set(c.kind, await startController(`controllers/${c.name}.ts`, env, kubeconfig));
  }
  const resource = (kind: Kind, spec: Record<string, unknown>) =>
    apply(namespace, { apiVersion: "kafka.oso.sh/v1alpha1", kind, metadata: { name: kinds[kind].name }, spec });

  // An encrypted backup over SASL_SSL into MinIO, with the consumer groups' offsets.
  const s3Prefix = `e2e-canaries-${id.slice(0, 8)}`;
  resource("KafkaBackup", {
    kafkaCluster: sasl,
    topics: [topic],
    storage: s3Storage(s3Prefix),
    consumerGroupSnapshot: true,
    encryption: { keySecret: { name: "backup-encryption" } },
  });
  const backup = await finished("KafkaBackup");
  assert.equal(backup.phase, "Completed", backup.message);

  // Failure paths: MinIO refuses a wrong secret key; a malformed encryption key is refused before
  // any work. Both become conditions (checked below, after the other work).
  const failing = {
    "canary-wrong-s3": {
      storage: { ...s3Storage(s3Prefix), s3: { ...s3Storage(s3Prefix).s3, credentialsSecret: { name: "minio-wrong" } } },
    },
    "canary-wrong-key": { storage: s3Storage(s3Prefix), encryption: { keySecret: { name: "encryption-wrong" } } },
  };
  for (const [name, spec] of Object.entries(failing))
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name },
      spec: { kafkaCluster: sasl, topics: [topic], ...spec },
    });

  // A restore over mutual TLS with a rollback snapshot (a ConfigMap) and the groups carried over;
  // a validation over SASL_SSL with signed evidence in Azure (account key), failing on a group the
  // snapshot lacks, so Slack and PagerDuty are told.
  const restored = `${topic}-restored`;
  resource("KafkaRestore", {
    backupRef: { name: kinds.KafkaBackup.name },
    kafkaCluster: mtls,
    topics: [topic],
    topicMapping: { [topic]: restored },
    createTopics: true,
    autoConsumerGroups: true,
    rollback: { snapshotBeforeRestore: true },
  });
  resource("KafkaBackupValidation", {
    backupRef: { name: kinds.KafkaBackup.name },
    kafkaCluster: sasl,
    checks: { messageCount: {}, deepIntegrity: {}, consumerGroupOffsets: { consumerGroups: [group, "absent-group"] } },
    evidence: {
      signing: { enabled: true, keySecret: { name: "evidence-signing" } },
      storage: { storageType: "azure", azure: { ...azure, credentialsSecret: { name: "azure-key" } } },
    },
    notifications: {
      slack: { webhookSecret: { name: "validation-slack", key: "url" } },
      pagerduty: { routingKeySecret: { name: "validation-pagerduty", key: "routing-key" } },
    },
  });
  const restore = await finished("KafkaRestore");
  assert.equal(restore.phase, "Completed", restore.message);
  assert.deepEqual(
    restore.consumerGroups?.map((g) => [g.groupId, g.committed]),
    [[group, true]],
  );
  assert.match(restore.rollback?.snapshotPath ?? "", /^configmap\//);
  const validation = await finished("KafkaBackupValidation");
  assert.equal(validation.validationResult, "Fail", validation.message);
  assert.equal(validation.evidenceReportSigned, true);
  const slack = await waitFor("the Slack message", () => receiver.requests.find((r) => r.path === slackPath));
  await waitFor("the failed notifications' Events", () =>
    events(namespace, kinds.KafkaBackupValidation.name).filter((e) => e.reason === "NotificationFailed").length === 2
      ? true
      : undefined,
  );
  const pagerDuty = await waitFor("the PagerDuty event", () =>
    receiver.requests.find((r) => r.path === "/v2/enqueue" && JSON.stringify(r.json).includes(pagerDutyKey)),
  );

  // An offset reset over SASL_SSL with its snapshot in Azure (SAS token), and a rollback over mutual TLS.
  resource("KafkaOffsetReset", {
    kafkaCluster: sasl,
    consumerGroups: [group],
    topics: [topic],
    resetStrategy: "to-earliest",
    snapshotStorage: { storage: { storageType: "azure", azure: { ...azure, sasTokenSecret: { name: "azure-sas" } } } },
  });
  const reset = await finished("KafkaOffsetReset");
  assert.equal(reset.phase, "Completed", reset.message);
  assert.match(reset.snapshotPath ?? "", new RegExp(`${azure.prefix}/`));
  resource("KafkaOffsetRollback", {
    snapshotRef: { name: "", offsetResetRef: kinds.KafkaOffsetReset.name },
    kafkaCluster: mtls,
  });
  const rollback = await finished("KafkaOffsetRollback");
  assert.equal(rollback.phase, "Completed", rollback.message);
  assert.equal(rollback.verified, true);
  const [offsets] = await (await kafka.admin()).fetchOffsets({ groupId: group, topics: [topic] });
  assert.deepEqual(offsets?.partitions.map((p) => [p.partition, Number(p.offset)]).sort(), [
    [0, 120],
    [1, 150],
  ]);

  for (const name of Object.keys(failing)) {
    const ready = await waitFor(`${name}'s condition`, () =>
      getObject<{ status?: { conditions?: Array<{ type: string; status: string; message: string }> } }>(
        "kafkabackup",
        namespace,
        name,
      ).status?.conditions?.find((c) => c.type === "Ready" && c.status === "False"),
    );
    assert.match(ready.message, name === "canary-wrong-s3" ? /minio-wrong|denied|signature|credential/i : /encryption/i);
    console.log(`${name}: Ready=False "${ready.message.slice(0, 160)}"`);
  }

  // The console over these KafkaBackups, on its ServiceAccount's token with the RBAC the component
  // renders: the catalog (with the two failing ones), the coverage page, and the picker with a
  // submitted form, whose dry run reads the encrypted set and asks the SASL_SSL cluster.
  consoleProgram = await startController(
    "controllers/console.ts",
    { WATCH_NAMESPACES: namespace, LOG_LEVEL: "debug" },
    serviceAccountKubeconfig(readStackEnv(stackConfig()), operatorNs, consoleComponent, join(kubeconfigs, "console")),
  );
  const consoleBase = `http://127.0.0.1:${consoleProgram.metricsPort}`;
  const page = async (path: string) => {
    const res = await fetch(`${consoleBase}${path}`);
    const text = await res.text();
    assert.equal(res.status, 200, `${path}: ${text.slice(0, 500)}`);
    return text;
  };
  const consoleLocation = `${namespace}/${kinds.KafkaBackup.name}`;
  const consolePages = {
    catalog: await page("/"),
    coverage: await page(`/coverage?${new URLSearchParams({ location: consoleLocation })}`),
    picker: await page(
      `/restore?${new URLSearchParams({ location: consoleLocation, shown: "1", [`target.${topic}`]: `${topic}-console`, createTopics: "on", plan: "1" })}`,
    ),
  };
  // The restores and validations page over the real KafkaRestore and KafkaBackupValidation.
  const operationsPage = await page("/operations");
  assert.match(operationsPage, new RegExp(`<tr data-group="${group}" data-committed="true">`));
  assert.match(operationsPage, /<span class="verdict-fail">Fail</);
  assert.match(consolePages.catalog, /canary-wrong-s3/);
  assert.match(consolePages.picker, /data-records-total="400"/, "the picker's dry run read the encrypted set");
  assert.doesNotMatch(consolePages.picker, /class="problems"/);

  // Every place a value could end up.
  const search = new LeakSearch();
  search.add("console catalog page", consolePages.catalog, backup.backupId as string);
  search.add("console coverage page", consolePages.coverage, topic);
  search.add("console picker page", consolePages.picker, "KafkaRestore");
  search.add("console restores and validations page", operationsPage, kinds.KafkaRestore.name);
  search.add("console logs", consoleProgram.logs(), "console request");
  assert.doesNotMatch(consoleProgram.logs(), /forbidden/i, "the console was refused something");
  for (const [kind, { resource: r, name }] of Object.entries(kinds) as Array<[Kind, (typeof kinds)[Kind]]>) {
    search.add(`${kind} status`, kubectl(["get", r, "-n", namespace, "-o", "yaml"]), name);
    // Every controller names the namespace it watches when it starts (not all log each run).
    await search.addController(kind, controllers.get(kind) as RunningController, namespace);
    assert.doesNotMatch(controllers.get(kind)?.logs() ?? "", /forbidden/i, `${kind} controller was refused something`);
  }
  // What went out to Slack and PagerDuty (less the routing key, which PagerDuty must get).
  search.add("Slack message", slack.body, kinds.KafkaBackupValidation.name);
  search.add(
    "PagerDuty event",
    JSON.stringify({ ...(pagerDuty.json as object), routing_key: "" }),
    kinds.KafkaBackupValidation.name,
  );
  search.add("Events", kubectl(["get", "events", "-n", namespace, "-o", "yaml"]), kinds.KafkaRestore.name);
  search.add("ConfigMaps", kubectl(["get", "configmaps", "-n", namespace, "-o", "yaml"]), group);
  const stored = await search.addStoredObjects("s3", await minioStore(s3Prefix));
  const azureStore = await openStorage(
    { storageType: "azure", azure: { ...azure, credentialsSecret: { name: "azure-key" } } } as StorageSpec,
    async () => stackEnv("AZURE_STORAGE_KEY"),
  );
  const storedAzure = await search.addStoredObjects("azure", azureStore);
  // Positive controls among the stored objects: the offset mapping report, the reset's snapshot
  // and the evidence reports (and their signatures) are there and were read.
  const texts = [...search.places].filter(([place]) => place.startsWith("s3:") || place.startsWith("azure:"));
  const holding = (pattern: RegExp, known: string) =>
    texts.filter(([place, text]) => pattern.test(place) && text.length > 0 && text.includes(known)).map(([place]) => place);
  assert.equal(holding(/offset-mapping\.json$/, group).length, 1, "the offset mapping report");
  assert.equal(holding(/^azure:.*offset-snapshots\//, group).length, 1, "the reset's snapshot");
  assert.equal(holding(/evidence\.json$/, backup.backupId as string).length, 1, "the evidence report");
  assert.equal(holding(/evidence\.json\.sig$/, "").length, 1, "the evidence signature");

  console.log(search.assertNone(canaries));
  console.log(
    `searched: 5 controllers' logs and metrics, the console's 4 pages and logs, 5 kinds' status, the Slack message and PagerDuty event, Events, ConfigMaps, ${stored} objects in MinIO, ${storedAzure} in Azurite`,
  );
});
