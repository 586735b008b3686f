// Which consumer groups a restore carries over, and from where: the committed offsets snapshotted
// with the backup (`consumer-groups-snapshot.json`, ours and the existing engine's alike). With
// autoConsumerGroups every snapshotted group on a restored topic comes along; named groups come
// from the same snapshot, and a named group it does not hold is reported, never guessed.
import { groupSnapshotKey } from "../backup/layout.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { ObjectNotFoundError } from "../storage/errors.ts";
import type { GroupOffsetTranslation } from "./offset-mapping.ts";
import type { RestorePlan } from "./plan.ts";

export interface GroupSnapshot {
  snapshot_time?: number;
  groups: Array<{ group_id: string; offsets: Record<string, Record<string, number>> }>;
}

export interface RequestedGroups {
  /** Every group in the backup's snapshot (autoConsumerGroups). */
  auto?: boolean;
  /** These groups (offsetReset.consumerGroups). */
  groups?: string[];
  /** Commit the translated offsets; false = report only (offsetReset strategy manual). */
  commit: boolean;
}

export interface GroupToTranslate {
  groupId: string;
  source: GroupOffsetTranslation[];
  error?: string;
}

export async function loadGroupSnapshot(store: StorageBackend, backupId: string): Promise<GroupSnapshot | undefined> {
  try {
    const snapshot = JSON.parse((await store.getBuffer(groupSnapshotKey(backupId))).body.toString("utf8")) as GroupSnapshot;
    return Array.isArray(snapshot.groups) ? snapshot : undefined;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

/** The groups to translate, each with its source commits on the restored partitions. */
export function requestGroups(
  snapshot: GroupSnapshot | undefined,
  requested: RequestedGroups,
  plan: Pick<RestorePlan, "partitions">,
): GroupToTranslate[] {
  const restored = new Set(plan.partitions.map((p) => `${p.sourceTopic}/${p.sourcePartition}`));
  const byId = new Map((snapshot?.groups ?? []).map((g) => [g.group_id, g]));
  const ids = new Set<string>(requested.groups ?? []);
  if (requested.auto) for (const g of snapshot?.groups ?? []) ids.add(g.group_id);
  const out: GroupToTranslate[] = [];
  for (const groupId of [...ids].sort()) {
    const g = byId.get(groupId);
    if (!g) {
      out.push({
        groupId,
        source: [],
        error: snapshot
          ? "not in the backup's consumer group snapshot (it had no committed offsets on the backed-up topics)"
          : "the backup has no consumer group snapshot (set consumerGroupSnapshot on the KafkaBackup)",
      });
      continue;
    }
    const source: GroupOffsetTranslation[] = [];
    for (const [topic, partitions] of Object.entries(g.offsets)) {
      for (const [partition, offset] of Object.entries(partitions)) {
        if (offset >= 0 && restored.has(`${topic}/${partition}`)) {
          source.push({ sourceTopic: topic, sourcePartition: Number(partition), sourceOffset: offset });
        }
      }
    }
    // A group only on topics this restore leaves out is not this restore's business.
    if (source.length || !requested.auto) {
      out.push(source.length ? { groupId, source } : { groupId, source, error: "no committed offsets on the restored topics" });
    }
  }
  return out;
}

/**
 * The groups a restore will commit offsets for (those it can translate), by id: what a snapshot
 * taken before the restore (rollback.snapshotBeforeRestore) has to hold.
 */
export async function carriedGroupIds(
  store: StorageBackend,
  backupId: string,
  requested: RequestedGroups | undefined,
  plan: Pick<RestorePlan, "partitions">,
): Promise<string[]> {
  if (!requested?.commit) return [];
  return requestGroups(await loadGroupSnapshot(store, backupId), requested, plan)
    .filter((g) => !g.error)
    .map((g) => g.groupId);
}
