// Memory stays bounded whatever the topic's size: a ≥ 1 GiB topic (filled by Kafka's own
// producer perf tool) is backed up by the CLI in a child process whose peak RSS is read from
// /proc. The figure is printed; the bound asserted is the design's, with room for the runtime.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../stack/config.ts";
import { minioStorageSpec } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";

const GiB = 1024 ** 3;

function peakRssKiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

test("backing up a 1 GiB topic keeps the process's memory bounded", async () => {
  const servers = stackEnv("KAFKA_BOOTSTRAP_SERVERS");
  const topic = `big-${randomUUID().slice(0, 8)}`;
  const bin = stackEnv("KAFKA_BIN");
  execFileSync(join(bin, "kafka-topics"), ["--bootstrap-server", servers, "--create", "--topic", topic, "--partitions", "8"], {
    stdio: "ignore",
  });
  const recordSize = 1024;
  const records = Math.ceil((1.05 * GiB) / recordSize);
  execFileSync(
    join(bin, "kafka-producer-perf-test"),
    [
      "--topic",
      topic,
      "--num-records",
      String(records),
      "--record-size",
      String(recordSize),
      "--throughput",
      "-1",
      "--producer-props",
      `bootstrap.servers=${servers}`,
      "acks=1",
      "linger.ms=20",
      "batch.size=262144",
      "compression.type=lz4",
    ],
    { stdio: "ignore", timeout: 600_000 },
  );

  const prefix = `memory-${randomUUID().slice(0, 8)}`;
  const { spec, secrets } = minioStorageSpec(prefix);
  const dir = mkdtempSync(join(tmpdir(), "kbo-memory-"));
  for (const [name, keys] of Object.entries(secrets)) {
    mkdirSync(join(dir, "secrets", name), { recursive: true });
    for (const [k, v] of Object.entries(keys)) writeFileSync(join(dir, "secrets", name, k), v);
  }
  writeFileSync(
    join(dir, "backup.json"),
    JSON.stringify({
      kafkaCluster: { bootstrapServers: servers.split(",") },
      topics: [topic],
      storage: spec,
      compression: "zstd",
      compressionLevel: 1,
    }),
  );
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "engine/cli/main.ts"),
      "backup",
      "-c",
      join(dir, "backup.json"),
      "--secrets-dir",
      join(dir, "secrets"),
      "--backup-id",
      "big",
      "--json",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  // Peak RSS sampled along the run: bounded means it stops growing while the data keeps coming.
  let peak = 0;
  const samples: number[] = [];
  const sampler = setInterval(() => {
    peak = Math.max(peak, peakRssKiB(child.pid as number) ?? 0);
    samples.push(peak);
  }, 100);
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearInterval(sampler);
  assert.equal(code, 0, err.slice(-2000));
  const result = JSON.parse(out) as { records: number; bytes: number; storedBytes: number };
  const seconds = (Date.now() - started) / 1000;
  const peakMiB = peak / 1024;
  const halfway = (samples[Math.floor(samples.length / 2)] ?? 0) / 1024;
  console.log(
    `memory: backed up ${result.records} records (${(result.bytes / GiB).toFixed(2)} GiB) in ${seconds.toFixed(1)}s ` +
      `(${(result.bytes / 1e6 / seconds).toFixed(0)} MB/s); peak RSS ${peakMiB.toFixed(0)} MiB at the end, ${halfway.toFixed(0)} MiB halfway`,
  );
  assert.equal(result.records, records);
  assert.ok(result.bytes >= GiB);
  // The default memory budget (128 MiB of records) plus the runtime and transfer buffers: well
  // under the topic's size, and flat — the second half of the run adds (almost) nothing.
  assert.ok(peakMiB < 768, `peak RSS ${peakMiB.toFixed(0)} MiB`);
  assert.ok(
    peakMiB < halfway * 1.25 + 32,
    `RSS kept growing: ${halfway.toFixed(0)} MiB halfway, ${peakMiB.toFixed(0)} MiB at the end`,
  );
});
