// `npm run demo`: the product's main job on the local stack, start to finish. It brings up the
// stack (real Kafka, kube-apiserver + etcd, MinIO, the Pulumi CLI), deploys the operator with
// `pulumi up` (CRDs, namespace, per-controller ServiceAccounts and RBAC, Deployments) with the
// operator's image, built from the Dockerfile and loaded into the stack's local node, so the
// KafkaBackup and KafkaRestore controllers run as the Deployments' pods (`--local`: no node; they
// run as local processes under their ServiceAccounts instead); fills a topic and lets a consumer
// group read part of it, backs the topic up with a KafkaBackup, restores it into a new topic up to
// a point in time with the group's offsets translated, checks the result and prints a short
// report. `npm run demo -- down` cleans up.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Command } from "commander";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { commitGroupOffsets } from "../../engine/kafka/groups.ts";
import { repoRoot, stackConfig } from "../stack/config.ts";
import { serviceAccountKubeconfig } from "../stack/kube.ts";
import { context, readStackEnv, down as stackDown, up as stackUp } from "../stack/stack.ts";
import { PulumiWorkspace } from "../support/pulumi.ts";

// A namespace per run: the local stack has no kube-controller-manager, so a deleted namespace
// stays Terminating there and cannot be used again.
const namespace = `kbo-demo-${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}`;
const operatorNamespace = "kafka-backup-system";
const topic = "demo-orders";
const restored = "demo-orders-restored";
const group = "demo-billing";
const partitions = 3;
const perPartition = 20_000;
const started = Date.now();
const timings: Array<[string, number]> = [];

function step(what: string): () => void {
  const t = Date.now();
  process.stdout.write(`▸ ${what} …\n`);
  return () => {
    const seconds = (Date.now() - t) / 1000;
    timings.push([what, seconds]);
    process.stdout.write(`  done in ${seconds.toFixed(1)}s\n`);
  };
}

type Env = Record<string, string>;

function kubectl(env: Env, args: string[], input?: string): string {
  return execFileSync(env.KUBECTL as string, ["--kubeconfig", env.KUBECONFIG as string, ...args], {
    input,
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
  });
}

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

