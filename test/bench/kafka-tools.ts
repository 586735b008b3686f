// Kafka's own tools from the stack: topics, the fill (Fill.java on Kafka's Java producer), and the
// perf tests that are the baselines. Each parses the tool's own summary; nothing is estimated.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "../stack/config.ts";
import { stackEnv } from "../support/stack-env.ts";

const run = promisify(execFile);

async function tool(name: string, args: string[], timeoutMs = 1_800_000): Promise<string> {
  const { stdout } = await run(join(stackEnv("KAFKA_BIN"), name), args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

export async function createTopic(topic: string, partitions: number): Promise<void> {
  await tool("kafka-topics", [
    "--bootstrap-server",
    stackEnv("KAFKA_BOOTSTRAP_SERVERS"),
    "--create",
    "--topic",
    topic,
    "--partitions",
    String(partitions),
  ]);
}

export async function deleteTopic(topic: string): Promise<void> {
  await tool("kafka-topics", ["--bootstrap-server", stackEnv("KAFKA_BOOTSTRAP_SERVERS"), "--delete", "--topic", topic]).catch(
    () => {},
  );
}

/** Fills `topic` with realistic records (Fill.java): JSON-like values, keys, three headers. */
export async function fill(topic: string, records: number, valueBytes: number, partitions: number): Promise<{ seconds: number }> {
  const log4j = join(repoRoot, "test", "fixtures", "log4j2.properties");
  const { stdout } = await run(
    "java",
    [
      `-Dlog4j2.configurationFile=${log4j}`,
      "-cp",
      `${stackEnv("KAFKA_LIB")}/*`,
      join(import.meta.dirname, "Fill.java"),
      stackEnv("KAFKA_BOOTSTRAP_SERVERS"),
      topic,
      String(records),
      String(valueBytes),
      String(partitions),
    ],
    { timeout: 1_800_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const summary = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { records: number; seconds: number };
  if (summary.records !== records) throw new Error(`fill: produced ${summary.records} of ${records} records`);
  return { seconds: summary.seconds };
}

export interface ConsumerPerf {
  records: number;
  /** MB = 2^20 bytes of keys and values, as the tool counts them. */
  mb: number;
  mbPerSec: number;
  recordsPerSec: number;
  /** The same without the group join (the tool's fetch.* columns). */
  fetchMbPerSec: number;
  fetchRecordsPerSec: number;
}

/** kafka-consumer-perf-test reading `records` records of `topic` from the start. */
export async function consumerPerfTest(topic: string, records: number): Promise<ConsumerPerf> {
  const out = await tool("kafka-consumer-perf-test", [
    "--bootstrap-server",
    stackEnv("KAFKA_BOOTSTRAP_SERVERS"),
    "--topic",
    topic,
    "--messages",
    String(records),
    "--timeout",
    "120000",
  ]);
  const [header, row] = out.trim().split("\n").slice(-2);
  const columns = (header ?? "").split(",").map((c) => c.trim());
  const values = (row ?? "").split(",").map((c) => c.trim());
  const col = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`kafka-consumer-perf-test: no column ${name} in ${header}`);
    return Number(values[i]);
  };
  return {
    records: col("data.consumed.in.nMsg"),
    mb: col("data.consumed.in.MB"),
    mbPerSec: col("MB.sec"),
    recordsPerSec: col("nMsg.sec"),
    fetchMbPerSec: col("fetch.MB.sec"),
    fetchRecordsPerSec: col("fetch.nMsg.sec"),
  };
}

export interface ProducerPerf {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgLatencyMs: number;
}

/** kafka-producer-perf-test, acks=all and idempotent, into a new topic. */
export async function producerPerfTest(topic: string, records: number, recordSize: number): Promise<ProducerPerf> {
  const out = await tool("kafka-producer-perf-test", [
    "--topic",
    topic,
    "--num-records",
    String(records),
    "--record-size",
    String(recordSize),
    "--throughput",
    "-1",
    "--producer-props",
    `bootstrap.servers=${stackEnv("KAFKA_BOOTSTRAP_SERVERS")}`,
    "acks=all",
    "enable.idempotence=true",
  ]);
  const summary = out.trim().split("\n").at(-1) ?? "";
  const m = /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency/.exec(summary);
  if (!m) throw new Error(`kafka-producer-perf-test: unexpected summary ${summary}`);
  return { records: Number(m[1]), recordsPerSec: Number(m[2]), mbPerSec: Number(m[3]), avgLatencyMs: Number(m[4]) };
}
