// Failover mid-run: two replicas of the KafkaBackup controller, and then of the KafkaRestore
// controller, on the real API server, Kafka and MinIO. The leader is SIGKILLed while its run is
// mid-write (durable progress above 0 and below the total at the kill); the standby takes the
// leader Lease no sooner than one lease duration after the dead leader's last renewal and no later
// than one renew period after that, resumes the run within one renew period of leading, and the
// run ends Completed with exact data: every offset once, none lost, compared with the Java
// consumer. The lease duration is the runtime's default (what deploy/ and the Pulumi component
// set), read back from the Lease the replicas write; the renew period is the runtime's own.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { runBackup } from "../../engine/backup/engine.ts";
import { runtimeOptionsFromEnv } from "../../engine/k8s/controller.ts";
import { leaderTimings } from "../../engine/k8s/leader.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { durableOffsets, type JavaRecord, javaDump, minioStore, readBackup } from "../support/backup.ts";
import { apply, events, minioSecret, s3Storage, topicWith } from "../support/e2e.ts";
import {
  applyCrds,
  controllersForThisFile,
  createNamespace,
  getObject,
  type RunningController,
  waitFor,
} from "../support/kube.ts";
import { stackEnv } from "../support/stack-env.ts";

const partitions = 4;
const perPartition = 10_000;
const total = partitions * perPartition;
/** The runtime's lease duration when none is configured: what deploy/ and the Pulumi component set. */
const leaseMs = runtimeOptionsFromEnv({}).leaseDurationMs;
const { renewMs } = leaderTimings(leaseMs);

const start = controllersForThisFile();
let kafka: KafkaClient;

before(async () => {
  applyCrds();
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
});
after(async () => {
  await kafka.close();
});

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
}
const lease = (namespace: string, component: string) =>
  getObject<{ spec: LeaseSpec }>("lease", namespace, `${component}-leader`).spec;

const phase = (kind: string, namespace: string, name: string) =>
  getObject<{ status?: { phase?: string; message?: string; backupId?: string } }>(kind, namespace, name).status ?? {};

const identity = (r: JavaRecord) => `${r.partition}/${r.offset}/${r.key}/${r.value}`;
const byOffset = (a: JavaRecord, b: JavaRecord) => a.partition - b.partition || a.offset - b.offset;

/** When a controller logged a line with this message (pino's `time`), if it did. */
function loggedAt(c: RunningController, msg: string): number | undefined {
  for (const line of c.logs().split("\n")) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    return (JSON.parse(line) as { time: number }).time;
  }
  return undefined;
}

/**
 * Two replicas of `entry` (identities `-a` and `-b`, so each holds leases of its own), `a` the
 * leader. Once `begin()` has started a run and `progress()` passed a fifth of `total`, the leader
 * is SIGKILLed; what the kill and the takeover measured is returned when the run has finished.
 */
async function failover(
  entry: string,
  component: string,
  kind: string,
  namespace: string,
  name: string,
  begin: () => void,
  progress: () => Promise<number>,
) {
  const a = await start(entry, [namespace], { POD_NAME: `${component}-a` });
  await waitFor("replica a to lead", () => (loggedAt(a, "became the leader") ? true : undefined));
  const b = await start(entry, [namespace], { POD_NAME: `${component}-b` });
  const held = lease(namespace, component);
  assert.equal(held.holderIdentity, `${component}-a`);
  assert.equal((held.leaseDurationSeconds ?? 0) * 1000, leaseMs, "the replicas lease for the runtime's default duration");

  begin();
  await waitFor("a fifth of the run durable", async () => ((await progress()) >= total / 5 ? true : undefined), 120_000);
  await a.stop("SIGKILL");
  const killedAt = Date.now();
  const atKill = await progress();
  // Dead: the Lease keeps the last renewal it made until the standby takes it.
  const last = lease(namespace, component);
  assert.equal(last.holderIdentity, `${component}-a`, "the standby took the lease while the leader was alive");
  const lastRenewal = Date.parse(last.renewTime ?? "");
  assert.ok(atKill > 0 && atKill < total, `the kill landed mid-write: ${atKill} of ${total} durable`);
  assert.notEqual(phase(kind, namespace, name).phase, "Completed");

  const taken = await waitFor(
    "the standby to take the lease",
    () => {
      const l = lease(namespace, component);
      return l.holderIdentity === `${component}-b` ? l : undefined;
    },
    leaseMs + 4 * renewMs,
  );
  const acquiredAt = Date.parse(taken.acquireTime ?? "");
  const resumedAt = await waitFor(
    "the resumed run's first durable progress",
    async () => ((await progress()) > atKill ? Date.now() : undefined),
    120_000,
  );
  const done = await waitFor(
    `${kind} ${name} to finish`,
    () => {
      const s = phase(kind, namespace, name);
      return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
    },
    180_000,
  );
  const measured = {
    atKill,
    /** From the dead leader's last renewal to the standby's acquisition. */
    leadAfterRenewalMs: acquiredAt - lastRenewal,
    leadAfterKillMs: acquiredAt - killedAt,
    resumedAfterLeadMs: resumedAt - acquiredAt,
    resumedAfterKillMs: resumedAt - killedAt,
  };
  console.log(
    `${kind}: SIGKILL at ${atKill} of ${total} durable; lease ${leaseMs} ms, renew period ${renewMs} ms; the standby led ${measured.leadAfterRenewalMs} ms after the last renewal (${measured.leadAfterKillMs} ms after the kill) and made progress ${measured.resumedAfterLeadMs} ms after leading (${measured.resumedAfterKillMs} ms after the kill)`,
  );
  // Stamped before each replica's API call: an API round trip of slack on the lower bound.
  assert.ok(
    measured.leadAfterRenewalMs >= leaseMs - 500,
    `the standby led ${measured.leadAfterRenewalMs} ms after the last renewal, before the lease of ${leaseMs} ms ran out`,
  );
  assert.ok(
    measured.leadAfterRenewalMs <= leaseMs + renewMs,
    `the standby led ${measured.leadAfterRenewalMs} ms after the last renewal: more than the lease (${leaseMs} ms) and a renew period (${renewMs} ms)`,
  );
  assert.ok(
    measured.resumedAfterLeadMs <= renewMs,
    `the run resumed ${measured.resumedAfterLeadMs} ms after the standby led: more than a renew period (${renewMs} ms)`,
  );
  assert.ok(loggedAt(b, "became the leader"), "replica b leads");
  return { ...measured, done, standby: b };
}

