// The Kafka client the operations use: kafkajs for admin and producing, plus a fetch path that
// keeps record batches raw (see record-batch.ts). The rest of the engine imports this module,
// never kafkajs.
import { type Admin, Kafka, type Kafka as KafkaJs, type LogEntry, logLevel } from "kafkajs";
import Cluster, { type InternalBroker } from "kafkajs/src/cluster/index.js";
import Encoder from "kafkajs/src/protocol/encoder.js";
import fetchRequest from "kafkajs/src/protocol/requests/fetch/v11/request.js";
import { type Logger, silentLogger } from "../log.ts";
import { registerKafkaCodecs } from "./codecs.ts";
import { type KafkaClusterConfig, kafkajsOptions } from "./config.ts";
import { type AbortedTransaction, committedRecords, decodeRecordSet, type PartitionData } from "./record-batch.ts";

export type { Admin };

// kafkajs 2.2.4 schedules a timer with a negative delay on every request under Node ≥ 23, which
// prints a TimeoutNegativeWarning (harmless: Node clamps it to 1 ms). Only that one is silenced.
const printWarnings = process.listeners("warning");
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name !== "TimeoutNegativeWarning") for (const print of printWarnings) print(warning);
});

/** Kafka error codes the fetch path acts on. */
export const ErrorCode = {
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  REPLICA_NOT_AVAILABLE: 9,
  NETWORK_EXCEPTION: 13,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  KAFKA_STORAGE_ERROR: 56,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  OFFSET_NOT_AVAILABLE: 78,
} as const;

/** Errors after which a fresh leader lookup and a retry are the cure. */
export const retriableFetchErrors: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.OFFSET_NOT_AVAILABLE,
]);

/**
 * Produce errors the Java producer retries: the fetch ones, and too few in-sync replicas (the
 * batch was not stored, or stored without enough copies: the idempotent producer's resend with
 * the same sequence is stored once either way).
 */
export const retriableProduceErrors: ReadonlySet<number> = new Set([
  ...retriableFetchErrors,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
]);

export interface FetchPartition {
  topic: string;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
}

export interface FetchedPartition extends PartitionData {
  topic: string;
  partition: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  /** Bytes of record batches received (compressed, as on the wire). */
  wireBytes: number;
}

/** One partition of a Fetch response, its record batches left as the broker sent them. */
export interface RawPartition {
  topic: string;
  partition: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  aborted: AbortedTransaction[];
  recordSet: Buffer;
}

const kafkajsLevels: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

export class KafkaClient {
  readonly kafka: KafkaJs;
  private readonly cluster: Cluster;
  private adminClient: Admin | undefined;
  private connecting: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  /** One connect per broker: kafkajs opens a connection per concurrent first call otherwise, and loses track of all but one. */
  private readonly brokers = new Map<number, ReturnType<Cluster["findBroker"]>>();
  /** Same for a broker's fetch connection, which kafkajs (re)connects once per concurrent caller. */
  private readonly fetchConnects = new Map<number, Promise<unknown>>();
  private readonly log: Logger;
  private readonly config: KafkaClusterConfig;

