// The few kafkajs internals the fetch path uses: its cluster (metadata, leaders, connected
// brokers with TLS and SASL done) and the Fetch v11 request encoder. kafkajs has had no release
// since 2.2.4, so these are stable; engine/kafka/ is the only place that touches them.
declare module "kafkajs/src/cluster/index.js" {
  interface PartitionMetadata {
    partitionId: number;
    leader: number;
    replicas: number[];
    isr: number[];
  }
  interface InternalBroker {
    nodeId: number;
    initProducerId(args: {
      transactionalId?: string;
      transactionTimeout: number;
    }): Promise<{ producerId: string; producerEpoch: number; errorCode: number }>;
    offsetCommit(args: {
      groupId: string;
      groupGenerationId: number;
      memberId: string;
      topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>;
    }): Promise<unknown>;
    connectionPool: {
      /** Index 1 is the connection kafkajs reserves for Fetch requests. */
      getConnection(index: number): Promise<unknown>;
      send<T>(req: {
        request: unknown;
        response: { decode(raw: Buffer): Promise<T>; parse(data: T): Promise<T> };
        requestTimeout?: number;
      }): Promise<T>;
    };
  }
  export default class Cluster {
    constructor(options: Record<string, unknown>);
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    isConnected(): boolean;
    refreshMetadata(): Promise<void>;
    addMultipleTargetTopics(topics: string[]): Promise<void>;
    /** The topics every metadata refresh asks for; one that does not exist fails the whole refresh. */
    targetTopics: Set<string>;
    findTopicPartitionMetadata(topic: string): PartitionMetadata[];
    findBroker(args: { nodeId: number | string }): Promise<InternalBroker>;
    findGroupCoordinator(args: { groupId: string }): Promise<InternalBroker>;
  }
}

declare module "kafkajs/src/network/socketFactory.js" {
  const socketFactory: () => unknown;
  export default socketFactory;
}

declare module "kafkajs/src/protocol/requests/fetch/v11/request.js" {
  const fetchRequest: (args: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }) => unknown;
  export default fetchRequest;
}

declare module "kafkajs/src/producer/partitioners/default/murmur2.js" {
  /** Kafka's murmur2 of the key bytes, as a signed 32-bit integer. */
  const murmur2: (key: Buffer) => number;
  export default murmur2;
}

declare module "kafkajs/src/protocol/encoder.js" {
  export default class Encoder {
    writeBuffer(value: Buffer): Encoder;
  }
}
