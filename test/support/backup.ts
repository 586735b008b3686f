// Shared pieces of the backup and restore tests: a MinIO-backed store under a fresh prefix, the
// Java reference client (test/fixtures/HostileRecords.java), and reading a whole backup back.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { parseCheckpoint } from "../../engine/backup/checkpoint.ts";
import { checkpointKey } from "../../engine/backup/layout.ts";
import { readManifest, readSegment } from "../../engine/backupset/catalog.ts";
import type { Manifest } from "../../engine/format/manifest.ts";
import type { BackupRecord } from "../../engine/format/record.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import type { StorageSpec } from "../../engine/storage/config.ts";
import { openStorage } from "../../engine/storage/open.ts";
import { repoRoot } from "../stack/config.ts";
import { stackEnv } from "./stack-env.ts";

/** A KafkaBackup-style storage block for the stack's MinIO, and the Secret values it names. */
export function minioStorageSpec(prefix: string): { spec: StorageSpec; secrets: Record<string, Record<string, string>> } {
  return {
    spec: {
      storageType: "s3",
      s3: {
        bucket: stackEnv("S3_BUCKET"),
        region: stackEnv("S3_REGION"),
        endpoint: stackEnv("S3_ENDPOINT"),
        pathStyle: true,
        allowHttp: true,
        prefix,
        credentialsSecret: { name: "minio-credentials" },
      },
    },
    secrets: {
      "minio-credentials": {
        AWS_ACCESS_KEY_ID: stackEnv("S3_ACCESS_KEY_ID"),
        AWS_SECRET_ACCESS_KEY: stackEnv("S3_SECRET_ACCESS_KEY"),
      },
    },
  };
}

export async function minioStore(prefix = `test-${randomUUID().slice(0, 8)}`): Promise<StorageBackend> {
  const { spec, secrets } = minioStorageSpec(prefix);
  return await openStorage(spec, async ({ secretName, key }) => secrets[secretName]?.[key] ?? "", {});
}

/** Runs the Java reference client (Kafka's own jars from the stack). */
export function javaFixture(args: string[]): string {
  const log4j = join(repoRoot, "test", "fixtures", "log4j2.properties");
  return execFileSync(
    "java",
    [
      `-Dlog4j2.configurationFile=${log4j}`,
      "-cp",
      `${stackEnv("KAFKA_LIB")}/*`,
      join(repoRoot, "test", "fixtures", "HostileRecords.java"),
      ...args,
    ],
    { encoding: "utf8", maxBuffer: 1024 * 1024 * 1024, stdio: ["ignore", "pipe", "inherit"] },
  );
}

export interface JavaRecord {
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: "CreateTime" | "LogAppendTime";
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}

/** What the Java consumer (read_committed) sees in a topic: the ground truth. */
export function javaDump(topic: string, bootstrapServers = stackEnv("KAFKA_BOOTSTRAP_SERVERS")): JavaRecord[] {
  return javaFixture(["dump", bootstrapServers, topic])
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as JavaRecord);
}

/** A backed-up record in the Java dump's encoding, for a deep comparison. */
export function asJavaRecord(partition: number, r: BackupRecord): JavaRecord {
  const b64 = (b: Buffer | null) => (b === null ? null : b.toString("base64"));
  return {
    partition,
    offset: r.offset,
    timestamp: r.timestamp,
    timestampType: r.timestampType,
    key: b64(r.key),
    value: b64(r.value),
    headers: r.headers.map((h) => ({ key: Buffer.from(h.key, "utf8").toString("base64"), value: b64(h.value) })),
  };
}

/** Every record of a backup set, per topic, decoded from storage. */
export async function readBackup(
  store: StorageBackend,
  backupId: string,
  encryptionKey?: Buffer,
): Promise<{ manifest: Manifest; records: Map<string, JavaRecord[]> }> {
  const manifest = await readManifest(store, backupId);
  const records = new Map<string, JavaRecord[]>();
  for (const topic of manifest.topics) {
    const all: JavaRecord[] = [];
    for (const p of topic.partitions) {
      for (const segment of p.segments) {
        for (const r of await readSegment(store, segment, encryptionKey ? { encryptionKey } : {}))
          all.push(asJavaRecord(p.partition, r));
      }
    }
    records.set(topic.name, all);
  }
  return { manifest, records };
}

/**
 * A backup's durable progress: the offsets its partitions' checkpoints (written after each stored
 * segment) cover, summed over partitions 0 … partitions − 1 (none yet: 0).
 */
export async function durableOffsets(
  store: StorageBackend,
  backupId: string | undefined,
  topic: string,
  partitions: number,
): Promise<number> {
  let sum = 0;
  for (let p = 0; backupId && p < partitions; p++) {
    const key = checkpointKey(backupId, topic, p);
    const cp = await store
      .getBuffer(key)
      .then((b) => parseCheckpoint(b.body.toString("utf8"), key))
      .catch(() => undefined);
    sum += cp?.nextOffset ?? 0;
  }
  return sum;
}
