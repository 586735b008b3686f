// Our engine as a user runs it: the `kafka-backup` CLI in a child process (so its CPU seconds and
// peak RSS are its own), backing up to a local folder (PVC storage) or to the stack's MinIO, and
// restoring from MinIO into a new topic.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Codec } from "../../engine/format/codec.ts";
import { repoRoot } from "../stack/config.ts";
import { minioStorageSpec } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";
import { type Measured, runNode } from "./measure.ts";

/** The CLI as the image ships it (the bundle from `npm run build`), or its source (for readable profiles). */
export const cliBundle = join(repoRoot, "dist", "bench", "cli", "kafka-backup.js");
export const cliSource = join(repoRoot, "engine", "cli", "main.ts");

export interface Workspace {
  dir: string;
  secretsDir: string;
  pvcRoot: string;
}

export function workspace(dir: string, minioPrefix: string): Workspace & { minio: ReturnType<typeof minioStorageSpec>["spec"] } {
  const { spec, secrets } = minioStorageSpec(minioPrefix);
  const secretsDir = join(dir, "secrets");
  for (const [name, keys] of Object.entries(secrets)) {
    mkdirSync(join(secretsDir, name), { recursive: true });
    for (const [k, v] of Object.entries(keys)) writeFileSync(join(secretsDir, name, k), v);
  }
  const pvcRoot = join(dir, "pvcs");
  mkdirSync(join(pvcRoot, "bench"), { recursive: true });
  return { dir, secretsDir, pvcRoot, minio: spec };
}

export type Target = "filesystem" | "minio";

export interface BackupRun {
  target: Target;
  codec: Codec;
  level?: number;
  backupId: string;
  records: number;
  bytes: number;
  storedBytes: number;
  segments: number;
  engineSeconds: number;
  measured: Measured;
}

function storageFor(ws: ReturnType<typeof workspace>, target: Target) {
  return target === "minio" ? ws.minio : { storageType: "pvc", pvc: { claimName: "bench", subPath: "backups" } };
}

export async function backup(
  ws: ReturnType<typeof workspace>,
  topic: string,
  target: Target,
  codec: Codec,
  level: number | undefined,
  nodeArgs: string[] = [],
  cli = cliBundle,
): Promise<BackupRun> {
  const backupId = `bench-${target}-${codec}${level ?? ""}-${Date.now()}`;
  const config = join(ws.dir, `${backupId}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
      topics: [topic],
      storage: storageFor(ws, target),
      compression: codec,
      ...(level !== undefined ? { compressionLevel: level } : {}),
    }),
  );
  const measured = await runNode(
    cli,
    ["backup", "-c", config, "--secrets-dir", ws.secretsDir, "--pvc-root", ws.pvcRoot, "--backup-id", backupId, "--json"],
    nodeArgs,
  );
  if (measured.code !== 0) throw new Error(`backup ${backupId} exited ${measured.code}: ${measured.stderr.slice(-2000)}`);
  const r = JSON.parse(measured.stdout.trim().split("\n").at(-1) ?? "{}") as {
    records: number;
    bytes: number;
    storedBytes: number;
    segments: number;
    durationMs: number;
  };
  return {
    target,
    codec,
    ...(level !== undefined ? { level } : {}),
    backupId,
    records: r.records,
    bytes: r.bytes,
    storedBytes: r.storedBytes,
    segments: r.segments,
    engineSeconds: r.durationMs / 1000,
    measured,
  };
}

export interface RestoreRun {
  backupId: string;
  targetTopic: string;
  records: number;
  bytes: number;
  engineSeconds: number;
  measured: Measured;
}

/** Restores `backupId` (from MinIO) into a new topic `targetTopic`. */
export async function restore(
  ws: ReturnType<typeof workspace>,
  sourceTopic: string,
  backupId: string,
  targetTopic: string,
  nodeArgs: string[] = [],
  cli = cliBundle,
): Promise<RestoreRun> {
  const config = join(ws.dir, `restore-${targetTopic}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      backupRef: { storage: ws.minio, backupId },
      kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
      topics: [sourceTopic],
      topicMapping: { [sourceTopic]: targetTopic },
      createTopics: true,
    }),
  );
  const measured = await runNode(
    cli,
    ["restore", "-c", config, "--secrets-dir", ws.secretsDir, "--pvc-root", ws.pvcRoot, "--restore-id", targetTopic, "--json"],
    nodeArgs,
  );
  if (measured.code !== 0)
    throw new Error(`restore into ${targetTopic} exited ${measured.code}: ${measured.stderr.slice(-2000)}`);
  const r = JSON.parse(measured.stdout.trim().split("\n").at(-1) ?? "{}") as {
    records: number;
    bytes: number;
    durationMs: number;
  };
  return { backupId, targetTopic, records: r.records, bytes: r.bytes, engineSeconds: r.durationMs / 1000, measured };
}

export interface ShardedBackupRun {
  workers: number;
  backupId: string;
  records: number;
  bytes: number;
  /** From the first worker's start to the last one's exit: the run as a Job would take it. */
  wallSeconds: number;
  /** All workers together. */
  cpuSeconds: number;
  /** The largest worker's. */
  peakRssMiB: number;
}

/** A backup as execution.mode job runs it: `workers` worker processes of the CLI, one per index, at once. */
export async function shardedBackup(
  ws: ReturnType<typeof workspace>,
  topic: string,
  workers: number,
  cli = cliBundle,
): Promise<ShardedBackupRun> {
  const backupId = `bench-sharded-${workers}-${Date.now()}`;
  const config = join(ws.dir, `${backupId}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
      topics: [topic],
      storage: ws.minio,
      compression: "zstd",
      compressionLevel: 3,
    }),
  );
  const started = performance.now();
  const runs = await Promise.all(
    Array.from({ length: workers }, (_, index) =>
      runNode(
        cli,
        ["worker", "backup", "-c", config, "--secrets-dir", ws.secretsDir, "--shards", String(workers), "--backup-id", backupId],
        [],
        1_800_000,
        { JOB_COMPLETION_INDEX: String(index) },
      ),
    ),
  );
  const wallSeconds = (performance.now() - started) / 1000;
  let records = 0;
  let bytes = 0;
  for (const [index, m] of runs.entries()) {
    if (m.code !== 0) throw new Error(`sharded backup ${backupId}, worker ${index} exited ${m.code}: ${m.stderr.slice(-2000)}`);
    const r = JSON.parse(m.stdout.trim().split("\n").at(-1) ?? "{}") as { records: number; bytes: number };
    records += r.records;
    bytes += r.bytes;
  }
  return {
    workers,
    backupId,
    records,
    bytes,
    wallSeconds,
    cpuSeconds: runs.reduce((n, m) => n + m.cpuSeconds, 0),
    peakRssMiB: Math.max(...runs.map((m) => m.peakRssMiB)),
  };
}
