// Whether the topics a backup came from still exist as they were. The manifest records each
// topic's ID (engine/kafka/topic-ids.ts); restoring into the cluster the backup was taken from
// (same cluster id), a source topic that is gone, or that was deleted and created again under its
// name (a new ID), is reported: its consumers, offsets and anything keyed to that topic now refer
// to another topic than the backup's. Another cluster's topics have other IDs by nature: nothing
// to compare there.
import type { Manifest } from "../format/manifest.ts";
import type { KafkaClient } from "../kafka/client.ts";
import { fetchTopicIds } from "../kafka/topic-ids.ts";
import type { Logger } from "../log.ts";

export interface SourceTopicChange {
  topic: string;
  /** Deleted: no topic of that name now; Recreated: a topic of that name with another ID. */
  change: "Deleted" | "Recreated";
  backupTopicId: string;
  currentTopicId?: string;
}

export const describeSourceTopicChange = (c: SourceTopicChange) =>
  c.change === "Deleted"
    ? `source topic ${c.topic} (ID ${c.backupTopicId} in the backup) no longer exists`
    : `source topic ${c.topic} was deleted and created again since the backup (ID ${c.backupTopicId} in the backup, ${c.currentTopicId} now)`;

/**
 * The source topics of `topics` (names in the backup) that are gone or recreated, when this is the
 * source cluster. Each is logged; a cluster that cannot say (Kafka < 2.8) is logged and skipped.
 */
export async function sourceTopicChanges(
  kafka: KafkaClient,
  manifest: Manifest,
  topics: string[],
  log: Logger,
): Promise<SourceTopicChange[]> {
  const recorded = manifest.topics.filter((t) => t.topicId && topics.includes(t.name));
  if (!recorded.length || !manifest.sourceClusterId) return [];
  let now: Awaited<ReturnType<typeof fetchTopicIds>>;
  try {
    now = await fetchTopicIds(
      kafka,
      recorded.map((t) => t.name),
    );
  } catch (err) {
    log.warn({ err: (err as Error).message }, "could not read topic IDs to compare the source topics with the backup");
    return [];
  }
  if (now.clusterId !== manifest.sourceClusterId) return [];
  const changes: SourceTopicChange[] = [];
  for (const t of recorded) {
    const current = now.ids.get(t.name);
    if (current === t.topicId) continue;
    const change: SourceTopicChange = {
      topic: t.name,
      change: current ? "Recreated" : "Deleted",
      backupTopicId: t.topicId as string,
      ...(current ? { currentTopicId: current } : {}),
    };
    log.warn({ topic: t.name, change: change.change }, describeSourceTopicChange(change));
    changes.push(change);
  }
  return changes;
}
