// Topics that change under a backup. Kafka gives a topic a new ID when it is deleted and created
// again under the same name (engine/kafka/topic-ids.ts reads them); the offsets of the new topic
// start again at 0, so its records can never continue a set, or a chain, that holds the old
// topic's. A topic deleted and not created again ends in a continuous set with what it holds.
// These pure decisions compare the topics a set recorded with the ones the cluster has now.

/** A topic whose ID changed since a set recorded it: deleted and created again under its name. */
export interface RecreatedTopic {
  topic: string;
  /** The ID the set recorded (the topic it holds records of). */
  previousTopicId: string;
  /** The ID the topic has now. */
  topicId: string;
}

/**
 * The topics of `recorded` that exist now under another ID. A topic without a recorded ID (Kafka
 * before 2.8, a KBAK v1 set) or without a current one (deleted, not created again yet) is not
 * counted: nothing says it was recreated.
 */
export function recreatedTopics(
  recorded: readonly { name: string; topicId?: string | undefined }[],
  current: ReadonlyMap<string, string>,
): RecreatedTopic[] {
  const changed: RecreatedTopic[] = [];
  for (const t of recorded) {
    const now = current.get(t.name);
    if (t.topicId && now && now !== t.topicId) changed.push({ topic: t.name, previousTopicId: t.topicId, topicId: now });
  }
  return changed.sort((a, b) => a.topic.localeCompare(b.topic));
}

/** "orders (topic ID a → b), payments (…)": for logs, conditions and Events. */
export const describeRecreated = (topics: readonly RecreatedTopic[]) =>
  topics.map((t) => `${t.topic} (topic ID ${t.previousTopicId} → ${t.topicId})`).join(", ");

/** A snapshot run (one-shot or scheduled) whose topic was recreated under it: it cannot reach the ends it captured. */
export class TopicRecreatedError extends Error {
  readonly reason = "TopicRecreated";
  override name = "TopicRecreatedError";
  readonly topics: RecreatedTopic[];
  constructor(backupId: string, topics: RecreatedTopic[]) {
    super(
      `backup set ${backupId}: ${topics.length === 1 ? "topic" : "topics"} ${describeRecreated(topics)} deleted and created again since the set began; its records cannot continue this set: back it up into a new backup set`,
    );
    this.topics = topics;
  }
}

/** A topic of the set that the cluster no longer has: deleted (and not created again, so far). */
export interface DeletedTopic {
  topic: string;
  /** The ID the set recorded, when it did. */
  topicId?: string;
  /** When the run found it gone (epoch ms). */
  deletedAt: number;
}

/**
 * The topics of `recorded` that the cluster has reported missing (a Metadata answer of
 * UNKNOWN_TOPIC_OR_PARTITION), each since the time in `missingSince`, for at least `graceMs` by
 * `now`: deleted, and not created again within the grace (a topic deleted and created again at
 * once is a recreation, not a deletion). In name order; `deletedAt` is when it was first missed.
 */
export function deletedTopics(
  recorded: readonly { name: string; topicId?: string | undefined; deletedAt?: number | undefined }[],
  missingSince: ReadonlyMap<string, number>,
  now: number,
  graceMs = 0,
): DeletedTopic[] {
  const gone: DeletedTopic[] = [];
  for (const t of recorded) {
    const since = missingSince.get(t.name);
    if (since === undefined || now - since < graceMs) continue;
    gone.push({ topic: t.name, ...(t.topicId ? { topicId: t.topicId } : {}), deletedAt: t.deletedAt ?? since });
  }
  return gone.sort((a, b) => a.topic.localeCompare(b.topic));
}

/** "orders (topic ID a), payments": for logs, conditions and Events. */
export const describeDeleted = (topics: readonly DeletedTopic[]) =>
  topics.map((t) => (t.topicId ? `${t.topic} (topic ID ${t.topicId})` : t.topic)).join(", ");

/** A snapshot run (one-shot or scheduled) whose topic was deleted under it: it cannot reach the ends it captured. */
export class TopicDeletedError extends Error {
  readonly reason = "TopicDeleted";
  override name = "TopicDeletedError";
  readonly topics: DeletedTopic[];
  constructor(backupId: string, topics: DeletedTopic[]) {
    super(
      `backup set ${backupId}: ${topics.length === 1 ? "topic" : "topics"} ${describeDeleted(topics)} deleted while the set was written; it cannot reach the ends it captured at its start: take it out of the selection, or back it up again if it is created again`,
    );
    this.topics = topics;
  }
}
