// The KafkaOffsetReset and KafkaOffsetRollback controllers end to end: real kube-apiserver, Kafka
// and MinIO; both controllers run as local processes. The manifests are the ones in examples/,
// applied with kubectl with only what names this installation replaced (bootstrap servers, the
// bucket, and unique group and topic names).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parse, stringify } from "yaml";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { commitGroupOffsets } from "../../engine/kafka/groups.ts";
import { type OffsetMappingReport, offsetMappingFormat, offsetMappingKey } from "../../engine/restore/offset-mapping.ts";
import { repoRoot } from "../stack/config.ts";
import { minioStorageSpec, minioStore } from "../support/backup.ts";
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

interface GroupResult {
  groupId: string;
  success: boolean;
  state: string;
  error?: string;
  partitions?: Array<{ topic: string; partition: number; previousOffset: number; newOffset: number }>;
}
interface Status {
  phase?: string;
  message?: string;
  snapshotId?: string;
  snapshotPath?: string;
  groupsTotal?: number;
  groupsReset?: number;
  groupsFailed?: number;
  groupsRolledBack?: number;
  verified?: boolean;
  observedGeneration?: number;
  groupResults?: GroupResult[];
  verification?: {
    allMatched: boolean;
    mismatchedGroups?: string[];
    mismatches?: Array<{ groupId: string; topic: string; partition: number; expectedOffset: number; actualOffset: number }>;
  };
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
}

const T0 = 1_765_324_800_000;
let kafka: KafkaClient;
let namespace: string;
const controllers: RunningController[] = [];
const uid = () => randomUUID().slice(0, 8);

/** Right after createTopics a partition may not have a leader yet (NOT_LEADER on the first request): wait until every one answers. */
async function leadersSettled(topic: string): Promise<void> {
  const admin = await kafka.admin();
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.fetchTopicOffsets(topic);
      return;
    } catch (err) {
      if (attempt >= 30) throw err;
      await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

before(async () => {
  applyCrds();
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  namespace = createNamespace("offsets");
  const env = { WATCH_NAMESPACES: namespace, LEADER_ELECTION_NAMESPACE: namespace };
  controllers.push(await startController("controllers/offset-reset.ts", env));
  controllers.push(await startController("controllers/offset-rollback.ts", env));
  const { secrets } = minioStorageSpec("x");
  kubectl(
    ["apply", "-n", namespace, "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s3-credentials" },
      stringData: secrets["minio-credentials"],
    }),
  );
});
after(async () => {
  for (const c of controllers) await c.stop("SIGKILL");
  await kafka.close();
});

/** Records i of every partition have timestamp T0 + i * 1000. */
async function topicWith(partitions: number, perPartition: number): Promise<string> {
  const topic = `e2e-off-${uid()}`;
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await leadersSettled(topic);
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  const messages = [];
  for (let p = 0; p < partitions; p++)
    for (let i = 0; i < perPartition; i++) messages.push({ partition: p, value: `v${i}`, timestamp: String(T0 + i * 1000) });
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
  return topic;
}

async function committed(groupId: string, topic: string): Promise<number[]> {
  const [t] = await (await kafka.admin()).fetchOffsets({ groupId, topics: [topic] });
  return (t?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
}

async function commitEach(groupId: string, topic: string, offsets: number[]): Promise<void> {
  await commitGroupOffsets(
    kafka,
    groupId,
    offsets.map((offset, partition) => ({ topic, partition, offset })),
  );
}

/** An example manifest with this installation's names put in; `edit` changes the parsed object. */
function applyExample(file: string, edit: (doc: { metadata: { name: string }; spec: Record<string, unknown> }) => void): string {
  const doc = parse(readFileSync(join(repoRoot, "examples", file), "utf8")) as {
    metadata: { name: string };
    spec: Record<string, unknown>;
  };
  (doc.spec.kafkaCluster as { bootstrapServers: string[] }).bootstrapServers = stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",");
  edit(doc);
  kubectl(["apply", "-n", namespace, "-f", "-"], stringify(doc));
  return doc.metadata.name;
}

