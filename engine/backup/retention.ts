// Retention of a KafkaBackup's backup sets: keep the newest `keepLast`, drop those older than
// `maxAgeDays`, and never the set being written or the newest good one. The plan is a pure
// function; applying it deletes whole sets, on every backend.
import { listBackupSets, readManifest, summarize } from "../backupset/catalog.ts";
import type { StorageBackend } from "../storage/backend.ts";

export interface RetentionPolicy {
  keepLast?: number;
  maxAgeDays?: number;
  dryRun?: boolean;
}

export interface BackupSetInfo {
  backupId: string;
  createdAt: number;
  storedBytes: number;
}

export interface RetentionPlan {
  inspected: number;
  keep: string[];
  delete: BackupSetInfo[];
  reclaimedBytes: number;
}

/** A set belongs to a KafkaBackup named `name` when it is `name` or `name-YYYYMMDD-HHMMSS`. */
export function ownedBy(name: string, backupId: string): boolean {
  return backupId === name || new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-\\d{8}-\\d{6}$`).test(backupId);
}

export function planRetention(
  sets: BackupSetInfo[],
  policy: RetentionPolicy,
  current: string | undefined,
  now: number,
): RetentionPlan {
  const newestFirst = [...sets].sort((a, b) => b.createdAt - a.createdAt);
  const keepLast = Math.max(1, policy.keepLast ?? Number.POSITIVE_INFINITY);
  const maxAgeMs = policy.maxAgeDays === undefined ? Number.POSITIVE_INFINITY : policy.maxAgeDays * 86_400_000;
  const keep: string[] = [];
  const drop: BackupSetInfo[] = [];
  newestFirst.forEach((set, index) => {
    const protectedSet = set.backupId === current || index === 0;
    const tooMany = index >= keepLast;
    const tooOld = now - set.createdAt > maxAgeMs;
    if (!protectedSet && (tooMany || tooOld)) drop.push(set);
    else keep.push(set.backupId);
  });
  return { inspected: sets.length, keep, delete: drop, reclaimedBytes: drop.reduce((n, s) => n + s.storedBytes, 0) };
}

export async function applyRetention(
  store: StorageBackend,
  name: string,
  policy: RetentionPolicy,
  current: string | undefined,
  now = Date.now(),
): Promise<RetentionPlan> {
  const sets: BackupSetInfo[] = [];
  for (const backupId of await listBackupSets(store)) {
    if (!ownedBy(name, backupId)) continue;
    const manifest = await readManifest(store, backupId).catch(() => undefined);
    if (!manifest) continue;
    const s = summarize(manifest);
    sets.push({ backupId, createdAt: s.createdAt, storedBytes: s.storedBytes });
  }
  const plan = planRetention(sets, policy, current, now);
  if (!policy.dryRun) for (const set of plan.delete) await deleteBackupSet(store, set.backupId);
  return plan;
}

export async function deleteBackupSet(store: StorageBackend, backupId: string): Promise<void> {
  const keys: string[] = [];
  for await (const entry of store.list(`${backupId}/`)) {
    if (entry.type === "object") keys.push(entry.key);
  }
  // The manifest last: a set is listed until all of it is gone.
  const manifest = `${backupId}/manifest.json`;
  await store.delete(keys.filter((k) => k !== manifest));
  await store.delete([manifest]);
}
