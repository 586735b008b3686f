// `npm run bench`: our backup and restore side by side with Kafka's own perf tools, on the same
// data in one run, plus bulk offset commits and the controllers' idle memory and start latency.
// Writes bench/results/latest.json (and a timestamped copy) and prints a table. See
// docs/performance.md for how to read it. Figures are never asserted anywhere.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, freemem, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Codec } from "../../engine/format/codec.ts";
import { nodeFlags } from "../../infra/controllers.ts";
import { repoRoot } from "../stack/config.ts";
import { minioStore } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";
import { type ControllerBench, controllersBench } from "./controllers.ts";
import { consumerPerfTest, createTopic, deleteTopic, fill, producerPerfTest } from "./kafka-tools.ts";
import type { Measured } from "./measure.ts";
import { type OffsetsBench, offsetsBench } from "./offsets.ts";
import { backup, cliSource, restore, shardedBackup, type Target, workspace } from "./ours.ts";
import { printTable } from "./table.ts";
import { zstdBound } from "./zstd-bound.ts";

const MiB = 1024 * 1024;

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "size-mib": { type: "string" },
    "value-bytes": { type: "string", default: "1024" },
    partitions: { type: "string", default: "8" },
    resources: { type: "string" },
    namespaces: { type: "string" },
    controllers: { type: "string", default: "restore,validation,offset-reset,offset-rollback" },
    "latency-samples": { type: "string" },
    skip: { type: "string", default: "" },
    backups: { type: "string", default: "" },
    profile: { type: "string" },
    out: { type: "string", default: join(repoRoot, "bench", "results") },
    help: { type: "boolean", default: false },
  },
});

if (args.help) {
  console.log(`npm run bench -- [options]
  --quick                 a small run (50 MiB, 100 resources, 10 latency samples) for CI
  --size-mib <n>          MiB of record values to fill (default 1088: ≥ 1 GiB)
  --value-bytes <n>       value size of each record (default 1024)
  --partitions <n>        partitions of the source topic (default 8)
  --resources <n>         custom resources present for the controllers' idle RSS (default 1000)
  --namespaces <n>        namespaces those resources are spread over, one watch each (default 1)
  --controllers <list>    the controller part measures the backup controller and these (default:
                          restore,validation,offset-reset,offset-rollback; "none" for the backup controller alone)
  --latency-samples <n>   one-shot KafkaBackups for the apply → Running latency (default 100)
  --skip <list>           comma-separated: backup,scale-out,restore,offsets,controllers
  --backups <list>        only these backups, as target:codec (e.g. minio:zstd-3,minio:none for a 10 GiB run);
                          default: filesystem and minio, each with zstd-3, lz4 and none
  --profile <dir>         also run the CLI backup (MinIO, zstd-3) and restore from source under --cpu-prof into <dir>
                          (summarize with: node test/bench/profile.ts <file.cpuprofile>)
  --out <dir>             results folder (default bench/results)`);
  process.exit(0);
}

const quick = args.quick;
const sizeMiB = Number(args["size-mib"] ?? (quick ? 50 : 1088));
const valueBytes = Number(args["value-bytes"]);
const partitions = Number(args.partitions);
const resources = Number(args.resources ?? (quick ? 100 : 1000));
const namespaces = Number(args.namespaces ?? 1);
const measuredControllers = new Set(args.controllers.split(",").filter(Boolean));
const latencySamples = Number(args["latency-samples"] ?? (quick ? 10 : 100));
const skip = new Set((args.skip ?? "").split(",").filter(Boolean));
const onlyBackups = new Set((args.backups ?? "").split(",").filter(Boolean));
const records = Math.ceil((sizeMiB * MiB) / valueBytes);
const codecs: Array<{ codec: Codec; level?: number; label: string }> = [
  { codec: "zstd", level: 3, label: "zstd-3" },
  { codec: "lz4", label: "lz4" },
  { codec: "none", label: "none" },
];

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const round = (n: number, digits = 2) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);

const run = Date.now().toString(36);
const topic = `bench-src-${run}`;
const ws = workspace(mkdtempSync(join(tmpdir(), "kbo-bench-")), `bench-${run}`);
const startedAt = new Date();
const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  memoryGiB: round(totalmem() / 1024 ** 3, 1),
  freeMemoryGiBAtStart: round(freemem() / 1024 ** 3, 1),
  loadAverageAtStart: loadavg().map((l) => round(l, 1)),
  node: process.version,
  kafka: stackEnv("KAFKA_VERSION"),
  brokers: Number(stackEnv("KAFKA_BROKER_COUNT")),
};