const status = (kind: string, name: string) => getObject<{ status?: Status }>(kind, namespace, name).status ?? {};
const finished = (kind: string, name: string, timeoutMs = 60_000) =>
  waitFor(
    `${kind} ${name} to finish`,
    () => {
      const s = status(kind, name);
      return s.phase && !["Pending", "Running"].includes(s.phase) ? s : undefined;
    },
    timeoutMs,
  );

async function liveConsumer(groupId: string, topic: string) {
  const consumer = kafka.kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic });
  await consumer.run({ autoCommit: false, eachMessage: async () => {} });
  const admin = await kafka.admin();
  for (let i = 0; i < 80 && (await admin.describeGroups([groupId])).groups[0]?.state !== "Stable"; i++) await sleep(250);
  return consumer;
}

describe("KafkaOffsetReset and KafkaOffsetRollback controllers", () => {
  test("the existing operator's manifest resets to earliest with a ConfigMap snapshot; the rollback example puts it back; an edit does not rerun", async () => {
    const topic = await topicWith(3, 20);
    const group = `orders-consumer-${uid()}`;
    const other = `untouched-${uid()}`;
    await commitEach(group, topic, [10, 11, 12]);
    await commitEach(other, topic, [5, 5, 5]);
    const name = applyExample("kafkaoffsetreset-existing-operator-style.yaml", (d) => {
      d.spec.consumerGroups = [group];
      d.spec.topics = [topic];
    });
    const s = await finished("kafkaoffsetreset", name);
    assert.equal(s.phase, "Completed", JSON.stringify(s));
    assert.deepEqual(await committed(group, topic), [0, 0, 0]);
    assert.deepEqual(await committed(other, topic), [5, 5, 5]);
    assert.equal(s.groupsReset, 1);
    assert.equal(s.groupsFailed, 0);
    assert.equal(s.conditions?.find((c) => c.type === "Ready")?.reason, "ResetSucceeded");
    assert.deepEqual(
      s.groupResults?.[0]?.partitions?.map((p) => [p.partition, p.previousOffset, p.newOffset]),
      [
        [0, 10, 0],
        [1, 11, 0],
        [2, 12, 0],
      ],
    );
    // The snapshot: a ConfigMap owned by the reset.
    assert.match(s.snapshotPath ?? "", /^configmap\//);
    const cm = getObject<{ metadata: { ownerReferences: Array<{ kind: string; name: string }> }; data: Record<string, string> }>(
      "configmap",
      namespace,
      (s.snapshotPath ?? "").slice("configmap/".length),
    );
    assert.deepEqual(
      cm.metadata.ownerReferences.map((r) => [r.kind, r.name]),
      [["KafkaOffsetReset", name]],
    );
    assert.match(cm.data["snapshot.json"] ?? "", new RegExp(group));

    const rollback = applyExample("kafkaoffsetrollback.yaml", (d) => {
      (d.spec.snapshotRef as { offsetResetRef: string }).offsetResetRef = name;
      d.spec.consumerGroups = [group];
    });
    const r = await finished("kafkaoffsetrollback", rollback);
    assert.equal(r.phase, "Completed", JSON.stringify(r));
    assert.equal(r.verified, true);
    assert.equal(r.verification?.allMatched, true);
    assert.equal(r.groupsRolledBack, 1);
    assert.deepEqual(await committed(group, topic), [10, 11, 12]);

    // Editing the finished reset does not run it again.
    kubectl(["patch", "kafkaoffsetreset", name, "-n", namespace, "--type=merge", "-p", '{"spec":{"resetStrategy":"to-latest"}}']);
    await waitFor("the SpecChangeIgnored event", () => {
      const events = kubectl(["get", "events", "-n", namespace, "--field-selector", `involvedObject.name=${name}`, "-o", "json"]);
      return events.includes("SpecChangeIgnored") ? true : undefined;
    });
    await sleep(1500);
    assert.deepEqual(await committed(group, topic), [10, 11, 12]);
    assert.equal(status("kafkaoffsetreset", name).phase, "Completed");
  });

  test("to-timestamp over several groups: a live group is reported, the others reset (snapshot in MinIO); the rollback reports the live group's change as a mismatch", async () => {
    const topic = await topicWith(2, 30);
    const groups = [`billing-${uid()}`, `invoicing-${uid()}`, `ledger-${uid()}`];
    for (const g of groups) await commitEach(g, topic, [25, 26]);
    const live = groups[2] as string;
    const consumer = await liveConsumer(live, topic);
    try {
      const prefix = `e2e-offsets-${uid()}`;
      const name = applyExample("kafkaoffsetreset-to-timestamp.yaml", (d) => {
        d.metadata.name = `replay-${uid()}`;
        d.spec.consumerGroups = groups;
        d.spec.topics = [topic];
        d.spec.resetTimestamp = T0 + 4500;
        (d.spec.snapshotStorage as { storage: unknown }).storage = {
          ...minioStorageSpec(prefix).spec,
          s3: { ...minioStorageSpec(prefix).spec.s3, credentialsSecret: { name: "s3-credentials" } },
        };
      });
      const s = await finished("kafkaoffsetreset", name);
      assert.equal(s.phase, "PartiallyCompleted", JSON.stringify(s));
      assert.equal(s.conditions?.find((c) => c.type === "Ready")?.reason, "PartialFailure");
      assert.equal(s.groupsReset, 2);
      assert.equal(s.groupsFailed, 1);
      const byGroup = Object.fromEntries((s.groupResults ?? []).map((g) => [g.groupId, g]));
      assert.equal(byGroup[live]?.state, "ActiveMembers");
      assert.equal(byGroup[live]?.success, false);
      for (const g of groups.slice(0, 2)) {
        assert.equal(byGroup[g]?.state, "Reset");
        assert.deepEqual(await committed(g, topic), [5, 5]);
      }
      assert.deepEqual(await committed(live, topic), [25, 26]);
      assert.match(s.snapshotPath ?? "", new RegExp(`^s3://.*${prefix}/offset-snapshots/`));
      const metrics = await (await fetch(`http://127.0.0.1:${controllers[0]?.metricsPort}/metrics`)).text();
      assert.match(
        metrics,
        new RegExp(
          `kafka_backup_operator_offset_resets_total\\{outcome="partiallycompleted",resource_namespace="${namespace}"\\} 1`,
        ),
      );

      // The live consumer moves its own offset; the rollback cannot touch that group and says so.
      await consumer.commitOffsets([{ topic, partition: 0, offset: "3" }]);
      const rollback = `undo-${uid()}`;
      kubectl(
        ["apply", "-n", namespace, "-f", "-"],
        stringify({
          apiVersion: "kafka.oso.sh/v1alpha1",
          kind: "KafkaOffsetRollback",
          metadata: { name: rollback },
          spec: {
            snapshotRef: { name: "", offsetResetRef: name },
            kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
          },
        }),
      );
      const r = await finished("kafkaoffsetrollback", rollback);
      assert.equal(r.phase, "PartiallyCompleted", JSON.stringify(r));
      assert.equal(r.verified, false);
      assert.equal(r.conditions?.find((c) => c.type === "Ready")?.reason, "VerificationFailed");
      assert.deepEqual(r.verification?.mismatchedGroups, [live]);
      assert.deepEqual(
        r.verification?.mismatches?.map((m) => [m.groupId, m.partition, m.expectedOffset, m.actualOffset]),
        [[live, 0, 25, 3]],
      );
      for (const g of groups.slice(0, 2)) assert.deepEqual(await committed(g, topic), [25, 26]);
    } finally {
      await consumer.disconnect();
    }
  });

  test("the dry-run example plans per partition and changes nothing", async () => {
    const topic = await topicWith(4, 10);
    const group = `analytics-${uid()}`;
    await commitEach(group, topic, [8, 9, 10, 7]);
    const name = applyExample("kafkaoffsetreset-dry-run.yaml", (d) => {
      d.spec.consumerGroups = [group];
      d.spec.topics = [topic];
      d.spec.shiftBy = -4;
    });
    const s = await finished("kafkaoffsetreset", name);
    assert.equal(s.phase, "Completed", JSON.stringify(s));
    assert.equal(s.conditions?.find((c) => c.type === "Ready")?.reason, "DryRunPassed");
    assert.equal(s.snapshotPath, undefined);
    assert.equal(s.groupResults?.[0]?.state, "Planned");
    assert.deepEqual(
      s.groupResults?.[0]?.partitions?.map((p) => [p.partition, p.previousOffset, p.newOffset]),
      [
        [0, 8, 4],
        [1, 9, 5],
        [2, 10, 6],
      ],
    );
    assert.deepEqual(await committed(group, topic), [8, 9, 10, 7]);
  });

  test("from-mapping reads the KafkaRestore's offsetMappingPath from the restore's backup storage", async () => {
    const source = await topicWith(1, 10);
    const target = await topicWith(1, 10);
    const group = `orders-service-${uid()}`;
    const translated = `translated-${uid()}`;
    await commitGroupOffsets(kafka, translated, [{ topic: source, partition: 0, offset: 6 }]);
    const prefix = `e2e-mapping-${uid()}`;
    const store = await minioStore(prefix);
    const restoreId = `restore-${uid()}`;
    const report: OffsetMappingReport = {
      format: offsetMappingFormat,
      version: 1,
      backupId: "orders-backup-20251210-020000",
      restoreId,
      createdAt: new Date().toISOString(),
      partitions: [
        {
          sourceTopic: source,
          sourcePartition: 0,
          targetTopic: target,
          targetPartition: 0,
          records: 8,
          sourceFirstOffset: 2,
          sourceLastOffset: 9,
          targetFirstOffset: 0,
          targetLastOffset: 7,
          firstTimestamp: T0,
          lastTimestamp: T0,
          runs: [[2, 0, 8]],
        },
      ],
      targetEnds: { [`${target}/0`]: 10 },
      consumerGroups: [
        {
          groupId: group,
          source: [{ sourceTopic: source, sourcePartition: 0, sourceOffset: 5 }],
          target: [{ topic: target, partition: 0, offset: 3 }],
          committed: false,
        },
      ],
    };
    const key = offsetMappingKey(report.backupId, restoreId);
    await store.put(key, Buffer.from(JSON.stringify(report)));
    const restoreName = `restore-orders-${uid()}`;
    kubectl(
      ["apply", "-n", namespace, "-f", "-"],
      stringify({
        apiVersion: "kafka.oso.sh/v1alpha1",
        kind: "KafkaRestore",
        metadata: { name: restoreName },
        spec: {
          backupRef: {
            backupId: report.backupId,
            storage: {
              ...minioStorageSpec(prefix).spec,
              s3: { ...minioStorageSpec(prefix).spec.s3, credentialsSecret: { name: "s3-credentials" } },
            },
          },
          kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
          topics: [source],
          topicMapping: { [source]: target },
        },
      }),
    );
    // What the restore controller writes when it finishes: the report's location.
    kubectl([
      "patch",
      "kafkarestore",
      restoreName,
      "-n",
      namespace,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { phase: "Completed", offsetMappingPath: store.location(key) } }),
    ]);
    const name = applyExample("kafkaoffsetreset-from-mapping.yaml", (d) => {
      d.metadata.name = `after-restore-${uid()}`;
      d.spec.consumerGroups = [group, translated];
      (d.spec.offsetMappingRef as { restoreName: string }).restoreName = restoreName;
    });
    const s = await finished("kafkaoffsetreset", name);
    assert.equal(s.phase, "Completed", JSON.stringify(s));
    assert.deepEqual(await committed(group, target), [3]);
    assert.deepEqual(await committed(translated, target), [4]);
  });

  test("a from-mapping reset whose KafkaRestore does not exist waits with a condition naming it", async () => {
    const name = applyExample("kafkaoffsetreset-from-mapping.yaml", (d) => {
      d.metadata.name = `no-restore-${uid()}`;
    });
    const ready = await waitFor("a Ready condition", () =>
      status("kafkaoffsetreset", name).conditions?.find((c) => c.type === "Ready"),
    );
    assert.equal(ready.status, "False");
    assert.match(ready.message, /KafkaRestore .*restore-orders not found/i);
    assert.equal(status("kafkaoffsetreset", name).phase, "Pending");
  });
});

