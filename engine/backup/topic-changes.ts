// Topics that change under a backup. Kafka gives a topic a new ID when it is deleted and created
// again under the same name (engine/kafka/topic-ids.ts reads them); the offsets of the new topic
// start again at 0, so its records can never continue a set, or a chain, that holds the old
// topic's. These pure decisions compare the IDs a set recorded with the ones the cluster has now.

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
