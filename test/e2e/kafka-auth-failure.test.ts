// A wrong SCRAM password: the KafkaBackup gets a condition that says what failed (never the
// password), one Warning Event, and the controller does not hammer the broker or the API server
// (reconciles of the object stay few).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LeakSearch } from "../support/canaries.ts";
import { apply, events, minioSecret, s3Storage } from "../support/e2e.ts";
import {
  applyCrds,
  createNamespace,
  getObject,
  kubectl,
  type RunningController,
  startController,
  waitFor,
} from "../support/kube.ts";
import { stackEnv } from "../support/stack-env.ts";

let controller: RunningController | undefined;
/** Reconciles of the failed object in all, 15 s after the failure: no retry storm. */
const maxReconciles = 6;
before(() => applyCrds());
after(async () => {
  await controller?.stop("SIGKILL");
});

test("a wrong SASL password is a clear condition, the password appears nowhere, and there is no retry storm", async () => {
  const namespace = createNamespace("kb-auth");
  const canary = `canary-password-${Date.now()}`;
  minioSecret(namespace);
  kubectl([
    "create",
    "secret",
    "generic",
    "kafka-user",
    "-n",
    namespace,
    `--from-literal=username=${stackEnv("KAFKA_SCRAM_USERNAME")}`,
    `--from-literal=password=${canary}`,
  ]);
  kubectl(["create", "secret", "generic", "cluster-ca", "-n", namespace, `--from-file=ca.crt=${stackEnv("KAFKA_CA_CERT")}`]);
  controller = await startController("controllers/backup.ts", {
    WATCH_NAMESPACES: namespace,
    LEADER_ELECTION_NAMESPACE: namespace,
  });
  apply(namespace, {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaBackup",
    metadata: { name: "wrong-password" },
    spec: {
      kafkaCluster: {
        bootstrapServers: stackEnv("KAFKA_SASL_SSL_BOOTSTRAP_SERVERS").split(","),
        securityProtocol: "SASL_SSL",
        caSecret: { name: "cluster-ca" },
        saslSecret: { name: "kafka-user", mechanism: "SCRAM-SHA-512" },
      },
      topics: ["anything"],
      storage: s3Storage(`e2e-auth-${namespace}`),
    },
  });
  const ready = await waitFor(
    "a Ready=False condition",
    () =>
      getObject<{
        status?: { phase?: string; conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
      }>("kafkabackup", namespace, "wrong-password").status?.conditions?.find((c) => c.type === "Ready" && c.status === "False"),
    120_000,
  );
  assert.equal(ready.reason, "AuthenticationFailed", ready.message);
  assert.match(ready.message, /authentication/i);
  // Nothing more happens by itself: a one-shot that failed stays failed until its spec changes.
  await sleep(15_000);
  const metrics = await (await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`)).text();
  const reconciles = Number(/kafka_backup_operator_reconciliations_total\{kind="KafkaBackup"\} (\d+)/.exec(metrics)?.[1]);
  // The bound docs/reliability.md states.
  assert.ok(reconciles > 0 && reconciles <= maxReconciles, `${reconciles} reconciles of one object`);
  const warnings = events(namespace, "wrong-password").filter((e) => e.reason === "AuthenticationFailed");
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  // The password is nowhere: status, Events, logs, metrics.
  const search = new LeakSearch();
  search.add("status", kubectl(["get", "kafkabackup", "wrong-password", "-n", namespace, "-o", "yaml"]), "AuthenticationFailed");
  search.add("Events", kubectl(["get", "events", "-n", namespace, "-o", "yaml"]), "AuthenticationFailed");
  await search.addController("backup controller", controller, namespace);
  console.log(search.assertNone({ "SCRAM password": canary }));
  console.log(`wrong password: Ready=False ${ready.reason} after ${reconciles} reconciles; "${ready.message.slice(0, 120)}"`);
});