describe("failover mid-run: two replicas, the leader SIGKILLed", () => {
  test("KafkaBackup: the standby takes over within the lease, resumes the same set, and the backup is exact", async () => {
    const namespace = createNamespace("failover-kb");
    const topic = await topicWith(kafka, partitions, perPartition, 100);
    minioSecret(namespace);
    const prefix = `e2e-failover-${namespace}`;
    const store = await minioStore(prefix);
    const backupId = () => phase("kafkabackup", namespace, "ha").backupId;
    const durable = () => durableOffsets(store, backupId(), topic, partitions);
    let killedSet: string | undefined;
    const result = await failover(
      "controllers/backup.ts",
      "kafka-backup-controller",
      "kafkabackup",
      namespace,
      "ha",
      () =>
        apply(namespace, {
          apiVersion: "kafka.oso.sh/v1alpha1",
          kind: "KafkaBackup",
          metadata: { name: "ha" },
          spec: {
            kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
            topics: [topic],
            storage: s3Storage(prefix),
            segmentMaxRecords: 1000,
            rateLimiting: { recordsPerSec: 2000 },
          },
        }),
      async () => {
        killedSet ??= backupId();
        return await durable();
      },
    );
    assert.equal(result.done.phase, "Completed", result.done.message);
    assert.equal(result.done.backupId, killedSet, "the standby resumed the set the leader was writing");
    assert.ok(loggedAt(result.standby, "took over the backup set's lease"), "the standby took the dead leader's set lease");
    const resumed = events(namespace, "ha").filter((e) => e.reason === "BackupStarted" && e.message.startsWith("resumed"));
    assert.equal(resumed.length, 1, `one resumed start: ${resumed.map((e) => e.message).join("; ")}`);

    const stored = (await readBackup(store, result.done.backupId as string)).records.get(topic) ?? [];
    const source = javaDump(topic).sort(byOffset);
    for (let p = 0; p < partitions; p++) {
      const offsets = stored.filter((r) => r.partition === p).map((r) => r.offset);
      assert.equal(new Set(offsets).size, offsets.length, `partition ${p}: an offset stored twice`);
      assert.equal(offsets.length, perPartition, `partition ${p}: offsets missing`);
    }
    assert.deepEqual(stored.map(identity).sort(), source.map(identity).sort());
    console.log(`KafkaBackup: ${stored.length} records checked against the Java consumer; duplicates 0, lost 0`);
  });

  test("KafkaRestore: the standby takes over within the lease, resumes from the checkpoint, and the new topic is exact", async () => {
    const namespace = createNamespace("failover-kr");
    const topic = await topicWith(kafka, partitions, perPartition, 100);
    minioSecret(namespace);
    const prefix = `e2e-failover-${namespace}`;
    const store: StorageBackend = await minioStore(prefix);
    const backupId = `failover-${randomUUID().slice(0, 8)}`;
    await runBackup(kafka, store, {
      backupId,
      selection: { topics: [topic] },
      mode: "snapshot",
      codec: "zstd",
      segmentMaxRecords: 1000,
      leaseHolder: "e2e",
    });
    const target = `${topic}-restored`;
    // Progress: what the target holds (a batch is in Kafka once acknowledged).
    const restored = async () => {
      const admin = await kafka.admin();
      // Never asks for the target before it exists (kafkajs would keep its metadata in error a while).
      if (!(await admin.listTopics()).includes(target)) return 0;
      return await admin
        .fetchTopicOffsets(target)
        .then((ps) => ps.reduce((n, p) => n + Number(p.high), 0))
        .catch(() => 0);
    };
    const result = await failover(
      "controllers/restore.ts",
      "kafka-restore-controller",
      "kafkarestore",
      namespace,
      "ha",
      () =>
        apply(namespace, {
          apiVersion: "kafka.oso.sh/v1alpha1",
          kind: "KafkaRestore",
          metadata: { name: "ha" },
          spec: {
            backupRef: { storage: s3Storage(prefix), backupId },
            kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
            topics: [topic],
            topicMapping: { [topic]: target },
            createTopics: true,
            produceBatchSize: 200,
            rateLimiting: { recordsPerSec: 2000 },
          },
        }),
      restored,
    );
    assert.equal(result.done.phase, "Completed", result.done.message);
    const resumed = events(namespace, "ha").filter((e) => e.reason === "RestoreStarted" && e.message.startsWith("resumed"));
    assert.equal(resumed.length, 1, `one resumed start: ${resumed.map((e) => e.message).join("; ")}`);
    const source = javaDump(topic).sort(byOffset);
    const written = javaDump(target).sort(byOffset);
    const seen = new Set(written.map(identity));
    console.log(
      `KafkaRestore: ${written.length} records in ${target}; duplicates ${written.length - seen.size}, lost ${source.filter((r) => !seen.has(identity(r))).length}`,
    );
    assert.deepEqual(written.map(identity), source.map(identity), "every record once, at its offset, in order");
  });
});
