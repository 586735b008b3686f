// Consumer-group offsets on the wire: read, describe and commit, each request sent to the group's
// own coordinator (found per group, re-found when it moves), and the log bounds and timestamp
// lookups per partition, sent to each partition's leader. The offsets operations
// (engine/offsets/) and the restore use these; nothing outside engine/kafka/ touches kafkajs.
import type { KafkaClient } from "./client.ts";

/** A group's committed offset on one partition (the next record it will read). */
export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

export interface GroupDescription {
  groupId: string;
  /** Empty, Stable, PreparingRebalance, CompletingRebalance, Dead (classic protocol states). */
  state: string;
  members: number;
  protocolType: string;
}

/** Where a partition's log starts and ends now. */
export interface PartitionBounds {
  low: number;
  high: number;
}

/** Kafka refuses to change the offsets of a group with live members. */
export class GroupHasMembersError extends Error {
  readonly reason = "ActiveMembers";
  override name = "GroupHasMembersError";
  readonly groupId: string;
  constructor(groupId: string, detail: string) {
    super(`consumer group ${groupId} has active members (${detail}): stop its consumers first`);
    this.groupId = groupId;
  }
}

/** A broker error on a lookup: the operation fails rather than guessing an offset. */
export class OffsetLookupError extends Error {
  readonly reason = "OffsetLookupFailed";
  override name = "OffsetLookupError";
}

const coordinatorMoved = new Set(["NOT_COORDINATOR_FOR_GROUP", "GROUP_COORDINATOR_NOT_AVAILABLE", "GROUP_LOAD_IN_PROGRESS"]);
/** What the coordinator answers an admin commit (generation -1) for a group that has members. */
const liveMembers = new Set(["UNKNOWN_MEMBER_ID", "REBALANCE_IN_PROGRESS", "ILLEGAL_GENERATION", "FENCED_INSTANCE_ID"]);

/** Runs `fn` against the group's coordinator; a coordinator that moved or is loading is found again. */
async function atCoordinator<T>(
  kafka: KafkaClient,
  groupId: string,
  fn: (broker: Awaited<ReturnType<KafkaClient["groupCoordinator"]>>) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const broker = await kafka.groupCoordinator(groupId);
    try {
      return await fn(broker);
    } catch (err) {
      const type = (err as { type?: string }).type ?? "";
      if (!coordinatorMoved.has(type) || attempt >= 6) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/**
 * The group's committed offsets: on the given topics, or (empty list) on every topic it has
 * committed. Partitions without a commit are left out.
 */
export async function fetchGroupOffsets(
  kafka: KafkaClient,
  groupId: string,
  topics: readonly string[] = [],
): Promise<TopicPartitionOffset[]> {
  const request: Array<{ topic: string; partitions: Array<{ partition: number }> }> = [];
  if (topics.length) {
    let leaders: Map<string, Map<number, number>>;
    try {
      leaders = await kafka.leaders([...topics]);
    } catch (err) {
      throw new OffsetLookupError(`partitions of ${topics.join(", ")} (group ${groupId}): ${(err as Error).message}`);
    }
    for (const topic of topics) {
      const partitions = [...(leaders.get(topic)?.keys() ?? [])].map((partition) => ({ partition }));
      if (partitions.length) request.push({ topic, partitions });
    }
    if (!request.length) return [];
  }
  const { responses } = await atCoordinator(kafka, groupId, (b) => b.offsetFetch({ groupId, topics: request }));
  const out: TopicPartitionOffset[] = [];
  for (const t of responses) {
    for (const p of t.partitions) {
      const offset = Number(p.offset);
      if (offset >= 0) out.push({ topic: t.topic, partition: p.partition, offset });
    }
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

export async function describeGroup(kafka: KafkaClient, groupId: string): Promise<GroupDescription> {
  const { groups } = await atCoordinator(kafka, groupId, (b) => b.describeGroups({ groupIds: [groupId] }));
  const g = groups.find((x) => x.groupId === groupId);
  return { groupId, state: g?.state ?? "Dead", members: g?.members.length ?? 0, protocolType: g?.protocolType ?? "" };
}

/**
 * Commits offsets for the group as an admin does (generation -1, no member id), through its
 * coordinator. Kafka accepts that only while the group has no members; otherwise this throws
 * GroupHasMembersError, also when a consumer joined since the caller last looked.
 */
export async function commitGroupOffsets(
  kafka: KafkaClient,
  groupId: string,
  offsets: readonly TopicPartitionOffset[],
): Promise<void> {
  if (!offsets.length) return;
  const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const o of offsets) {
    if (!Number.isSafeInteger(o.offset) || o.offset < 0)
      throw new Error(`invalid offset ${o.offset} for ${groupId} ${o.topic}/${o.partition}`);
    byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partition: o.partition, offset: String(o.offset) }]);
  }
  const topics = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
  try {
    await atCoordinator(kafka, groupId, (b) =>
      b.offsetCommit({ groupId, groupGenerationId: -1, memberId: "", retentionTime: -1, topics }),
    );
  } catch (err) {
    const type = (err as { type?: string }).type ?? "";
    if (liveMembers.has(type)) throw new GroupHasMembersError(groupId, `the coordinator answered ${type}`);
    throw err;
  }
}

export async function listGroupIds(kafka: KafkaClient): Promise<string[]> {
  const admin = await kafka.admin();
  return (await admin.listGroups()).groups.map((g) => g.groupId).sort();
}

/** Log start and end of every partition of the topic (from each partition's leader). */
export async function partitionBounds(kafka: KafkaClient, topic: string): Promise<Map<number, PartitionBounds>> {
  const admin = await kafka.admin();
  let offsets: Awaited<ReturnType<typeof admin.fetchTopicOffsets>>;
  try {
    offsets = await admin.fetchTopicOffsets(topic);
  } catch (err) {
    throw new OffsetLookupError(`log bounds of topic ${topic}: ${(err as Error).message}`);
  }
  return new Map(offsets.map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
}

/**
 * Per partition, the offset of the first record with a timestamp at or after `timestamp`, or the
 * log end when there is none. A broker error on any partition throws: the caller never keeps an
 * offset it could not look up (the existing operator's bug).
 */
export async function offsetsForTimestamp(kafka: KafkaClient, topic: string, timestamp: number): Promise<Map<number, number>> {
  const admin = await kafka.admin();
  let offsets: Awaited<ReturnType<typeof admin.fetchTopicOffsetsByTimestamp>>;
  try {
    offsets = await admin.fetchTopicOffsetsByTimestamp(topic, timestamp);
  } catch (err) {
    throw new OffsetLookupError(`offsets of topic ${topic} at timestamp ${timestamp}: ${(err as Error).message}`);
  }
  const out = new Map<number, number>();
  for (const p of offsets) {
    const offset = Number(p.offset);
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new OffsetLookupError(
        `offsets of topic ${topic}/${p.partition} at timestamp ${timestamp}: broker returned ${p.offset}`,
      );
    out.set(p.partition, offset);
  }
  return out;
}
