// The operator as it runs in production, on the local node (`npm run stack -- up --operator-image`):
// the KafkaBackupOperator component's own objects (rendered from infra/, as `npm run render` does
// for users without Pulumi) applied to the API server, the backup controller's Deployment run by
// the real Deployment and ReplicaSet controllers as a pod from the image built from the
// Dockerfile, its readiness probe passing, its securityContext enforced by runc, its credentials
// from the API server through its projected ServiceAccount token; a KafkaBackup of a real topic
// runs in that pod, to MinIO, and the objects written are read back. Skipped without the node.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { openStorage } from "../../engine/storage/open.ts";
import { operatorControllers } from "../../infra/controllers.ts";
import { renderOperator } from "../../infra/render.ts";
import { createTopic, deleteTopic, fill } from "../bench/kafka-tools.ts";
import { stackConfig } from "../stack/config.ts";
import { readStackEnv } from "../stack/stack.ts";
import { type JavaRecord, javaDump, minioStore, readBackup } from "../support/backup.ts";
import { apply, minioSecret, podS3Storage, topicWith } from "../support/e2e.ts";
import { applyCrds, createNamespace, deleteNamespace, getObject, kubectl, kubectlTry, waitFor } from "../support/kube.ts";

const env = { ...readStackEnv(stackConfig()), ...process.env };
const skip =
  env.KBO_NODE_IMAGE && env.KAFKA_POD_BOOTSTRAP_SERVERS && env.KBO_NODE_S3_ENDPOINT
    ? false
    : "no operator image on a local node (npm run stack -- up --operator-image)";

interface Status {
  phase?: string;
  backupId?: string;
  recordsProcessed?: number;
  message?: string;
  job?: { succeeded?: number };
}