describe("limits and recovery", () => {
  test("a snapshot too large for a ConfigMap fails the reset before any offset moves; a large dry run keeps its full plan in a ConfigMap", async () => {
    // 60 groups × 100 partitions of a topic with a long name: the snapshot's JSON is about 1.4 MB.
    const admin = await kafka.admin();
    const longTopic = `e2e-long-${uid()}-${"x".repeat(180)}`;
    await admin.createTopics({ topics: [{ topic: longTopic, numPartitions: 100 }], waitForLeaders: true });
    await leadersSettled(longTopic);
    const groups = Array.from({ length: 60 }, (_, i) => `big-${i}-${uid()}`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < groups.length) {
          const g = groups[next++] as string;
          await commitGroupOffsets(
            kafka,
            g,
            Array.from({ length: 100 }, (_, partition) => ({ topic: longTopic, partition, offset: 0 })),
          );
        }
      }),
    );
    const name = `too-big-${uid()}`;
    kubectl(
      ["apply", "-n", namespace, "-f", "-"],
      stringify({
        apiVersion: "kafka.oso.sh/v1alpha1",
        kind: "KafkaOffsetReset",
        metadata: { name },
        spec: {
          kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
          consumerGroups: groups,
          resetStrategy: "to-latest",
        },
      }),
    );
    const s = await finished("kafkaoffsetreset", name);
    assert.equal(s.phase, "Failed");
    const ready = s.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.reason, "SnapshotTooLarge");
    assert.match(ready?.message ?? "", /no offset changed.*snapshotStorage/);
    // Nothing moved (the topic is empty, so "latest" would still be 0: the proof is that no group was attempted).
    assert.equal(s.groupsReset ?? 0, 0);
    assert.equal(s.groupResults, undefined);

    // The same groups in a dry run on a short-named topic: 3000 partition rows, more than status keeps.
    const topic = await topicWith(100, 2);
    const dryGroups = groups.slice(0, 30);
    for (const g of dryGroups)
      await commitGroupOffsets(
        kafka,
        g,
        Array.from({ length: 100 }, (_, partition) => ({ topic, partition, offset: 0 })),
      );
    const dry = `big-plan-${uid()}`;
    kubectl(
      ["apply", "-n", namespace, "-f", "-"],
      stringify({
        apiVersion: "kafka.oso.sh/v1alpha1",
        kind: "KafkaOffsetReset",
        metadata: { name: dry },
        spec: {
          kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
          consumerGroups: dryGroups,
          topics: [topic],
          resetStrategy: "to-latest",
          dryRun: true,
        },
      }),
    );
    const d = (await finished("kafkaoffsetreset", dry)) as Status & { resultsRef?: string };
    assert.equal(d.phase, "Completed");
    assert.equal(d.groupResults?.length, 30);
    const rows = (d.groupResults ?? []).reduce((n, g) => n + (g.partitions?.length ?? 0), 0);
    assert.ok(rows <= 2000, `status keeps at most 2000 partition rows, has ${rows}`);
    assert.match(d.resultsRef ?? "", /^configmap\//);
    const cm = getObject<{ data: Record<string, string> }>(
      "configmap",
      namespace,
      (d.resultsRef ?? "").slice("configmap/".length),
    );
    const full = JSON.parse(cm.data["groups.json"] ?? "[]") as Array<{
      offsets: Array<{ partition: number; newOffset: number }>;
    }>;
    assert.equal(full.length, 30);
    // to-latest plans each partition's log end, read here through kafkajs' admin.
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    const wrong = full.filter((g) => g.offsets.length !== 100 || g.offsets.some((o) => o.newOffset !== ends.get(o.partition)));
    assert.deepEqual(wrong.slice(0, 1), []);
    assert.deepEqual(await committed(dryGroups[0] as string, topic), Array(100).fill(0));
  });

  test("a reset left Running by a stopped controller resumes with its snapshot kept, or fails after 30 minutes or for shift-by", async () => {
    const ns = createNamespace("offsets-recovery");
    const topic = await topicWith(2, 10);
    const cluster = { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") };
    const make = async (name: string, spec: Record<string, unknown>, startedAgoMs: number) => {
      const group = `rec-${name}-${uid()}`;
      await commitEach(group, topic, [4, 4]);
      kubectl(
        ["apply", "-n", ns, "-f", "-"],
        stringify({
          apiVersion: "kafka.oso.sh/v1alpha1",
          kind: "KafkaOffsetReset",
          metadata: { name, finalizers: ["kafka.oso.sh/offset-reset-finalizer"] },
          spec: { kafkaCluster: cluster, consumerGroups: [group], topics: [topic], ...spec },
        }),
      );
      // What a controller that died mid-run leaves: Running, the generation claimed, a snapshot reference.
      kubectl([
        "patch",
        "kafkaoffsetreset",
        name,
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({
          status: {
            phase: "Running",
            observedGeneration: 1,
            startTime: new Date(Date.now() - startedAgoMs).toISOString(),
            snapshotId: `${name}-earlier`,
            snapshotPath: `configmap/${name}-earlier`,
          },
        }),
      ]);
      return group;
    };
    const resumed = await make("resumed", { resetStrategy: "to-latest" }, 60_000);
    const stale = await make("stale", { resetStrategy: "to-latest" }, 31 * 60_000);
    const shifted = await make("shifted", { resetStrategy: "shift-by", shiftBy: 1 }, 60_000);
    const controller = await startController("controllers/offset-reset.ts", {
      WATCH_NAMESPACES: ns,
      LEADER_ELECTION_NAMESPACE: ns,
    });
    controllers.push(controller);
    const get = (name: string) => getObject<{ status?: Status }>("kafkaoffsetreset", ns, name).status ?? {};
    const done = (name: string) =>
      waitFor(`${name} to finish`, () => (["Completed", "Failed"].includes(get(name).phase ?? "") ? get(name) : undefined));
    const r = await done("resumed");
    assert.equal(r.phase, "Completed");
    assert.equal(r.snapshotPath, "configmap/resumed-earlier", "the snapshot of the first attempt is kept");
    assert.deepEqual(await committed(resumed, topic), [10, 10]);
    const s = await done("stale");
    assert.equal(s.phase, "Failed");
    assert.equal(s.conditions?.find((c) => c.type === "Ready")?.reason, "Interrupted");
    assert.match(s.message ?? "", /30 minutes.*snapshot stale-earlier/);
    assert.deepEqual(await committed(stale, topic), [4, 4]);
    const f = await done("shifted");
    assert.equal(f.phase, "Failed");
    assert.match(f.message ?? "", /shift-by is not repeatable/);
    assert.deepEqual(await committed(shifted, topic), [4, 4]);
  });
});
