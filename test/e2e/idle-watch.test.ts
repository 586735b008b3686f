// A controller left alone for three minutes, as most are most of the time: its watch stays up
// (no failures, no relists), /readyz answers 200 every second of it, and a resource created after
// the quiet spell is picked up within a second.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connectKube, type Kube } from "../../engine/k8s/client.ts";
import { applyCrds, createNamespace, deleteNamespace, type RunningController, startController } from "../support/kube.ts";
import { stackEnv } from "../support/stack-env.ts";

const idleMs = Number(process.env.IDLE_WATCH_MS ?? 180_000);
let controller: RunningController | undefined;
let namespace: string;
let kube: Kube;

before(() => {
  applyCrds();
  kube = connectKube(stackEnv("KUBECONFIG"));
  namespace = createNamespace("idle-watch");
});
after(async () => {
  await controller?.stop();
  deleteNamespace(namespace);
});

/** A counter's value (summed over its series); a labelled counter never incremented has none: 0. */
const metric = (text: string, name: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);

test(`an idle controller stays ready for ${idleMs / 1000} s and picks up a new resource within a second`, async () => {
  controller = await startController("controllers/restore.ts", {
    WATCH_NAMESPACES: namespace,
    LEADER_ELECTION_NAMESPACE: namespace,
  });
  const port = controller.metricsPort;
  const notReady: string[] = [];
  const until = Date.now() + idleMs;
  let probes = 0;
  while (Date.now() < until) {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(
      (err: Error) => ({ status: err.message }) as const,
    );
    probes++;
    if (res.status !== 200) notReady.push(`${new Date().toISOString()} ${res.status}`);
    await sleep(1000);
  }
  assert.deepEqual(notReady, [], `/readyz answered other than 200 (${notReady.length} of ${probes} probes)`);

  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.equal(metric(metrics, "kafka_backup_operator_watch_failures_total"), 0, "no watch failed while idle");
  assert.equal(metric(metrics, "kafka_backup_operator_watch_lists_total"), 1, "listed once, at start");

  const created = Date.now();
  await kube.objects.createNamespacedCustomObject({
    group: "kafka.oso.sh",
    version: "v1alpha1",
    plural: "kafkarestores",
    namespace,
    body: {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaRestore",
      metadata: { name: "after-idle" },
      spec: { backupRef: { name: "nothing-here" }, kafkaCluster: { bootstrapServers: ["127.0.0.1:9"] }, dryRun: true },
    },
  });
  let pickedUpMs: number | undefined;
  while (pickedUpMs === undefined && Date.now() - created < 5000) {
    const o = (await kube.objects.getNamespacedCustomObject({
      group: "kafka.oso.sh",
      version: "v1alpha1",
      plural: "kafkarestores",
      namespace,
      name: "after-idle",
    })) as { metadata: { finalizers?: string[] } };
    // The controller's first write on a new object is its finalizer.
    if (o.metadata.finalizers?.length) pickedUpMs = Date.now() - created;
    else await sleep(20);
  }
  console.log(`idle ${idleMs / 1000} s: ${probes} readiness probes all 200; a new KafkaRestore picked up in ${pickedUpMs} ms`);
  assert.ok(pickedUpMs !== undefined && pickedUpMs <= 1000, `picked up in ${pickedUpMs ?? "more than 5000"} ms, not within 1 s`);
  assert.equal(controller.child.exitCode, null);
});