  constructor(config: KafkaClusterConfig, log: Logger = silentLogger) {
    registerKafkaCodecs();
    this.config = config;
    this.log = log.child({ component: "kafka" });
    const options = kafkajsOptions(config);
    this.kafka = new Kafka({
      ...options,
      logLevel: logLevel.WARN,
      // kafkajs logs the broker's messages at ERROR while it is still retrying; our own code
      // decides what is an error, so its lines go out one level lower.
      logCreator: () => (entry: LogEntry) => {
        const level = kafkajsLevels[entry.level] ?? "info";
        const { message, ...rest } = entry.log;
        this.log[level === "error" ? "warn" : level]({ ...rest, kafkajs: entry.namespace }, message);
      },
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    this.cluster = new Cluster({
      logger: this.kafka.logger(),
      socketFactory: options.socketFactory,
      offsets: new Map(),
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl,
      clientId: options.clientId,
      connectionTimeout: options.connectionTimeout,
      authenticationTimeout: options.authenticationTimeout,
      requestTimeout: options.requestTimeout,
      enforceRequestTimeout: true,
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
      metadataMaxAge: 300_000,
      allowAutoTopicCreation: false,
      maxInFlightRequests: null,
    });
  }

  get bootstrapServers(): string[] {
    return this.config.bootstrapServers;
  }

  async admin(): Promise<Admin> {
    if (!this.adminClient) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.adminClient = admin;
    }
    return this.adminClient;
  }

  /**
   * Leader node of each partition. Cached metadata unless `refresh` (after a leader error);
   * concurrent callers share one connection and one metadata request.
   */
  async leaders(topics: string[], refresh = false): Promise<Map<string, Map<number, number>>> {
    this.connecting ??= this.cluster.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    await this.connecting;
    await this.cluster.addMultipleTargetTopics(topics);
    if (refresh) {
      this.refreshing ??= this.cluster.refreshMetadata().finally(() => {
        this.refreshing = undefined;
      });
      await this.refreshing;
    }
    const result = new Map<string, Map<number, number>>();
    for (const topic of topics) {
      const byPartition = new Map<number, number>();
      for (const p of this.cluster.findTopicPartitionMetadata(topic)) byPartition.set(p.partitionId, p.leader);
      result.set(topic, byPartition);
    }
    return result;
  }

  /**
   * One Fetch request (v11) to one broker for any number of partitions, the batches kept as raw
   * bytes (views into the response). Partition-level errors come back in `errorCode` for the
   * caller to act on (refresh leaders, record a gap); connection errors throw. Several may be in
   * flight on the broker's fetch connection at once.
   */
  async fetch(
    nodeId: number,
    partitions: FetchPartition[],
    opts: { readCommitted: boolean; maxWaitMs: number; maxBytes: number },
  ): Promise<RawPartition[]> {
    let found = this.brokers.get(nodeId);
    if (!found) {
      found = this.cluster.findBroker({ nodeId });
      this.brokers.set(nodeId, found);
      found.catch(() => this.brokers.delete(nodeId));
    }
    const broker = await found;
    let connecting = this.fetchConnects.get(nodeId);
    if (!connecting) {
      connecting = broker.connectionPool.getConnection(1).finally(() => this.fetchConnects.delete(nodeId));
      this.fetchConnects.set(nodeId, connecting);
    }
    await connecting;
    const byTopic = new Map<string, FetchPartition[]>();
    for (const p of partitions) {
      const list = byTopic.get(p.topic);
      if (list) list.push(p);
      else byTopic.set(p.topic, [p]);
    }
    const request = fetchRequest({
      replicaId: -1,
      isolationLevel: opts.readCommitted ? 1 : 0,
      maxWaitTime: opts.maxWaitMs,
      minBytes: 1,
      maxBytes: opts.maxBytes,
      topics: [...byTopic].map(([topic, ps]) => ({
        topic,
        partitions: ps.map((p) => ({ partition: p.partition, fetchOffset: String(p.fetchOffset), maxBytes: p.maxBytes })),
      })),
    });
    return await broker.connectionPool.send<RawPartition[]>({
      request,
      response: { decode: async (data: Buffer) => decodeFetchResponse(data), parse: async (data) => data },
      requestTimeout: opts.maxWaitMs + 30_000,
    });
  }

  /** `fetch` with every record decoded and the read-committed rule applied (tests and tools; the backup stays at the batch level). */
  async fetchRecords(
    nodeId: number,
    partitions: FetchPartition[],
    opts: { readCommitted: boolean; maxWaitMs: number; maxBytes: number },
  ): Promise<FetchedPartition[]> {
    const raw = await this.fetch(nodeId, partitions, opts);
    const wanted = new Map(partitions.map((p) => [`${p.topic}/${p.partition}`, p.fetchOffset]));
    const out: FetchedPartition[] = [];
    for (const r of raw) {
      const fetchOffset = wanted.get(`${r.topic}/${r.partition}`) ?? 0;
      const data =
        r.errorCode === 0
          ? committedRecords(
              await decodeRecordSet(r.recordSet, `${r.topic}/${r.partition}`),
              r.aborted,
              fetchOffset,
              opts.readCommitted,
            )
          : { records: [], skipped: [], nextOffset: fetchOffset };
      out.push({
        topic: r.topic,
        partition: r.partition,
        errorCode: r.errorCode,
        highWatermark: r.highWatermark,
        lastStableOffset: r.lastStableOffset,
        logStartOffset: r.logStartOffset,
        wireBytes: r.recordSet.length,
        ...data,
      });
    }
    return out;
  }

  /**
   * The broker coordinating a consumer group (FindCoordinator, retried by kafkajs while the
   * coordinator loads or moves), over the same cached broker connections as fetch. For
   * engine/kafka/groups.ts, which sends each group's requests there.
   */
  async groupCoordinator(groupId: string): Promise<InternalBroker> {
    await this.leaders([]);
    const { coordinator } = await this.cluster.findGroupCoordinatorMetadata({ groupId, coordinatorType: 0 });
    let found = this.brokers.get(coordinator.nodeId);
    if (!found) {
      found = this.cluster.findBroker({ nodeId: coordinator.nodeId });
      this.brokers.set(coordinator.nodeId, found);
      found.catch(() => this.brokers.delete(coordinator.nodeId));
    }
    return await found;
  }

  /** A producer id and epoch for idempotent produce (no transactional id). */
  async initProducerId(): Promise<{ producerId: number; producerEpoch: number }> {
    // Retried while the broker's coordinators load (right after a broker start) or move.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.leaders([], attempt > 1);
        const broker = await this.cluster.findBroker({ nodeId: this.anyNode() });
        const result = await broker.initProducerId({ transactionTimeout: 60_000 });
        return { producerId: Number(result.producerId), producerEpoch: result.producerEpoch };
      } catch (err) {
        if (!(err as { retriable?: boolean }).retriable || attempt >= 20) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.min(3000, 100 * 2 ** attempt)));
      }
    }
  }

  /** A connected broker, any one, for requests of our own (Metadata v10 in topic-ids.ts). */
  async anyBroker(): Promise<InternalBroker> {
    await this.leaders([]);
    return await this.cluster.findBroker({ nodeId: this.anyNode() });
  }

  private anyNode(): number {
    const meta = this.cluster as unknown as { brokerPool: { brokers: Record<string, unknown> } };
    const ids = Object.keys(meta.brokerPool.brokers);
    if (!ids.length) throw new Error("no broker known yet");
    return Number(ids[Math.floor(Math.random() * ids.length)]);
  }

  /**
   * One Produce request (v7) with a pre-encoded record batch to one partition's leader. The
   * partition's error code comes back for the caller: idempotent retries resend the same batch.
   */
  async produce(
    nodeId: number,
    topic: string,
    partition: number,
    recordSet: Buffer,
    opts: { acks: -1 | 0 | 1; timeoutMs: number },
  ): Promise<{ errorCode: number; baseOffset: number; logStartOffset: number }> {
    // The cached broker: every request then takes the same path to the socket, so requests made
    // in order go out in order (an idempotent producer's sequences depend on it).
    let found = this.brokers.get(nodeId);
    if (!found) {
      found = this.cluster.findBroker({ nodeId });
      this.brokers.set(nodeId, found);
      found.catch(() => this.brokers.delete(nodeId));
    }
    const broker = await found;
    const body = Buffer.alloc(2 + 2 + 4 + 4 + 2 + Buffer.byteLength(topic) + 4 + 4 + 4);
    let pos = 0;
    pos = body.writeInt16BE(-1, pos); // transactional_id: null
    pos = body.writeInt16BE(opts.acks, pos);
    pos = body.writeInt32BE(opts.timeoutMs, pos);
    pos = body.writeInt32BE(1, pos); // one topic
    pos = body.writeInt16BE(Buffer.byteLength(topic), pos);
    pos += body.write(topic, pos, "utf8");
    pos = body.writeInt32BE(1, pos); // one partition
    pos = body.writeInt32BE(partition, pos);
    body.writeInt32BE(recordSet.length, pos);
    const request = {
      apiKey: 0,
      apiVersion: 7,
      apiName: "Produce",
      expectResponse: () => opts.acks !== 0,
      encode: async () => new Encoder().writeBuffer(body).writeBuffer(recordSet),
    };
    const result = await broker.connectionPool.send<{ errorCode: number; baseOffset: number; logStartOffset: number }>({
      request,
      response: { decode: async (data: Buffer) => decodeProduceResponse(data), parse: async (data) => data },
      requestTimeout: opts.timeoutMs + 30_000,
    });
    return result;
  }

  /**
   * Each partition's end (high watermark) and start offsets. Retried while leadership settles
   * (right after a topic is created, or during a leader election).
   */
  async endOffsets(topic: string): Promise<Array<{ partition: number; high: number; low: number }>> {
    const admin = await this.admin();
    for (let attempt = 1; ; attempt++) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.map((o) => ({ partition: o.partition, high: Number(o.high), low: Number(o.low) }));
      } catch (err) {
        if (!(err as { retriable?: boolean }).retriable || attempt >= 15) throw err;
        // A fresh look at the topic's leaders for the admin client's next try.
        await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  }

  /**
   * Topics deleted for good: no metadata request asks for them again. kafkajs asks for every topic
   * it was ever asked about, and one that no longer exists fails the request for all the others;
   * the admin client's list cannot be edited, so the admin client is replaced.
   */
  forgetTopics(topics: readonly string[]): void {
    for (const t of topics) this.cluster.targetTopics.delete(t);
    const admin = this.adminClient;
    this.adminClient = undefined;
    void admin?.disconnect().catch(() => {});
  }

  async close(): Promise<void> {
    await this.adminClient?.disconnect().catch(() => {});
    this.adminClient = undefined;
    await this.connecting?.catch(() => {});
    this.connecting = undefined;
    await Promise.allSettled(this.brokers.values());
    this.brokers.clear();
    await this.cluster.disconnect().catch(() => {});
  }
}

