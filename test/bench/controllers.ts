// The five bundled controllers (dist/, as in their images), each with many custom resources of its
// kind present: idle RSS once they have settled, and for KafkaBackup the latency from creating a one-shot backup to
// the controller writing phase Running (timestamps from a watch on the objects, in this process).
import { readFileSync } from "node:fs";
import { connectKube } from "../../engine/k8s/client.ts";
import { nodeFlags } from "../../infra/controllers.ts";
import { minioSecret, s3Storage } from "../support/e2e.ts";
import { applyCrds, createNamespace, kubectlTry, type RunningController, startController } from "../support/kube.ts";
import { stackEnv } from "../support/stack-env.ts";
import { percentile } from "./measure.ts";

const group = "kafka.oso.sh";
const version = "v1alpha1";
/** 29 February: the next tick is years away, so the objects stay idle (phase Ready). */
const farFuture = "0 0 29 2 *";

export interface ControllerIdle {
  controller: string;
  bundle: string;
  resources: number;
  resourceKind: string;
  /** Seconds from the controller's start until every resource showed the state awaited. */
  settleSeconds: number;
  idleRssMiB: number;
  peakRssMiB: number;
  /** From the controller's own metrics (prom-client's defaults): where the RSS goes. */
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  /** RSS that is neither V8's heap nor external memory: code, stacks, allocator arenas, TLS. */
  otherMiB: number;
  /** Namespaces the resources are spread over (one watch each). */
  namespaces: number;
  /** Requests to the API server per minute while idle (the controller's own counter, over the settle period). */
  idleApiRequestsPerMinute: number;
}

export interface ControllerBench {
  idle: ControllerIdle[];
  latency: {
    kind: "KafkaBackup one-shot";
    samples: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    /** Samples never seen Running (left out of the percentiles). */
    neverRunning: number;
    /** Samples not Completed or Failed within the wait. */
    unfinished: number;
    note: string;
  };
}

function rss(pid: number): { rssMiB: number; hwmMiB: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(s)?.[1] ?? Number.NaN);
  return { rssMiB: kib("VmRSS") / 1024, hwmMiB: kib("VmHWM") / 1024 };
}

async function inParallel<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
    }),
  );
}

/** Live heap, heap reserved and external memory as the controller reports them on /metrics. */
async function heap(port: number): Promise<{ heapUsedMiB: number; heapTotalMiB: number; externalMiB: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1] ?? Number.NaN) / 1024 / 1024;
  return {
    heapUsedMiB: gauge("nodejs_heap_size_used_bytes"),
    heapTotalMiB: gauge("nodejs_heap_size_total_bytes"),
    externalMiB: gauge("nodejs_external_memory_bytes"),
  };
}

/** The controller's own count of API requests (kafka_backup_operator_api_requests_total, all verbs and codes). */
async function apiRequests(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^kafka_backup_operator_api_requests_total(?:\{[^}]*\})? (\d+)/gm)) total += Number(m[1]);
  return total;
}

/** Idle figures: RSS and its split, and the request rate over the settle period. */
async function settle(pid: number, port: number, settleMs: number) {
  const before = await apiRequests(port);
  await new Promise((r) => setTimeout(r, settleMs));
  const requests = (await apiRequests(port)) - before;
  const m = rss(pid);
  const h = await heap(port);
  return {
    idleRssMiB: m.rssMiB,
    peakRssMiB: m.hwmMiB,
    ...h,
    otherMiB: m.rssMiB - h.heapTotalMiB - h.externalMiB,
    idleApiRequestsPerMinute: (requests * 60_000) / settleMs,
  };
}

/** The controller's own count of reconciliations, from its metrics endpoint. */
async function reconciliations(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^kafka_backup_operator_reconciliations_total(?:\{[^}]*\})? (\d+)/gm)) total += Number(m[1]);
  return total;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

type KafkaCluster = { bootstrapServers: string[] };

/** The run-once kinds, each with a valid spec; their objects are created already finished. */
const finishedKinds: Array<{
  controller: string;
  kind: string;
  plural: string;
  spec: (name: string, kafkaCluster: KafkaCluster) => Record<string, unknown>;
}> = [
  {
    controller: "restore",
    kind: "KafkaRestore",
    plural: "kafkarestores",
    spec: (name, kafkaCluster) => ({
      kafkaCluster,
      backupRef: { name, backupId: `${name}-20260101-000000` },
      topics: ["bench-idle"],
      topicMapping: { "bench-idle": "bench-idle-restored" },
    }),
  },
  {
    controller: "validation",
    kind: "KafkaBackupValidation",
    plural: "kafkabackupvalidations",
    spec: (name, kafkaCluster) => ({ kafkaCluster, backupRef: { name }, checks: { messageCount: { enabled: true } } }),
  },
  {
    controller: "offset-reset",
    kind: "KafkaOffsetReset",
    plural: "kafkaoffsetresets",
    spec: (_name, kafkaCluster) => ({
      kafkaCluster,
      consumerGroups: ["bench-idle"],
      topics: ["bench-idle"],
      resetStrategy: "to-earliest",
    }),
  },
  {
    controller: "offset-rollback",
    kind: "KafkaOffsetRollback",
    plural: "kafkaoffsetrollbacks",
    spec: (name, kafkaCluster) => ({
      kafkaCluster,
      snapshotRef: { name: "", offsetResetRef: name },
      consumerGroups: ["bench-idle"],
    }),
  },
];

