// `npm run bench -- --quick` runs end to end against the local stack and writes its JSON. Only
// completion and the shape of the result are checked: speed is never asserted in tests.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../stack/config.ts";

test("npm run bench -- --quick completes and writes results with the expected keys", () => {
  const out = mkdtempSync(join(tmpdir(), "kbo-bench-quick-"));
  try {
    const run = spawnSync(process.execPath, [join(repoRoot, "test", "bench", "main.ts"), "--quick", "--out", out], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 600_000,
    });
    assert.equal(run.status, 0, run.stderr.slice(-3000));
    assert.match(run.stdout, /kafka-consumer-perf-test \(baseline\)/);
    const result = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as Record<string, unknown>;
    for (const key of [
      "schema",
      "machine",
      "data",
      "baselines",
      "backup",
      "scaleOut",
      "restore",
      "offsets",
      "controllers",
      "goals",
    ])
      assert.ok(key in result, `results lack ${key}`);
    const backups = result.backup as Array<Record<string, unknown>>;
    assert.deepEqual(
      backups.map((b) => `${b.target} ${b.compression}`),
      ["filesystem zstd-3", "filesystem lz4", "filesystem none", "minio zstd-3", "minio lz4", "minio none"],
    );
    for (const b of backups)
      for (const key of ["mbPerSec", "recordsPerSec", "cpuSeconds", "peakRssMiB", "compressionRatio", "vsConsumerPerfTest"])
        assert.equal(typeof b[key], "number", `backup ${b.target} ${b.compression}: ${key}`);
    const scaleOut = (result.scaleOut as { runs: Array<Record<string, unknown>> }).runs;
    assert.deepEqual(
      scaleOut.map((s) => s.workers),
      [1, 2, 4],
    );
    for (const s of scaleOut)
      for (const key of ["mbPerSec", "recordsPerSec", "wallSeconds", "speedupVsOneWorker"])
        assert.equal(typeof s[key], "number", `scale-out ${s.workers} workers: ${key}`);
    const restore = result.restore as Record<string, unknown>;
    assert.equal(restore.status, "measured");
    for (const key of ["mbPerSec", "recordsPerSec", "peakRssMiB", "vsProducerPerfTest"])
      assert.equal(typeof restore[key], "number", key);
    const offsets = result.offsets as { bulkReset: { status: string }; rawCommit: { seconds: number } };
    assert.ok(["measured", "not available"].includes(offsets.bulkReset.status));
    assert.equal(typeof offsets.rawCommit.seconds, "number");
    const controllers = result.controllers as {
      idle: Array<{ controller: string; idleRssMiB: number }>;
      latency: { p50Ms: number; p99Ms: number };
    };
    // The backup controller and, by default, the four run-once kinds' controllers.
    assert.deepEqual(
      controllers.idle.map((c) => c.controller).sort(),
      ["backup", "offset-reset", "offset-rollback", "restore", "validation"],
      JSON.stringify(result.controllers),
    );
    for (const c of controllers.idle) assert.equal(typeof c.idleRssMiB, "number");
    assert.equal(typeof controllers.latency.p99Ms, "number");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
