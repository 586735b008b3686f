// Kafka's own perf tools run from the stack's cache: the benchmarks' baselines.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { stackEnv } from "../support/stack-env.ts";

const tool = (name: string, args: string[]) =>
  execFileSync(join(stackEnv("KAFKA_BIN"), name), args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 120_000,
  });

test("kafka-producer-perf-test and kafka-consumer-perf-test run against the stack's broker", () => {
  const servers = stackEnv("KAFKA_BOOTSTRAP_SERVERS");
  const topic = `perf-smoke-${randomUUID().slice(0, 8)}`;
  tool("kafka-topics", ["--bootstrap-server", servers, "--create", "--topic", topic, "--partitions", "2"]);

  const produced = tool("kafka-producer-perf-test", [
    "--topic",
    topic,
    "--num-records",
    "5000",
    "--record-size",
    "1024",
    "--throughput",
    "-1",
    "--producer-props",
    `bootstrap.servers=${servers}`,
    "acks=all",
    "enable.idempotence=true",
  ]);
  const summary = produced.trim().split("\n").at(-1) ?? "";
  assert.match(summary, /^5000 records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\)/);

  const consumed = tool("kafka-consumer-perf-test", [
    "--bootstrap-server",
    servers,
    "--topic",
    topic,
    "--messages",
    "5000",
    "--timeout",
    "30000",
  ]);
  const [header, row] = consumed.trim().split("\n").slice(-2);
  const columns = (header ?? "").split(",").map((c) => c.trim());
  const values = (row ?? "").split(",").map((c) => c.trim());
  const nMsg = Number(values[columns.indexOf("data.consumed.in.nMsg")]);
  const mb = Number(values[columns.indexOf("data.consumed.in.MB")]);
  assert.equal(nMsg, 5000);
  assert.ok(Math.abs(mb - (5000 * 1024) / (1024 * 1024)) < 0.01, `consumed ${mb} MB`);
});
