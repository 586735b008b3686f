// Smoke tests of the stack's Kafka: a real broker on each listener, with kafkajs.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { Kafka, type KafkaConfig, logLevel } from "kafkajs";
import { stackEnv } from "../support/stack-env.ts";

const tls = () => ({
  ca: [readFileSync(stackEnv("KAFKA_CA_CERT"))],
  cert: readFileSync(stackEnv("KAFKA_CLIENT_CERT")),
  key: readFileSync(stackEnv("KAFKA_CLIENT_KEY")),
});

const listeners: Record<string, () => KafkaConfig> = {
  PLAINTEXT: () => ({ brokers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") }),
  SSL: () => ({ brokers: stackEnv("KAFKA_SSL_BOOTSTRAP_SERVERS").split(","), ssl: tls() }),
  SASL_SSL: () => ({
    brokers: stackEnv("KAFKA_SASL_SSL_BOOTSTRAP_SERVERS").split(","),
    ssl: { ca: [readFileSync(stackEnv("KAFKA_CA_CERT"))] },
    sasl: { mechanism: "scram-sha-512", username: stackEnv("KAFKA_SCRAM_USERNAME"), password: stackEnv("KAFKA_SCRAM_PASSWORD") },
  }),
};

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function roundTrip(config: KafkaConfig, listener: string): Promise<void> {
  const kafka = new Kafka({ ...config, clientId: "stack-smoke", logLevel: logLevel.NOTHING });
  const topic = `smoke-${listener.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true }), true);

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const sent = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `value-${i}`, headers: { n: String(i) } }));
  await producer.send({ topic, acks: -1, messages: sent });

  const consumer = kafka.consumer({ groupId: `smoke-${randomUUID()}` });
  await consumer.connect();
  cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: Array<{ key: string; value: string; n: string }> = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        received.push({ key: String(message.key), value: String(message.value), n: String(message.headers?.n) });
        if (received.length === sent.length) resolve();
      },
    });
  });
  await consumer.stop();
  received.sort((a, b) => Number(a.n) - Number(b.n));
  assert.deepEqual(
    received,
    sent.map((m) => ({ key: m.key, value: m.value, n: m.headers.n })),
  );
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(
    offsets.reduce((sum, p) => sum + Number(p.high), 0),
    sent.length,
  );
}

describe("stack: Kafka", () => {
  for (const [listener, config] of Object.entries(listeners)) {
    test(`produce and consume over ${listener}`, async () => {
      await roundTrip(config(), listener);
    });
  }

  test("SASL_SSL with a wrong SCRAM password fails with an authentication error", async () => {
    const config = listeners.SASL_SSL?.() as KafkaConfig;
    const kafka = new Kafka({
      ...config,
      sasl: { mechanism: "scram-sha-512", username: stackEnv("KAFKA_SCRAM_USERNAME"), password: "not-the-password" },
      clientId: "stack-smoke",
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    await assert.rejects(admin.connect(), (err: Error) => {
      assert.match(`${err.name} ${err.message}`, /SASL|[Aa]uthentication/);
      return true;
    });
    await admin.disconnect().catch(() => {});
  });

  test("SSL without a client certificate is refused", async () => {
    const kafka = new Kafka({
      brokers: stackEnv("KAFKA_SSL_BOOTSTRAP_SERVERS").split(","),
      ssl: { ca: [readFileSync(stackEnv("KAFKA_CA_CERT"))] },
      clientId: "stack-smoke",
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 3000,
    });
    const admin = kafka.admin();
    await assert.rejects(admin.connect());
    await admin.disconnect().catch(() => {});
  });
});