/** Produce response v7 for one partition. */
function decodeProduceResponse(data: Buffer): { errorCode: number; baseOffset: number; logStartOffset: number } {
  let pos = 4; // one topic
  const nameLength = data.readInt16BE(pos);
  pos += 2 + nameLength + 4 + 4; // name, partition count, partition index
  const errorCode = data.readInt16BE(pos);
  const baseOffset = Number(data.readBigInt64BE(pos + 2));
  const logStartOffset = Number(data.readBigInt64BE(pos + 18));
  return { errorCode, baseOffset, logStartOffset };
}

/** Fetch response v11, keeping each partition's record set as raw bytes. */
export function decodeFetchResponse(data: Buffer): RawPartition[] {
  let pos = 0;
  const i16 = () => {
    const v = data.readInt16BE(pos);
    pos += 2;
    return v;
  };
  const i32 = () => {
    const v = data.readInt32BE(pos);
    pos += 4;
    return v;
  };
  const i64 = () => {
    const v = Number(data.readBigInt64BE(pos));
    pos += 8;
    return v;
  };
  i32(); // throttle_time_ms
  const errorCode = i16();
  i32(); // session_id
  if (errorCode !== 0) throw new Error(`Fetch failed with error code ${errorCode}`);
  const out: RawPartition[] = [];
  const topicCount = i32();
  for (let t = 0; t < topicCount; t++) {
    const nameLength = i16();
    const topic = data.toString("utf8", pos, pos + nameLength);
    pos += nameLength;
    const partitionCount = i32();
    for (let p = 0; p < partitionCount; p++) {
      const partition = i32();
      const partitionError = i16();
      const highWatermark = i64();
      const lastStableOffset = i64();
      const logStartOffset = i64();
      const abortedCount = i32();
      const aborted: AbortedTransaction[] = [];
      for (let a = 0; a < abortedCount; a++) aborted.push({ producerId: i64(), firstOffset: i64() });
      i32(); // preferred_read_replica
      const size = i32();
      const recordSet = size > 0 ? data.subarray(pos, pos + size) : Buffer.alloc(0);
      pos += Math.max(size, 0);
      out.push({
        topic,
        partition,
        errorCode: partitionError,
        highWatermark,
        lastStableOffset,
        logStartOffset,
        aborted,
        recordSet,
      });
    }
  }
  return out;
}