describe("the backup controller as a pod from the operator's image", { skip }, () => {
  let operatorNamespace = "";
  let namespace = "";
  let objects: Record<string, unknown>[] = [];
  let kafka: KafkaClient;
  let volumeRoot = "";
  const claim = "kbo-backups";

  before(async () => {
    applyCrds();
    namespace = createNamespace("pod-backup");
    operatorNamespace = createNamespace("kbo-system");
    minioSecret(namespace);
    kafka = new KafkaClient({ bootstrapServers: String(env.KAFKA_BOOTSTRAP_SERVERS).split(",") });
    // PVC storage as a cluster offers it: a hostPath PersistentVolume (a folder of this machine,
    // writable by the pods' uid) bound to a claim in the operator's namespace, which the
    // component mounts in the controller at /data/<claim>.
    volumeRoot = mkdtempSync(join(tmpdir(), "kbo-pv-"));
    mkdirSync(join(volumeRoot, claim));
    chmodSync(join(volumeRoot, claim), 0o777);
    kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: `${operatorNamespace}-${claim}` },
        spec: {
          capacity: { storage: "1Gi" },
          accessModes: ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: "Retain",
          storageClassName: "kbo-hostpath",
          hostPath: { path: join(volumeRoot, claim), type: "Directory" },
          claimRef: { namespace: operatorNamespace, name: claim },
        },
      }),
    );
    kubectl(
      ["apply", "-n", operatorNamespace, "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: claim },
        spec: {
          accessModes: ["ReadWriteOnce"],
          storageClassName: "kbo-hostpath",
          volumeName: `${operatorNamespace}-${claim}`,
          resources: { requests: { storage: "1Gi" } },
        },
      }),
    );
    objects = await renderOperator({
      image: String(env.KBO_NODE_IMAGE),
      namespace: operatorNamespace,
      createNamespace: false,
      installCrds: false,
      watchNamespaces: [namespace],
      controllers: operatorControllers.filter((c) => c.name === "backup" || c.name === "restore"),
      pvcClaims: [claim],
      console: { enabled: true },
    });
    for (const o of objects) kubectl(["apply", "-f", "-"], JSON.stringify(o));
  });

  after(async () => {
    await kafka?.close();
    for (const o of [...objects].reverse())
      kubectlTry(["delete", "--ignore-not-found", "--wait=false", "-f", "-"], JSON.stringify(o));
    deleteNamespace(namespace);
    deleteNamespace(operatorNamespace);
    kubectlTry(["delete", "pv", "--ignore-not-found", "--wait=false", `${operatorNamespace}-${claim}`]);
    if (volumeRoot) rmSync(volumeRoot, { recursive: true, force: true });
  });

  const controllerPod = () => {
    const pods = JSON.parse(
      kubectl([
        "get",
        "pods",
        "-n",
        operatorNamespace,
        "-l",
        "app.kubernetes.io/component=kafka-backup-controller",
        "-o",
        "json",
      ]),
    ) as { items: Array<{ metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }> } }> };
    return pods.items[0];
  };

  test("the Deployment becomes Available: a pod from the image, its readiness probe passing", async () => {
    await waitFor(
      "the Deployment to be Available",
      () => {
        const d = getObject<{ status?: { availableReplicas?: number } }>(
          "deployment",
          operatorNamespace,
          "kafka-backup-controller",
        );
        return (d.status?.availableReplicas ?? 0) >= 1 || undefined;
      },
      180_000,
    );
    const pod = controllerPod();
    assert.equal(pod?.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
  });

  test("runc enforces the securityContext: uid 1000, read-only root, a writable /tmp", () => {
    const pod = controllerPod()?.metadata.name ?? "";
    const out = kubectl([
      "exec",
      "-n",
      operatorNamespace,
      pod,
      "--",
      "sh",
      "-c",
      "id -u; touch /app/x 2>/dev/null && echo root-writable || echo root-read-only; touch /tmp/x && echo tmp-writable",
    ]);
    assert.deepEqual(out.trim().split("\n"), ["1000", "root-read-only", "tmp-writable"]);
  });

  test("a KafkaBackup runs in the controller's pod and completes, its segments in MinIO", async () => {
    const topic = await topicWith(kafka, 2, 300);
    const prefix = `e2e-pod-${namespace}`;
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "from-a-pod" },
      spec: {
        // The addresses a pod uses: Kafka's listener for pods and MinIO at the host's bridge address.
        kafkaCluster: { bootstrapServers: String(env.KAFKA_POD_BOOTSTRAP_SERVERS).split(",") },
        topics: [topic],
        storage: podS3Storage(prefix),
      },
    });
    const done = await waitFor(
      "the backup to finish",
      () => {
        const s = getObject<{ status?: Status }>("kafkabackup", namespace, "from-a-pod").status ?? {};
        return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
      },
      180_000,
    );
    assert.equal(done.phase, "Completed", done.message);
    assert.equal(done.recordsProcessed, 600);
    const { records } = await readBackup(await minioStore(prefix), done.backupId as string);
    assert.equal(
      [...records.values()].reduce((n, r) => n + r.length, 0),
      600,
    );
    const logs = kubectl(["logs", "-n", operatorNamespace, controllerPod()?.metadata.name ?? ""]);
    assert.match(logs, /from-a-pod/);
  });

  test("the console's pod from the image serves the catalog: the KafkaBackup's set, read with its Secret", async () => {
    type Pod = { status?: { podIP?: string; conditions?: Array<{ type: string; status: string }> } };
    const pod = await waitFor(
      "the console's pod to be Ready",
      () => {
        const pods = JSON.parse(
          kubectl([
            "get",
            "pods",
            "-n",
            operatorNamespace,
            "-l",
            "app.kubernetes.io/component=kafka-backup-console",
            "-o",
            "json",
          ]),
        ) as { items: Pod[] };
        return pods.items.find((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
      },
      180_000,
    );
    // The pod's address on the node's bridge, as a Service would reach it.
    const backupId = getObject<{ status?: Status }>("kafkabackup", namespace, "from-a-pod").status?.backupId as string;
    const page = await waitFor(
      "the catalog to list the set",
      async () => {
        const res = await fetch(`http://${pod.status?.podIP}:8080/`);
        const text = await res.text();
        return res.status === 200 && text.includes(`data-backup-id="${backupId}"`) ? text : undefined;
      },
      60_000,
    );
    assert.match(page, new RegExp(`data-location="${namespace}/from-a-pod"`));
    assert.ok(!page.includes(String(env.S3_SECRET_ACCESS_KEY)), "no Secret value on the page");
  });

  test("storageType pvc: a KafkaBackup to the claim mounted in the controller's pod completes; its segments are on the volume", async () => {
    const topic = await topicWith(kafka, 2, 250);
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "to-a-claim" },
      spec: {
        kafkaCluster: { bootstrapServers: String(env.KAFKA_POD_BOOTSTRAP_SERVERS).split(",") },
        topics: [topic],
        storage: { storageType: "pvc", pvc: { claimName: claim } },
        segmentMaxRecords: 100,
      },
    });
    const done = await waitFor(
      "the backup to finish",
      () => {
        const s = getObject<{ status?: Status }>("kafkabackup", namespace, "to-a-claim").status ?? {};
        return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
      },
      180_000,
    );
    assert.equal(done.phase, "Completed", done.message);
    assert.equal(done.recordsProcessed, 500);
    // Read from the volume's folder on this machine, as the filesystem backend reads a claim.
    const onVolume = await openStorage({ storageType: "pvc", pvc: { claimName: claim } }, async () => "", {
      pvcMountRoot: volumeRoot,
    });
    const { records } = await readBackup(onVolume, done.backupId as string);
    const keys = (records.get(topic) ?? []).map((r) => r.key).sort();
    assert.equal(keys.length, 500);
    assert.equal(new Set(keys).size, 500);
  });

  test("a default install backs up a 1 GiB topic inside the pod's memory limit (the pod's peak from its memory cgroup)", async () => {
    // The bench's data (1 KiB JSON-like values with keys and three headers, produced lz4 by Kafka's
    // Java producer), backed up in the controller's pod with the defaults a user gets.
    const topic = `pod-gib-${Date.now()}`;
    const records = 1_114_112;
    await createTopic(topic, 8);
    try {
      await fill(topic, records, 1024, 8);
      const prefix = `e2e-pod-gib-${namespace}`;
      apply(namespace, {
        apiVersion: "kafka.oso.sh/v1alpha1",
        kind: "KafkaBackup",
        metadata: { name: "one-gib" },
        spec: {
          kafkaCluster: { bootstrapServers: String(env.KAFKA_POD_BOOTSTRAP_SERVERS).split(",") },
          topics: [topic],
          storage: podS3Storage(prefix),
        },
      });
      const done = await waitFor(
        "the 1 GiB backup to finish",
        () => {
          const s = getObject<{ status?: Status }>("kafkabackup", namespace, "one-gib").status ?? {};
          return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
        },
        900_000,
      );
      assert.equal(done.phase, "Completed", done.message);
      assert.equal(done.recordsProcessed, records);
      type PodJson = {
        metadata: { uid: string };
        spec: { containers: Array<{ resources?: { limits?: { memory?: string } } }> };
        status: {
          qosClass?: string;
          containerStatuses?: Array<{ restartCount: number; lastState?: { terminated?: { reason?: string } } }>;
        };
      };
      const pod = JSON.parse(
        kubectl(["get", "pod", "-n", operatorNamespace, controllerPod()?.metadata.name ?? "", "-o", "json"]),
      ) as PodJson;
      const container = pod.status.containerStatuses?.[0];
      assert.equal(container?.restartCount, 0, `the controller restarted (${container?.lastState?.terminated?.reason ?? "?"})`);
      const limit = pod.spec.containers[0]?.resources?.limits?.memory ?? "";
      assert.match(limit, /^\d+Mi$/, "the Deployment ships a memory limit in Mi");
      const limitMiB = Number.parseInt(limit, 10);
      // cgroup v1 with the cgroupfs driver (the local node's kubelet): the pod's own memory cgroup,
      // its peak since the pod started (the controller idle, the earlier tests, and this backup).
      const qos = (pod.status.qosClass ?? "").toLowerCase();
      const cgroup = `/sys/fs/cgroup/memory/kubepods/${qos === "guaranteed" ? "" : `${qos}/`}pod${pod.metadata.uid}`;
      const peakMiB = Number(readFileSync(`${cgroup}/memory.max_usage_in_bytes`, "utf8")) / (1024 * 1024);
      console.log(`1 GiB backup in the controller's pod: peak ${peakMiB.toFixed(0)} MiB of its ${limit} limit`);
      assert.ok(peakMiB > 0 && peakMiB < limitMiB, `peak ${peakMiB.toFixed(0)} MiB, limit ${limitMiB} MiB`);
    } finally {
      await deleteTopic(topic);
    }
  });

  /** Scales a controller's Deployment and waits until that many replicas are available. */
  const scaleTo = async (deployment: string, replicas: number) => {
    kubectl(["scale", "deployment", deployment, "-n", operatorNamespace, `--replicas=${replicas}`]);
    await waitFor(
      `${replicas} available replicas of ${deployment}`,
      () => {
        const d = getObject<{ status?: { availableReplicas?: number } }>("deployment", operatorNamespace, deployment);
        return (d.status?.availableReplicas ?? 0) >= replicas || undefined;
      },
      180_000,
    );
  };

  /** Force-deletes the pod holding `lease` and waits for another to hold it. */
  const killLeaderPod = async (lease: string) => {
    type Lease = { spec: { holderIdentity?: string; leaseDurationSeconds?: number } };
    const held = getObject<Lease>("lease", operatorNamespace, lease);
    const leader = held.spec.holderIdentity ?? "";
    const leaseSeconds = held.spec.leaseDurationSeconds ?? 15;
    const killedAt = Date.now();
    kubectl(["delete", "pod", "-n", operatorNamespace, leader, "--force", "--grace-period=0"]);
    const successor = await waitFor(
      `another pod to hold ${lease}`,
      () => {
        const holder = getObject<Lease>("lease", operatorNamespace, lease).spec.holderIdentity;
        return holder && holder !== leader ? holder : undefined;
      },
      120_000,
    );
    return { leader, successor, leaseSeconds, takeoverSeconds: (Date.now() - killedAt) / 1000 };
  };

  test("two replicas: the leader's pod force-deleted mid-backup, the other pod takes over and the backup is exact", async () => {
    try {
      await scaleTo("kafka-backup-controller", 2);
      const partitions = 4;
      const perPartition = 5_000;
      const total = partitions * perPartition;
      const topic = await topicWith(kafka, partitions, perPartition);
      const prefix = `e2e-pod-failover-${namespace}`;
      apply(namespace, {
        apiVersion: "kafka.oso.sh/v1alpha1",
        kind: "KafkaBackup",
        metadata: { name: "failover" },
        spec: {
          kafkaCluster: { bootstrapServers: String(env.KAFKA_POD_BOOTSTRAP_SERVERS).split(",") },
          topics: [topic],
          storage: podS3Storage(prefix),
          // ~20 s of work, so that the kill lands in the middle of it.
          rateLimiting: { recordsPerSec: 1_000 },
          segmentMaxRecords: 500,
        },
      });
      const midway = await waitFor(
        "the backup to be part way",
        () => {
          const s = getObject<{ status?: Status }>("kafkabackup", namespace, "failover").status ?? {};
          if (s.phase === "Completed" || s.phase === "Failed") throw new Error(`the backup ended before the kill: ${s.phase}`);
          return (s.recordsProcessed ?? 0) > 0 ? s : undefined;
        },
        120_000,
      );
      const { leader, successor, leaseSeconds, takeoverSeconds } = await killLeaderPod("kafka-backup-controller-leader");
      const done = await waitFor(
        "the backup to finish after the takeover",
        () => {
          const s = getObject<{ status?: Status }>("kafkabackup", namespace, "failover").status ?? {};
          return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
        },
        240_000,
      );
      console.log(
        `pod failover: ${leader} force-deleted with ${midway.recordsProcessed} of ${total} records backed up; ${successor} led ${takeoverSeconds.toFixed(1)} s later (lease ${leaseSeconds} s)`,
      );
      console.log(`status after the takeover: ${JSON.stringify(done)}`);
      assert.ok((midway.recordsProcessed ?? 0) < total, "the kill landed before the end");
      // A standby takes the lease once it has not seen it renewed for a lease duration: at most a
      // lease plus a renew period (a third of it) after the kill, with the API server's latency.
      assert.ok(takeoverSeconds <= leaseSeconds * (4 / 3) + 5, `takeover after ${takeoverSeconds} s`);
      assert.equal(done.phase, "Completed", done.message);
      assert.equal(done.recordsProcessed, total);
      const { records } = await readBackup(await minioStore(prefix), done.backupId as string);
      const stored = records.get(topic) ?? [];
      const seen = new Set(stored.map((r) => `${r.partition}:${r.offset}`));
      assert.equal(stored.length, total, "records stored");
      assert.equal(seen.size, total, "every offset exactly once");
      for (let p = 0; p < partitions; p++)
        for (let o = 0; o < perPartition; o++) assert.ok(seen.has(`${p}:${o}`), `${topic}/${p} offset ${o} stored`);
    } finally {
      kubectl(["scale", "deployment", "kafka-backup-controller", "-n", operatorNamespace, "--replicas=1"]);
    }
  });

  test("two replicas of the restore controller: the leader's pod force-deleted mid-restore, the other pod takes over and the restore is exact", async () => {
    // Restores the set the test above wrote: 4 partitions of 5,000 records.
    const source = getObject<{ status?: Status & { backupId?: string } }>("kafkabackup", namespace, "failover").status;
    assert.equal(source?.phase, "Completed", "runs after the backup failover test");
    const manifest = await readBackup(await minioStore(`e2e-pod-failover-${namespace}`), source?.backupId as string);
    const [topic] = [...manifest.records.keys()];
    assert.ok(topic);
    const total = 20_000;
    try {
      await scaleTo("kafka-restore-controller", 2);
      const target = `${topic}-restored`;
      apply(namespace, {
        apiVersion: "kafka.oso.sh/v1alpha1",
        kind: "KafkaRestore",
        metadata: { name: "failover" },
        spec: {
          backupRef: { name: "failover" },
          kafkaCluster: { bootstrapServers: String(env.KAFKA_POD_BOOTSTRAP_SERVERS).split(",") },
          topics: [topic],
          topicMapping: { [topic]: target },
          createTopics: true,
          // ~20 s of work, so that the kill lands in the middle of it.
          rateLimiting: { recordsPerSec: 1_000 },
        },
      });
      type RestoreStatus = { phase?: string; message?: string; recordsRestored?: number };
      const restoreStatus = () => getObject<{ status?: RestoreStatus }>("kafkarestore", namespace, "failover").status ?? {};
      const midway = await waitFor(
        "the restore to be part way",
        () => {
          const s = restoreStatus();
          if (s.phase === "Completed" || s.phase === "Failed") throw new Error(`the restore ended before the kill: ${s.phase}`);
          return (s.recordsRestored ?? 0) > 0 ? s : undefined;
        },
        120_000,
      );
      const { leader, successor, leaseSeconds, takeoverSeconds } = await killLeaderPod("kafka-restore-controller-leader");
      const done = await waitFor(
        "the restore to finish after the takeover",
        () => {
          const s = restoreStatus();
          return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
        },
        240_000,
      );
      console.log(
        `restore pod failover: ${leader} force-deleted with ${midway.recordsRestored} of ${total} records restored; ${successor} led ${takeoverSeconds.toFixed(1)} s later (lease ${leaseSeconds} s)`,
      );
      assert.ok((midway.recordsRestored ?? 0) < total, "the kill landed before the end");
      assert.ok(takeoverSeconds <= leaseSeconds * (4 / 3) + 5, `takeover after ${takeoverSeconds} s`);
      assert.equal(done.phase, "Completed", done.message);
      // Exact, read by Kafka's own Java consumer: every source record once, in order, per partition.
      const identity = (r: JavaRecord) => `${r.partition}/${r.offset}/${r.key}/${r.value}`;
      const byOffset = (a: JavaRecord, b: JavaRecord) => a.partition - b.partition || a.offset - b.offset;
      const restored = javaDump(target).sort(byOffset);
      assert.equal(restored.length, total, "records in the target");
      assert.deepEqual(restored.map(identity), javaDump(topic).sort(byOffset).map(identity));
    } finally {
      kubectl(["scale", "deployment", "kafka-restore-controller", "-n", operatorNamespace, "--replicas=1"]);
    }
  });

  test("execution.mode job: the real Job controller runs the Indexed Job's pods from the image; deleting the KafkaBackup collects its Job", async () => {
    const topic = await topicWith(kafka, 4, 150);
    const prefix = `e2e-pod-job-${namespace}`;
    const workers = 2;
    apply(namespace, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaBackup",
      metadata: { name: "as-a-job" },
      spec: {
        kafkaCluster: { bootstrapServers: String(env.KAFKA_POD_BOOTSTRAP_SERVERS).split(",") },
        topics: [topic],
        storage: podS3Storage(prefix),
        segmentMaxRecords: 100,
        execution: {
          mode: "job",
          workers,
          resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
        },
      },
    });
    const done = await waitFor(
      "the sharded backup to finish",
      () => {
        const s = getObject<{ status?: Status }>("kafkabackup", namespace, "as-a-job").status ?? {};
        return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
      },
      240_000,
    );
    assert.equal(done.phase, "Completed", done.message);
    assert.equal(done.job?.succeeded, workers);
    assert.equal(done.recordsProcessed, 600);
    const { records } = await readBackup(await minioStore(prefix), done.backupId as string);
    assert.equal(
      [...records.values()].reduce((n, r) => n + r.length, 0),
      600,
    );
    // The pods were the Job controller's, one per completion index, and ran on the node.
    const jobs = JSON.parse(kubectl(["get", "jobs", "-n", namespace, "-o", "json"])) as {
      items: Array<{ metadata: { name: string; ownerReferences?: Array<{ kind: string; name: string }> } }>;
    };
    const job = jobs.items.find((j) =>
      j.metadata.ownerReferences?.some((o) => o.kind === "KafkaBackup" && o.name === "as-a-job"),
    );
    assert.ok(job, "a Job owned by the KafkaBackup");
    // The controller counts a worker done by the result it wrote; its pod's phase follows once
    // the kubelet has seen the container exit.
    type Pod = { metadata: { annotations?: Record<string, string> }; spec: { nodeName?: string }; status: { phase?: string } };
    const indexOf = (p: Pod) => p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"];
    const succeeded = await waitFor(
      "each index's pod to succeed",
      () => {
        const pods = JSON.parse(
          kubectl(["get", "pods", "-n", namespace, "-l", `job-name=${job.metadata.name}`, "-o", "json"]),
        ) as {
          items: Pod[];
        };
        const done = pods.items.filter((p) => p.status.phase === "Succeeded");
        return new Set(done.map(indexOf)).size === workers ? done : undefined;
      },
      60_000,
    );
    assert.deepEqual(
      [...new Set(succeeded.map(indexOf))].sort(),
      Array.from({ length: workers }, (_, i) => String(i)),
    );
    for (const p of succeeded) assert.equal(p.spec.nodeName, env.KBO_NODE_NAME);

    kubectl(["delete", "kafkabackup", "-n", namespace, "as-a-job", "--wait=true", "--timeout=60s"]);
    await waitFor(
      "the garbage collector to delete the Job",
      () => kubectlTry(["get", "job", "-n", namespace, job.metadata.name]).code !== 0 || undefined,
      60_000,
    );
  });
});
