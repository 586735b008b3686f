// What the controllers' end-to-end tests share: a topic filled with records, the MinIO Secret
// and storage block their resources name, applying an object, and reading its Events.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { ITopicConfig, Message, Producer, ProducerRecord } from "kafkajs";
import type { KafkaClient } from "../../engine/kafka/client.ts";
import { kubectl } from "./kube.ts";
import { stackEnv } from "./stack-env.ts";

/** Sends `messages` to `topic` in one request of an idempotent producer (acks all). */
export async function produce(kafka: KafkaClient, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/**
 * producer.send, again while the broker does not know the topic yet: right after its creation a
 * broker under load can still answer UNKNOWN_TOPIC_OR_PARTITION (seen in CI), past kafkajs's retries.
 */
async function sendToNewTopic(producer: Producer, record: ProducerRecord): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await producer.send(record);
      return;
    } catch (err) {
      if ((err as { type?: string }).type !== "UNKNOWN_TOPIC_OR_PARTITION" || attempt >= 40) throw err;
      await sleep(250);
    }
  }
}

/**
 * A new topic with `perPartition` records in each partition (keys p<partition>-<i>); `create` adds
 * to its creation (replication factor, configs, or a replica assignment instead of a count).
 */
export async function topicWith(
  kafka: KafkaClient,
  partitions: number,
  perPartition: number,
  valueBytes = 64,
  create: Omit<ITopicConfig, "topic" | "numPartitions"> = {},
): Promise<string> {
  const topic = `e2e-${randomUUID().slice(0, 8)}`;
  const admin = await kafka.admin();
  const count = create.replicaAssignment ? {} : { numPartitions: partitions };
  await admin.createTopics({ topics: [{ topic, ...count, ...create }], waitForLeaders: true });
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let p = 0; p < partitions; p++) {
      for (let i = 0; i < perPartition; i += 2000) {
        const n = Math.min(2000, perPartition - i);
        await sendToNewTopic(producer, {
          topic,
          acks: -1,
          messages: Array.from({ length: n }, (_, j) => ({ partition: p, key: `p${p}-${i + j}`, value: "v".repeat(valueBytes) })),
        });
      }
    }
  } finally {
    await producer.disconnect();
  }
  return topic;
}

/**
 * `perPartition` records of `valueBytes` bytes in each of `partitions` partitions, `batch` records
 * per partition in each request (so the log holds batches of that size), keys `<tag>-<i>`.
 */
export async function produceInBatches(
  kafka: KafkaClient,
  topic: string,
  o: { partitions: number; perPartition: number; valueBytes: number; batch: number; tag: string },
): Promise<void> {
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let i = 0; i < o.perPartition; i += o.batch) {
      const n = Math.min(o.batch, o.perPartition - i);
      await sendToNewTopic(producer, {
        topic,
        acks: -1,
        messages: Array.from({ length: n * o.partitions }, (_, j) => ({
          partition: j % o.partitions,
          key: `${o.tag}-${i + Math.floor(j / o.partitions)}`,
          value: o.tag[0]?.repeat(o.valueBytes) ?? "",
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Deletes `topic` and waits until its name is gone from the cluster's topic list. */
export async function deleteTopicAndWait(kafka: KafkaClient, topic: string): Promise<void> {
  const admin = await kafka.admin();
  await admin.deleteTopics({ topics: [topic] });
  for (let i = 0; i < 100 && (await admin.listTopics()).includes(topic); i++) await sleep(100);
}

/** Creates `topic`, again while the name is still taken (right after a deletion it can be, for a moment). */
export async function createTopicRetrying(kafka: KafkaClient, topic: string, partitions: number): Promise<void> {
  const admin = await kafka.admin();
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
      return;
    } catch (err) {
      if (attempt >= 20) throw err;
      await sleep(250);
    }
  }
}

/** Deletes `topic` and creates it again with `partitions` partitions (a new topic ID), empty. */
export async function recreateTopic(kafka: KafkaClient, topic: string, partitions: number): Promise<void> {
  await deleteTopicAndWait(kafka, topic);
  await createTopicRetrying(kafka, topic, partitions);
}

/** The Secret `minio-credentials` with the local MinIO's keys. */
export function minioSecret(namespace: string): void {
  kubectl(
    ["apply", "-n", namespace, "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "minio-credentials" },
      stringData: { AWS_ACCESS_KEY_ID: stackEnv("S3_ACCESS_KEY_ID"), AWS_SECRET_ACCESS_KEY: stackEnv("S3_SECRET_ACCESS_KEY") },
    }),
  );
}

/** A storage block for the local MinIO under `prefix`, with the Secret from minioSecret. */
export const s3Storage = (prefix: string) => ({
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
});

/** Why a test of the operator's image on the local node cannot run here, or false when it can. */
export function operatorImageSkip(): string | false {
  try {
    for (const name of ["KBO_NODE_IMAGE", "KAFKA_POD_BOOTSTRAP_SERVERS", "KBO_NODE_S3_ENDPOINT"]) stackEnv(name);
    return false;
  } catch {
    return "no operator image on a local node (npm run stack -- up --operator-image)";
  }
}

/** The local Kafka as pods reach it (the host's bridge address; the host reaches it there too). */
export const podKafkaCluster = () => ({ bootstrapServers: stackEnv("KAFKA_POD_BOOTSTRAP_SERVERS").split(",") });

/** s3Storage, with MinIO as pods reach it. */
export const podS3Storage = (prefix: string) => {
  const { s3 } = s3Storage(prefix);
  return { storageType: "s3", s3: { ...s3, endpoint: stackEnv("KBO_NODE_S3_ENDPOINT") } };
};

export function apply(namespace: string, manifest: Record<string, unknown>): void {
  kubectl(["apply", "-n", namespace, "-f", "-"], JSON.stringify(manifest));
}

export function events(namespace: string, name: string): Array<{ reason: string; message: string; type: string }> {
  const list = JSON.parse(
    kubectl(["get", "events", "-n", namespace, "--field-selector", `involvedObject.name=${name}`, "-o", "json"]),
  ) as {
    items: Array<{ reason: string; message: string; type: string }>;
  };
  return list.items;
}