export async function controllersBench(o: {
  resources: number;
  latencySamples: number;
  latencyTopic: string;
  settleMs: number;
  /** Namespaces the resources are spread over, round robin (default 1). */
  namespaces?: number;
  /** Which of the four run-once kinds' controllers to measure besides the backup controller's (default all). */
  controllers?: ReadonlySet<string>;
}): Promise<ControllerBench> {
  applyCrds();
  const kube = connectKube(stackEnv("KUBECONFIG"));
  const spaces = Array.from({ length: o.namespaces ?? 1 }, () => createNamespace("bench-ctl"));
  for (const ns of spaces) minioSecret(ns);
  // The one-shot latency samples go to the first namespace.
  const namespace = spaces[0] as string;
  const kafkaCluster = { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") };
  const objects = Array.from({ length: o.resources }, (_, i) => ({
    name: `idle-${String(i).padStart(4, "0")}`,
    namespace: spaces[i % spaces.length] as string,
  }));
  const running: RunningController[] = [];
  const env = { WATCH_NAMESPACES: spaces.join(","), LEADER_ELECTION_NAMESPACE: namespace, LOG_LEVEL: "warn" };
  // Started as the Deployments start them: `node <nodeFlags> <bundle>` (some of the flags are not
  // allowed in NODE_OPTIONS).
  const start = (bundle: string) => startController(bundle, env, stackEnv("KUBECONFIG"), nodeFlags);
  const list = async (plural: string) =>
    (
      await Promise.all(
        spaces.map(
          async (ns) =>
            (
              (await kube.objects.listNamespacedCustomObject({ group, version, namespace: ns, plural })) as {
                items: Array<{ metadata: { name: string }; status?: { phase?: string } }>;
              }
            ).items,
        ),
      )
    ).flat();
  try {
    // ── KafkaBackup: 1,000 scheduled backups, then one-shots for the latency ──
    await inParallel(objects, 16, ({ name, namespace }) =>
      kube.objects.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: "kafkabackups",
        body: {
          apiVersion: `${group}/${version}`,
          kind: "KafkaBackup",
          metadata: { name, labels: { bench: "idle" } },
          spec: { kafkaCluster, topics: ["bench-idle"], schedule: farFuture, storage: s3Storage(`bench-idle/${name}`) },
        },
      }),
    );
    const idle: ControllerIdle[] = [];
    let started = performance.now();
    const backupController = await start("dist/bench/controllers/backup.js");
    running.push(backupController);
    const pid = backupController.child.pid as number;
    await until(
      `${o.resources} KafkaBackups to be Ready`,
      async () => (await list("kafkabackups")).filter((b) => b.status?.phase === "Ready").length >= o.resources,
      600_000,
    );
    const settleSeconds = (performance.now() - started) / 1000;
    idle.push({
      controller: "backup",
      bundle: "dist/bench/controllers/backup.js",
      resources: o.resources,
      resourceKind: "KafkaBackup (scheduled, phase Ready)",
      namespaces: spaces.length,
      settleSeconds,
      ...(await settle(pid, backupController.metricsPort, o.settleMs)),
    });

    // Latency: one-shot backups of a small topic, created one every 250 ms with the 1,000 present.
    const created = new Map<string, number>();
    const runningAt = new Map<string, number>();
    const finished = new Set<string>();
    const watch = new AbortController();
    void kube.api
      .watch(
        `/apis/${group}/${version}/namespaces/${namespace}/kafkabackups`,
        { labelSelector: "bench=latency", timeoutSeconds: 3600 },
        (_type, raw) => {
          const obj = raw as { metadata: { name: string }; status?: { phase?: string } };
          const phase = obj.status?.phase;
          const name = obj.metadata.name;
          if ((phase === "Running" || phase === "Completed" || phase === "Failed") && !runningAt.has(name))
            runningAt.set(name, performance.now());
          if (phase === "Completed" || phase === "Failed") finished.add(name);
        },
        watch.signal,
        3_700_000,
      )
      .catch(() => {});
    for (let i = 0; i < o.latencySamples; i++) {
      const name = `oneshot-${String(i).padStart(3, "0")}`;
      created.set(name, performance.now());
      await kube.objects.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: "kafkabackups",
        body: {
          apiVersion: `${group}/${version}`,
          kind: "KafkaBackup",
          metadata: { name, labels: { bench: "latency" } },
          spec: { kafkaCluster, topics: [o.latencyTopic], storage: s3Storage(`bench-latency-${namespace}`) },
        },
      });
      await new Promise((r) => setTimeout(r, 250));
    }
    // One-shots that never finish are a finding, not a reason to lose the figures taken so far.
    let unfinished = 0;
    try {
      await until(
        "the one-shot backups to finish",
        async () => finished.size >= o.latencySamples,
        Math.max(120_000, o.latencySamples * 5_000),
      );
    } catch {
      unfinished = o.latencySamples - finished.size;
    } finally {
      watch.abort();
    }
    const latencies = [...created].flatMap(([name, t]) => {
      const at = runningAt.get(name);
      return at === undefined ? [] : [at - t];
    });
    const neverRunning = o.latencySamples - latencies.length;
    await backupController.stop();

    // ── The four run-once kinds: N finished objects each (status written before the controller
    // starts), reconciled once and left alone. Each controller runs alone, as in its Deployment.
    for (const k of finishedKinds.filter((k) => !o.controllers || o.controllers.has(k.controller))) {
      await inParallel(objects, 16, async ({ name, namespace }) => {
        const body = {
          apiVersion: `${group}/${version}`,
          kind: k.kind,
          metadata: { name, labels: { bench: "idle" } },
          spec: k.spec(name, kafkaCluster),
        };
        await kube.objects.createNamespacedCustomObject({ group, version, namespace, plural: k.plural, body });
        await kube.objects.patchNamespacedCustomObjectStatus({
          group,
          version,
          namespace,
          plural: k.plural,
          name,
          body: {
            status: { phase: "Completed", observedGeneration: 1, message: "bench: finished before the controller started" },
          },
        });
      });
      started = performance.now();
      const controller = await start(`dist/bench/controllers/${k.controller}.js`);
      running.push(controller);
      // A finished object is never touched again: settled once each has been reconciled once.
      await until(
        `${o.resources} ${k.plural} to be reconciled`,
        async () => (await reconciliations(controller.metricsPort)) >= o.resources,
        600_000,
      );
      const settleSeconds = (performance.now() - started) / 1000;
      idle.push({
        controller: k.controller,
        bundle: `dist/bench/controllers/${k.controller}.js`,
        resources: o.resources,
        resourceKind: `${k.kind} (phase Completed)${k.kind === "KafkaRestore" ? " + the KafkaBackups above" : ""}`,
        namespaces: spaces.length,
        settleSeconds,
        ...(await settle(controller.child.pid as number, controller.metricsPort, o.settleMs)),
      });
      await controller.stop();
    }
    return {
      idle,
      latency: {
        kind: "KafkaBackup one-shot",
        samples: latencies.length,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: Math.max(...latencies),
        neverRunning,
        unfinished,
        note: `created one every 250 ms with ${o.resources} scheduled KafkaBackups present; Running = first watch event with phase Running (or later); neverRunning = samples with no such event (left out of the percentiles), unfinished = not Completed or Failed in time`,
      },
    };
  } finally {
    for (const c of running) await c.stop("SIGKILL").catch(() => {});
    for (const ns of spaces) await releaseNamespace(ns).catch(() => {});
  }
}

/**
 * Deletes a bench namespace and its objects. The controllers may have put finalizers on them and
 * are stopped by now, so those are taken off first.
 */
export async function releaseNamespace(namespace: string): Promise<void> {
  const kube = connectKube(stackEnv("KUBECONFIG"));
  const plurals = ["kafkabackups", ...finishedKinds.map((k) => k.plural)];
  for (const plural of plurals) {
    const { items } = (await kube.objects.listNamespacedCustomObject({ group, version, namespace, plural })) as {
      items: Array<{ metadata: { name: string; finalizers?: string[] } }>;
    };
    await inParallel(
      items.filter((o) => o.metadata.finalizers?.length),
      16,
      (o) =>
        kube.objects.patchNamespacedCustomObject({
          group,
          version,
          namespace,
          plural,
          name: o.metadata.name,
          body: { metadata: { finalizers: null } },
        }),
    );
  }
  // The stack runs no namespace controller: the objects are deleted here, not by the namespace.
  kubectlTry(["delete", plurals.join(","), "--all", "-n", namespace, "--wait=false"]);
  kubectlTry(["delete", "namespace", namespace, "--wait=false"]);
}
