// TLS configured against the stack's PLAINTEXT listener: the failure comes within seconds (not
// after kafkajs's ~40 s of retries), names the address, says it is a protocol mismatch and what
// the port speaks, and maps to the ProtocolMismatch condition reason. Both client paths: the
// admin client and the fetch/produce path's own cluster connection. Real broker.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { kafkaFailureReason } from "../../engine/kafka/errors.ts";
import { stackEnv } from "../support/stack-env.ts";

const plaintext = () => stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",")[0] as string;

async function failure(fn: (k: KafkaClient) => Promise<unknown>): Promise<{ err: Error; ms: number }> {
  const kafka = new KafkaClient({
    bootstrapServers: [plaintext()],
    securityProtocol: "SSL",
    tls: { ca: readFileSync(stackEnv("KAFKA_CA_CERT"), "utf8") },
  });
  const started = Date.now();
  try {
    await fn(kafka);
  } catch (err) {
    return { err: err as Error, ms: Date.now() - started };
  } finally {
    await kafka.close();
  }
  assert.fail("connecting with TLS to the PLAINTEXT listener succeeded");
}

test("TLS to a PLAINTEXT listener fails at once, naming the address and the protocol mismatch", async () => {
  for (const [path, fn] of [
    ["admin", (k: KafkaClient) => k.admin()],
    ["fetch path", (k: KafkaClient) => k.leaders([])],
  ] as const) {
    const { err, ms } = await failure(fn);
    assert.ok(ms < 10_000, `${path}: failed after ${ms} ms`);
    assert.ok(err.message.includes(plaintext()), `${path}: ${err.message}`);
    assert.match(err.message, /protocol mismatch/, path);
    assert.match(err.message, /answers Kafka requests without TLS: it is a PLAINTEXT or SASL_PLAINTEXT listener/, path);
    assert.equal(kafkaFailureReason(err), "ProtocolMismatch", path);
    console.log(`${path}: ${ms} ms: ${err.message}`);
  }
});
