// Repartitioning must put each key where Kafka's Java client would: the engine's partitioner is
// compared with the Java client's own (from the stack's Kafka jars) on 5,000 keys.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { javaPartition } from "../../engine/kafka/partitioner.ts";
import { repoRoot } from "../stack/config.ts";
import { stackEnv } from "../support/stack-env.ts";

test("javaPartition agrees with the Java client's default partitioner", () => {
  const keys = [
    Buffer.alloc(0),
    Buffer.from("a"),
    Buffer.from("order-42"),
    Buffer.from("ünïcode-κλειδί"),
    ...Array.from({ length: 2000 }, (_, i) => Buffer.from(`customer-${i}`)),
    ...Array.from({ length: 2996 }, (_, i) => randomBytes(1 + (i % 64))),
  ];
  for (const count of [1, 3, 6, 7, 100]) {
    const java = execFileSync(
      "java",
      [
        `-Dlog4j2.configurationFile=${join(repoRoot, "test/fixtures/log4j2.properties")}`,
        "-cp",
        `${stackEnv("KAFKA_LIB")}/*`,
        join(repoRoot, "test/fixtures/HostileRecords.java"),
        "partition",
        String(count),
      ],
      { input: keys.map((k) => `k:${k.toString("base64")}`).join("\n"), encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
    )
      .trim()
      .split("\n")
      .map(Number);
    assert.equal(java.length, keys.length);
    assert.deepEqual(
      keys.map((k) => javaPartition(k, count)),
      java,
      `partition count ${count}`,
    );
  }
});