const usage = (m: Measured) => ({
  wallSeconds: round(m.wallSeconds),
  cpuSeconds: round(m.cpuSeconds),
  peakRssMiB: round(m.peakRssMiB, 1),
  peakRssHalfwayMiB: round(m.peakRssHalfwayMiB, 1),
});

const topics: string[] = [];
try {
  // The CLI and the controllers are measured as the image runs them: bundled (into dist/bench, so
  // that a test starting dist/'s bundles at the same time never sees one half-written).
  log("building the bundles (npm run build -- dist/bench)");
  execFileSync(process.execPath, [join(repoRoot, "build.ts"), join("dist", "bench")], {
    cwd: repoRoot,
    stdio: ["ignore", "ignore", "inherit"],
  });

  // ── The data ──
  log(`filling ${topic}: ${records} records of ${valueBytes} B values with keys and 3 headers, ${partitions} partitions`);
  await createTopic(topic, partitions);
  topics.push(topic);
  const filled = await fill(topic, records, valueBytes, partitions);
  const data = {
    topic,
    records,
    valueBytes,
    partitions,
    shape:
      "JSON-like values from a 50-word vocabulary, keys c-<0..99999>, headers content-type, trace-id, source; produced lz4-compressed",
    valueMiB: round((records * valueBytes) / MiB, 1),
    fillSeconds: round(filled.seconds),
  };

  // ── Backup and its baseline ──
  log("kafka-consumer-perf-test");
  const consumer = await consumerPerfTest(topic, records);
  const keyValueMiBPerRecord = consumer.mb / consumer.records;
  const backups = [];
  let restoreSource: string | undefined;
  let restoreSourceNone: string | undefined;
  let zstdBoundMbPerSec = Number.NaN;
  let zstdBoundDetail: Record<string, number> | undefined;
  if (!skip.has("backup")) {
    for (const target of ["filesystem", "minio"] as Target[]) {
      for (const c of codecs) {
        if (onlyBackups.size && !onlyBackups.has(`${target}:${c.label}`)) continue;
        log(`backup to ${target}, ${c.label}`);
        const b = await backup(ws, topic, target, c.codec, c.level);
        if (b.records !== records) throw new Error(`backup ${b.backupId}: ${b.records} records, expected ${records}`);
        const recordsPerSec = b.records / b.engineSeconds;
        backups.push({
          target,
          compression: c.label,
          backupId: b.backupId,
          records: b.records,
          segments: b.segments,
          mbPerSec: round((b.records * keyValueMiBPerRecord) / b.engineSeconds, 1),
          recordsPerSec: Math.round(recordsPerSec),
          engineSeconds: round(b.engineSeconds),
          ...usage(b.measured),
          cpuSecondsPerGiB: round((b.measured.cpuSeconds * 1024 * MiB) / (records * valueBytes)),
          compressionRatio: round(b.bytes / b.storedBytes),
          storedMiB: round(b.storedBytes / MiB, 1),
          vsConsumerPerfTest: round(recordsPerSec / consumer.recordsPerSec),
          ...(c.codec === "zstd" && Number.isFinite(zstdBoundMbPerSec)
            ? { vsZstdBound: round((b.records * keyValueMiBPerRecord) / b.engineSeconds / zstdBoundMbPerSec) }
            : {}),
        });
        if (target === "minio" && c.codec === "zstd") restoreSource = b.backupId;
        if (target === "minio" && c.codec === "none") restoreSourceNone = b.backupId;
        if (target === "filesystem" && c.codec === "zstd") {
          log("the zstd-3 compression bound: the same records compressed with node:zlib on all cores");
          const bound = await zstdBound(join(ws.pvcRoot, "bench", "backups"));
          // In the consumer's unit: MiB of keys + values, scaled from the record blocks' bytes.
          zstdBoundMbPerSec = (bound.mibPerSec * (records * keyValueMiBPerRecord)) / bound.mib;
          zstdBoundDetail = { ...bound, mbPerSec: round(zstdBoundMbPerSec, 1) ?? Number.NaN };
        }
        // Free the disk between runs: only the MinIO zstd-3 set is read again (by the restore).
        if (target === "filesystem") rmSync(join(ws.pvcRoot, "bench", "backups"), { recursive: true, force: true });
      }
    }
  }

  // ── Scale-out: the same backup (MinIO, zstd-3) by 1, 2 and 4 worker processes, as execution.mode job runs it ──
  const scaleOut: Array<Record<string, number | string | null>> = [];
  if (!skip.has("scale-out")) {
    for (const workers of [1, 2, 4]) {
      log(`sharded backup to minio, zstd-3, ${workers} workers`);
      const b = await shardedBackup(ws, topic, workers);
      if (b.records !== records) throw new Error(`sharded backup ${b.backupId}: ${b.records} records, expected ${records}`);
      const recordsPerSec = b.records / b.wallSeconds;
      scaleOut.push({
        workers,
        backupId: b.backupId,
        records: b.records,
        mbPerSec: round((b.records * keyValueMiBPerRecord) / b.wallSeconds, 1),
        recordsPerSec: Math.round(recordsPerSec),
        wallSeconds: round(b.wallSeconds),
        cpuSeconds: round(b.cpuSeconds),
        peakRssMiBPerWorker: round(b.peakRssMiB, 1),
        speedupVsOneWorker: round(recordsPerSec / ((scaleOut[0]?.recordsPerSec as number | undefined) ?? recordsPerSec)),
      });
    }
  }

  // ── Restore and its baseline ──
  let producer: Awaited<ReturnType<typeof producerPerfTest>> | undefined;
  let restored: Record<string, unknown> = { status: "skipped" };
  if (!skip.has("restore") && restoreSource) {
    const perfTopic = `bench-perf-${run}`;
    await createTopic(perfTopic, partitions);
    topics.push(perfTopic);
    log("kafka-producer-perf-test (acks=all, idempotent)");
    producer = await producerPerfTest(perfTopic, records, valueBytes);
    await deleteTopic(perfTopic);
    const target = `bench-restored-${run}`;
    topics.push(target);
    log(`restore ${restoreSource} from MinIO into ${target}`);
    const measure = async (source: string, label: string, into: string) => {
      log(`restore ${source} from MinIO into ${into}`);
      const r = await restore(ws, topic, source, into);
      if (r.records !== records) throw new Error(`restore ${into}: ${r.records} records, expected ${records}`);
      const recordsPerSec = r.records / r.engineSeconds;
      await deleteTopic(into);
      return {
        source: `minio, ${label} (${source})`,
        targetTopic: into,
        records: r.records,
        mbPerSec: round((r.records * keyValueMiBPerRecord) / r.engineSeconds, 1),
        recordsPerSec: Math.round(recordsPerSec),
        engineSeconds: round(r.engineSeconds),
        ...usage(r.measured),
        cpuSecondsPerGiB: round((r.measured.cpuSeconds * 1024 * MiB) / (records * valueBytes)),
        vsProducerPerfTest: round(recordsPerSec / (producer?.recordsPerSec ?? Number.NaN)),
      };
    };
    restored = { status: "measured", ...(await measure(restoreSource, "zstd-3", target)) };
    if (restoreSourceNone) {
      const second = `bench-restored-none-${run}`;
      topics.push(second);
      restored.fromUncompressedSet = await measure(restoreSourceNone, "none", second);
    }
  }

  // ── Profiles of the two operations (optional) ──
  if (args.profile) {
    const dir = args.profile;
    mkdirSync(dir, { recursive: true });
    log(`profiling the CLI backup and restore into ${dir}`);
    await backup(ws, topic, "minio", "zstd", 3, ["--cpu-prof", `--cpu-prof-dir=${join(dir, "backup")}`], cliSource);
    if (restoreSource) {
      const target = `bench-profiled-${run}`;
      topics.push(target);
      await restore(ws, topic, restoreSource, target, ["--cpu-prof", `--cpu-prof-dir=${join(dir, "restore")}`], cliSource);
      await deleteTopic(target);
    }
  }

  // ── Offsets ──
  let offsets: OffsetsBench | { status: "skipped" } = { status: "skipped" };
  if (!skip.has("offsets")) {
    const offsetsTopic = `bench-offsets-${run}`;
    await createTopic(offsetsTopic, 10);
    topics.push(offsetsTopic);
    log("offsets: 500 groups × 10 partitions");
    offsets = await offsetsBench(offsetsTopic, 500, 10, 0);
  }

  // ── Controllers ──
  let controllers: ControllerBench | { status: "skipped" | "failed"; error?: string } = { status: "skipped" };
  if (!skip.has("controllers")) {
    const latencyTopic = `bench-latency-${run}`;
    await createTopic(latencyTopic, 1);
    topics.push(latencyTopic);
    await fill(latencyTopic, 100, valueBytes, 1);
    log(`controllers: ${resources} resources in ${namespaces} namespace(s), ${latencySamples} one-shot backups for the latency`);
    // A failure here is recorded as such; the throughput figures above stand on their own.
    controllers = await controllersBench({
      resources,
      namespaces,
      controllers: measuredControllers,
      latencySamples,
      latencyTopic,
      settleMs: quick ? 3_000 : 20_000,
    }).catch((err: Error) => {
      log(`controllers: failed: ${err.message}`);
      return { status: "failed" as const, error: err.message.slice(0, 2000) };
    });
  }

  // ── Goals (from issue #10), reported, never asserted ──
  const zstdMinio = backups.find((b) => b.target === "minio" && b.compression === "zstd-3");
  const worstBackup = backups.length ? Math.min(...backups.map((b) => b.vsConsumerPerfTest ?? 0)) : Number.NaN;
  const peakBackupRss = backups.length ? Math.max(...backups.map((b) => b.peakRssMiB ?? 0)) : Number.NaN;
  const idleRss = "idle" in controllers ? Math.max(...controllers.idle.map((c) => c.idleRssMiB)) : Number.NaN;
  const goals = [
    { goal: "backup ≥ 1.0× kafka-consumer-perf-test (worst of the six backups)", target: 1.0, measured: round(worstBackup) },
    {
      goal: "backup ≥ 1.0× kafka-consumer-perf-test (MinIO, zstd-3)",
      target: 1.0,
      measured: zstdMinio?.vsConsumerPerfTest ?? null,
    },
    {
      goal: "restore ≥ 1.0× kafka-producer-perf-test",
      target: 1.0,
      measured: (restored.vsProducerPerfTest as number | undefined) ?? null,
    },
    {
      goal: "backup → MinIO zstd-3 ≥ 0.9× the zstd-3 compression bound",
      target: 0.9,
      measured: (zstdMinio as { vsZstdBound?: number } | undefined)?.vsZstdBound ?? null,
    },
    { goal: "backup peak RSS ≤ 200 MiB (largest of the six)", target: 200, measured: round(peakBackupRss, 1) },
    {
      goal: "restore peak RSS ≤ 200 MiB",
      target: 200,
      measured: (restored.peakRssMiB as number | undefined) ?? null,
    },
    { goal: "controller idle RSS ≤ 60 MiB (largest)", target: 60, measured: round(idleRss, 1) },
  ].map((g) => ({
    ...g,
    met:
      g.measured === null || !Number.isFinite(g.measured)
        ? null
        : g.target <= 1.0
          ? g.measured >= g.target
          : g.measured <= g.target,
  }));

  const result = {
    schema: 1,
    quick,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => round(l, 1)) },
    data,
    ours: {
      cli: "dist/bench/cli/kafka-backup.js (npm run build's bundle, as the image runs it), a child process per run",
      controllers: `dist/bench/controllers/*.js, started as local processes against the stack's API server, with the Deployments' flags (${nodeFlags.join(" ")})`,
    },
    baselines: {
      consumerPerfTest: {
        ...consumer,
        note: "kafka-consumer-perf-test; MB = MiB of keys + values; MB.sec includes the group join",
      },
      producerPerfTest: producer
        ? {
            ...producer,
            recordBytes: valueBytes,
            note: "kafka-producer-perf-test, acks=all, enable.idempotence=true, values only",
          }
        : { status: "skipped" },
    },
    backup: backups,
    scaleOut: {
      note: "worker processes of the CLI's worker mode on this machine, each a shard of one backup set; wall time from the first start to the last exit (process start-up included)",
      runs: scaleOut,
    },
    zstdBound: zstdBoundDetail ?? { status: "skipped" },
    restore: restored,
    offsets,
    controllers,
    goals,
  };
  mkdirSync(args.out, { recursive: true });
  const stamped = join(args.out, `${startedAt.toISOString().replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`);
  writeFileSync(`${stamped}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${stamped}.tmp`, stamped);
  copyFileSync(stamped, join(args.out, "latest.json"));
  printTable(result);
  log(`results: ${stamped} and ${join(args.out, "latest.json")}`);
} finally {
  for (const t of topics) await deleteTopic(t);
  // The MinIO sets of this run, and the local folder.
  const store = await minioStore(`bench-${run}`).catch(() => undefined);
  if (store) {
    const keys: string[] = [];
    for await (const e of store.list("")) if (e.type === "object") keys.push(e.key);
    for (let i = 0; i < keys.length; i += 500) await store.delete(keys.slice(i, i + 500)).catch(() => {});
  }
  rmSync(ws.dir, { recursive: true, force: true });
}