const statusOf = (env: Env, kind: string, name: string) =>
  (JSON.parse(kubectl(env, ["get", kind, name, "-n", namespace, "-o", "json"])) as { status?: Record<string, unknown> }).status ??
  {};

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A controller as its Deployment runs it: its own ServiceAccount, its namespace, leader election. */
async function startController(env: Env, name: string, serviceAccount: string, logDir: string): Promise<ChildProcess> {
  const kubeconfig = join(logDir, `${serviceAccount}.kubeconfig`);
  serviceAccountKubeconfig(env, operatorNamespace, serviceAccount, kubeconfig);
  const port = await freePort();
  const child = spawn(process.execPath, [join(repoRoot, "controllers", `${name}.ts`)], {
    env: {
      PATH: process.env.PATH ?? "",
      KUBECONFIG: kubeconfig,
      WATCH_NAMESPACES: namespace,
      LEADER_ELECTION_NAMESPACE: operatorNamespace,
      POD_NAME: `${name}-demo`,
      METRICS_PORT: String(port),
      METRICS_BIND_ADDRESS: "127.0.0.1",
      LOG_LEVEL: "info",
      PVC_MOUNT_ROOT: join(logDir, "pvc"),
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: false,
  });
  const log = join(logDir, `${name}.log`);
  writeFileSync(log, "");
  const { appendFileSync } = await import("node:fs");
  child.stdout?.on("data", (d: Buffer) => appendFileSync(log, d));
  child.stderr?.on("data", (d: Buffer) => appendFileSync(log, d));
  await waitFor(
    `the ${name} controller to be ready (log: ${log})`,
    async () => {
      if (child.exitCode !== null) throw new Error(`the ${name} controller exited; see ${log}`);
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return res?.ok ? true : undefined;
    },
    60_000,
  );
  return child;
}

/**
 * Earlier runs' resources go. Their controllers are gone, so the finalizers are taken off first
 * (the documented escape for an operator that is not coming back), then their namespaces deleted.
 */
function removeEarlierRuns(env: Env): void {
  const earlier = kubectl(env, ["get", "namespaces", "-o", "name"])
    .split("\n")
    .map((n) => n.replace("namespace/", ""))
    .filter((n) => n.startsWith("kbo-demo") && n !== namespace);
  for (const ns of earlier) {
    for (const kind of ["kafkabackups", "kafkarestores"]) {
      for (const name of kubectl(env, ["get", kind, "-n", ns, "-o", "name"]).split("\n").filter(Boolean)) {
        kubectl(env, ["patch", name, "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
        kubectl(env, ["delete", name, "-n", ns, "--ignore-not-found", "--wait=false"]);
      }
    }
    kubectl(env, ["delete", "namespace", ns, "--ignore-not-found", "--wait=false"]);
  }
}

async function demo(options: { local?: boolean }): Promise<void> {
  const pods = !options.local;
  const config = stackConfig(pods ? { node: true, operatorImage: true } : {});
  const ctx = context(config, (line) => process.stdout.write(`  ${line}\n`));
  let done = step(
    pods
      ? "bringing up the local stack (Kafka, kube-apiserver + etcd, MinIO, Pulumi, a node with the operator's image); the first run builds them"
      : "bringing up the local stack (Kafka, kube-apiserver + etcd, MinIO, Pulumi); the first run builds them",
  );
  await stackUp(ctx, pods ? ["kafka", "kube", "minio", "pulumi", "node"] : ["kafka", "kube", "minio", "pulumi"]);
  const env = readStackEnv(config) as Env;
  if (pods && !env.KBO_NODE_IMAGE) throw new Error("the local node has no operator image (npm run stack -- up --operator-image)");
  // The addresses the controllers use: as pods, Kafka's listener for pods and MinIO at the host's bridge address.
  const bootstrapServers = ((pods ? env.KAFKA_POD_BOOTSTRAP_SERVERS : env.KAFKA_BOOTSTRAP_SERVERS) as string).split(",");
  const s3Endpoint = pods ? env.KBO_NODE_S3_ENDPOINT : env.S3_ENDPOINT;
  done();
  const logDir = join(config.stateDir, "demo");
  mkdirSync(join(logDir, "pvc"), { recursive: true });

  done = step(`deploying the operator with pulumi up into ${operatorNamespace} (CRDs, RBAC, Deployments)`);
  // The namespace first: the controllers' grants are Roles in it (they watch it only).
  kubectl(env, ["create", "namespace", namespace]);
  const pulumi = new PulumiWorkspace();
  // Each run deploys from a fresh Pulumi state: take over the fields an earlier run's state owned.
  pulumi.env.PULUMI_K8S_ENABLE_PATCH_FORCE = "true";
  try {
    const program = pulumi.project("operator", repoRoot, ["infra", "crds", "node_modules", "package.json"]);
    // With --local the Deployments name an image nobody pulls here; the controllers run as local processes.
    await pulumi.stack(program, "demo", {
      image: pods ? (env.KBO_NODE_IMAGE as string) : "kafka-backup-operator:demo",
      namespace: operatorNamespace,
      // The controllers keep running after the demo (to look around): they watch its namespace
      // only, so they never act on anything else on the stack (the tests' own resources).
      watchNamespaces: [namespace],
      skipAwait: true,
      // The read-only web console beside the controllers (a pod of its own; with --local, not run).
      ...(pods ? { console: { enabled: true } } : {}),
    });
    const out = await pulumi.ok(["up", "--stack", "demo", "--yes", "--skip-preview"], program);
    const summary = /Resources:\s*\n([\s\S]*?)\n\s*\n/.exec(out)?.[1]?.trim().replace(/\s+/g, " ");
    if (summary) process.stdout.write(`  ${summary}\n`);
  } finally {
    pulumi.dispose();
  }
  kubectl(env, ["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"]);
  removeEarlierRuns(env);
  kubectl(
    env,
    ["apply", "-n", namespace, "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "minio-credentials" },
      stringData: { AWS_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY },
    }),
  );
  done();

  const controllers: ChildProcess[] = [];
  if (pods) {
    done = step("waiting for the KafkaBackup and KafkaRestore controllers' pods (the Deployments, from the operator's image)");
    for (const d of ["kafka-backup-controller", "kafka-restore-controller"])
      kubectl(env, ["rollout", "status", `deployment/${d}`, "-n", operatorNamespace, "--timeout=300s"]);
  } else {
    done = step("starting the KafkaBackup and KafkaRestore controllers (local processes, each with its own ServiceAccount)");
    controllers.push(
      await startController(env, "backup", "kafka-backup-controller", logDir),
      await startController(env, "restore", "kafka-restore-controller", logDir),
    );
  }
  done();

  const kafka = new KafkaClient({ bootstrapServers: (env.KAFKA_BOOTSTRAP_SERVERS as string).split(",") });
  try {
    done = step(`creating topic ${topic} with ${partitions * perPartition} orders and a consumer group that read part of it`);
    const admin = await kafka.admin();
    const existing = await admin.listTopics();
    const stale = [topic, restored].filter((t) => existing.includes(t));
    if (stale.length) {
      await admin.deleteTopics({ topics: stale });
      await sleep(2000);
    }
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    // Orders one second apart, starting two hours ago: the point in time is an hour later.
    const base = Date.now() - 2 * 3_600_000;
    const producer = kafka.kafka.producer({ idempotent: true });
    await producer.connect();
    for (let p = 0; p < partitions; p++) {
      for (let i = 0; i < perPartition; i += 5000) {
        await producer.send({
          topic,
          acks: -1,
          messages: Array.from({ length: 5000 }, (_, j) => ({
            partition: p,
            key: `customer-${(i + j) % 997}`,
            value: JSON.stringify({ order: `${p}-${i + j}`, amount: ((i + j) * 37) % 1000 }),
            timestamp: String(base + ((i + j) * 7200_000) / perPartition),
            headers: { source: "demo" },
          })),
        });
      }
    }
    await producer.disconnect();
    const pointInTime = new Date(base + 3_600_000).toISOString();
    const consumed = [4000, 7000, 12000];
    await commitGroupOffsets(
      kafka,
      group,
      consumed.map((offset, partition) => ({ topic, partition, offset })),
    );
    done();

    done = step("backing up with a KafkaBackup (to MinIO, zstd, consumer-group snapshot)");
    kubectl(
      env,
      ["apply", "-n", namespace, "-f", "-"],
      JSON.stringify({
        apiVersion: "kafka.oso.sh/v1alpha1",
        kind: "KafkaBackup",
        metadata: { name: "orders-backup" },
        spec: {
          kafkaCluster: { bootstrapServers },
          topics: [topic],
          storage: {
            storageType: "s3",
            s3: {
              bucket: env.S3_BUCKET,
              region: env.S3_REGION,
              endpoint: s3Endpoint,
              pathStyle: true,
              allowHttp: true,
              prefix: `demo-${Date.now()}`,
              credentialsSecret: { name: "minio-credentials" },
            },
          },
          compression: "zstd",
          consumerGroupSnapshot: true,
        },
      }),
    );
    const backup = await waitFor("the backup", () => {
      const s = statusOf(env, "kafkabackup", "orders-backup");
      if (s.phase === "Failed") throw new Error(`backup failed: ${s.message}`);
      if (s.phase === "Running" && typeof s.progressPercent === "number") {
        process.stdout.write(`  ${s.progressPercent}% ${s.recordsProcessed ?? 0} records\n`);
      }
      return s.phase === "Completed" ? s : undefined;
    });
    done();

    done = step(`restoring into ${restored} up to ${pointInTime}, the group's offsets carried over`);
    kubectl(
      env,
      ["apply", "-n", namespace, "-f", "-"],
      `apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaRestore
metadata:
  name: orders-restore
spec:
  backupRef:
    name: orders-backup
  kafkaCluster:
    bootstrapServers: ${JSON.stringify(bootstrapServers)}
  topics: ["${topic}"]
  topicMapping:
    ${topic}: ${restored}
  createTopics: true
  autoConsumerGroups: true
  pitr:
    endTime: "${pointInTime}"
`,
    );
    const restore = await waitFor("the restore", () => {
      const s = statusOf(env, "kafkarestore", "orders-restore");
      if (s.phase === "Failed") throw new Error(`restore failed: ${s.message}`);
      if (s.phase === "Running" && typeof s.progressPercent === "number") {
        process.stdout.write(`  ${s.progressPercent}% ${s.recordsRestored ?? 0} records\n`);
      }
      return s.phase === "Completed" ? s : undefined;
    });
    done();

    done = step("checking the result");
    // Record i is at base + i × 360 ms: records 0 … 10,000 of each partition are at or before the point in time.
    const expectedPerPartition = perPartition / 2 + 1;
    const ends = await kafka.endOffsets(restored);
    const problems: string[] = [];
    for (const e of ends) {
      if (e.high !== expectedPerPartition)
        problems.push(`${restored}/${e.partition} holds ${e.high}, expected ${expectedPerPartition}`);
    }
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [restored] });
    for (const p of offsets[0]?.partitions ?? []) {
      const expected = Math.min(consumed[p.partition] as number, expectedPerPartition);
      if (Number(p.offset) !== expected)
        problems.push(`${group} on ${restored}/${p.partition} at ${p.offset}, expected ${expected}`);
    }
    done();
    if (problems.length) throw new Error(`the demo's checks failed:\n  ${problems.join("\n  ")}`);

    let consoleLine = "not run (--local)";
    if (pods) {
      done = step("console: its pod (deployed by the same pulumi up) lists the backup set");
      kubectl(env, ["rollout", "status", "deployment/kafka-backup-console", "-n", operatorNamespace, "--timeout=300s"]);
      const podIp = kubectl(env, [
        "get",
        "pods",
        "-n",
        operatorNamespace,
        "-l",
        "app.kubernetes.io/component=kafka-backup-console",
        "-o",
        "jsonpath={.items[0].status.podIP}",
      ]).trim();
      await waitFor("the console's catalog", async () => {
        const page = await fetch(`http://${podIp}:8080/`).then(
          (r) => r.text(),
          () => "",
        );
        return page.includes(`data-backup-id="${backup.backupId}"`) ? true : undefined;
      });
      consoleLine = `${env.KUBECTL} -n ${operatorNamespace} port-forward svc/kafka-backup-console 8090:80, then http://127.0.0.1:8090/ (or http://${podIp}:8080/ from this machine)`;
      done();
    }

    const total = (Date.now() - started) / 1000;
    console.log(`
kafka-backup-operator demo — all checks passed in ${total.toFixed(0)}s
  source topic     ${topic}: ${partitions * perPartition} records in ${partitions} partitions
  backup           ${backup.backupId}: ${backup.recordsProcessed} records, ${backup.bytesProcessed} bytes
                   stored in MinIO bucket ${env.S3_BUCKET} (${env.S3_ENDPOINT})
  restore          ${restore.recordsRestored} records up to ${pointInTime} into ${restored}
  consumer group   ${group}: ${consumed.join(", ")} → ${(offsets[0]?.partitions ?? [])
    .sort((a, b) => a.partition - b.partition)
    .map((p) => p.offset)
    .join(", ")} on ${restored} (first record it had not read, within the window)
  offset mapping   ${restore.offsetMappingPath}
  controllers      ${
    pods
      ? `pods of the Deployments in ${operatorNamespace} (image ${env.KBO_NODE_IMAGE}); logs: ${env.KUBECTL} logs -n ${operatorNamespace} deployment/kafka-backup-controller`
      : `local processes; logs ${logDir}/backup.log, ${logDir}/restore.log`
  }
  console          ${consoleLine}
  timings          ${timings.map(([w, s]) => `${w.split(" ")[0]} ${s.toFixed(1)}s`).join(", ")}
Look around: KUBECONFIG=${env.KUBECONFIG} ${env.KUBECTL} get kafkabackups,kafkarestores -n ${namespace}
Clean up:    npm run demo -- down`);
  } finally {
    await kafka.close();
    for (const c of controllers) c.kill("SIGTERM");
  }
}

async function downAll(): Promise<void> {
  const config = stackConfig();
  const ctx = context(config, (line) => process.stdout.write(`  ${line}\n`));
  await stackDown(ctx);
  console.log("demo: the local stack is down (its data stays in .stack/ until `npm run stack -- down --purge`)");
}

const program = new Command("demo").description(
  "the main job on the local stack: back up a topic and restore it to a point in time",
);
program.option("--local", "no node: run the controllers as local processes under their ServiceAccounts").action(demo);
program.command("down").description("stop the local stack the demo started").action(downAll);
await program.parseAsync().catch((err: Error) => {
  console.error(`demo: ${err.message}`);
  process.exitCode = 1;
});
