// The kafkajs internals engine/kafka/groups.ts uses, beside those in kafkajs-internals.d.ts (the
// declarations merge): each group's OffsetFetch, DescribeGroups and OffsetCommit are sent to its
// coordinator broker directly.
declare module "kafkajs/src/cluster/index.js" {
  interface InternalBroker {
    /** Throws the first partition error (KafkaJSProtocolError with its `type`). */
    offsetCommit(args: {
      groupId: string;
      groupGenerationId: number;
      memberId: string;
      retentionTime?: number;
      topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>;
    }): Promise<unknown>;
    /** An empty topic list asks for every topic the group has committed (OffsetFetch v3+). */
    offsetFetch(args: { groupId: string; topics: Array<{ topic: string; partitions: Array<{ partition: number }> }> }): Promise<{
      responses: Array<{ topic: string; partitions: Array<{ partition: number; offset: string; errorCode?: number }> }>;
    }>;
    describeGroups(args: { groupIds: string[] }): Promise<{
      groups: Array<{ groupId: string; errorCode: number; state: string; protocolType: string; members: unknown[] }>;
    }>;
  }
  export default interface Cluster {
    findGroupCoordinatorMetadata(args: { groupId: string; coordinatorType?: number }): Promise<{
      coordinator: { nodeId: number; host: string; port: number };
    }>;
  }
}
