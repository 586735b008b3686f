// A restore's dry run checks for real what the restore would need, and writes nothing to Kafka:
// the backup set exists, every planned segment reads back with valid checksums, the target
// cluster answers, the target topics exist or may be created, the same-name rule holds, and the
// consumer groups asked for are in the backup. It counts the records in the window per partition.
import { readManifest, readSegment } from "../backupset/catalog.ts";
import type { KafkaClient } from "../kafka/client.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { loadGroupSnapshot, requestGroups } from "./groups.ts";
import { planRestore, sameNameTargets, selected } from "./plan.ts";
import type { RestoreOptions } from "./restore.ts";

export interface DryRunPartition {
  partition: number;
  /** -1: by key (repartitioning). */
  targetPartition: number;
  records: number;
  firstOffset?: number;
  lastOffset?: number;
  /** The records in the window by the backup set holding them (a chain's sets), oldest set first. */
  sets: Array<{ backupId: string; records: number }>;
}

export interface DryRunTopic {
  sourceTopic: string;
  targetTopic: string;
  exists: boolean;
  records: number;
  partitions: DryRunPartition[];
}

export interface DryRunResult {
  backupId: string;
  topics: DryRunTopic[];
  recordsTotal: number;
  segmentsChecked: number;
  /** Everything that would stop the restore, each naming the object to fix. Empty = it would run. */
  problems: string[];
}

export async function dryRunRestore(
  kafka: KafkaClient,
  store: StorageBackend,
  options: Pick<
    RestoreOptions,
    "backupId" | "selection" | "createTopics" | "purgeTopics" | "encryptionKey" | "consumerGroups" | "signal"
  >,
): Promise<DryRunResult> {
  const manifest = await readManifest(store, options.backupId);
  const plan = planRestore(manifest, options.selection);
  const problems: string[] = [];

  let existing = new Set<string>();
  const partitionCounts = new Map<string, number>();
  try {
    const admin = await kafka.admin();
    existing = new Set(await admin.listTopics());
    const present = plan.targetTopics.filter((t) => existing.has(t.name)).map((t) => t.name);
    if (present.length) {
      const { topics } = await admin.fetchTopicMetadata({ topics: present });
      for (const t of topics) partitionCounts.set(t.name, t.partitions.length);
    }
  } catch (err) {
    problems.push(`target cluster ${kafka.bootstrapServers.join(",")} is not reachable: ${(err as Error).message}`);
  }
  for (const t of plan.targetTopics) {
    const have = partitionCounts.get(t.name);
    if (!existing.has(t.name)) {
      if (!options.createTopics) problems.push(`target topic ${t.name} does not exist and createTopics is false`);
    } else if (have !== undefined && have < t.partitionCount) {
      problems.push(`target topic ${t.name} has ${have} partitions; the restore needs ${t.partitionCount}`);
    }
  }
  const live = sameNameTargets(plan).filter((t) => existing.has(t));
  if (live.length && !options.purgeTopics) {
    problems.push(
      `topics ${live.join(", ")} exist under the name they are restored from; set purgeTopics or map them with topicMapping`,
    );
  }
  if (options.consumerGroups) {
    const groups = requestGroups(await loadGroupSnapshot(store, options.backupId), options.consumerGroups, plan);
    for (const g of groups) if (g.error) problems.push(`consumer group ${g.groupId}: ${g.error}`);
  }

  const topics = new Map<string, DryRunTopic>();
  let segmentsChecked = 0;
  for (const p of plan.partitions) {
    const topic = topics.get(p.sourceTopic) ?? {
      sourceTopic: p.sourceTopic,
      targetTopic: p.targetTopic,
      exists: existing.has(p.targetTopic),
      records: 0,
      partitions: [],
    };
    topics.set(p.sourceTopic, topic);
    const counted: DryRunPartition = {
      partition: p.sourcePartition,
      targetPartition: p.routing.kind === "partition" ? p.routing.partition : -1,
      records: 0,
      sets: [],
    };
    for (const segment of p.segments) {
      if (options.signal?.aborted) throw new Error("dry run cancelled");
      try {
        const records = await readSegment(store, segment, options.encryptionKey ? { encryptionKey: options.encryptionKey } : {});
        // A segment's key names its own set (docs/format.md): `{backupId}/topics/...`.
        const backupId = segment.key.split("/")[0] ?? options.backupId;
        let inSet = counted.sets.find((s) => s.backupId === backupId);
        for (const r of records) {
          if (!selected(r, p, plan.window)) continue;
          if (!inSet) {
            inSet = { backupId, records: 0 };
            counted.sets.push(inSet);
          }
          inSet.records++;
          counted.records++;
          counted.firstOffset ??= r.offset;
          counted.lastOffset = r.offset;
        }
        segmentsChecked++;
      } catch (err) {
        problems.push(`segment ${store.location(segment.key)} is unreadable: ${(err as Error).message}`);
      }
    }
    topic.records += counted.records;
    topic.partitions.push(counted);
  }
  const list = [...topics.values()];
  return {
    backupId: options.backupId,
    topics: list,
    recordsTotal: list.reduce((n, t) => n + t.records, 0),
    segmentsChecked,
    problems,
  };
}
