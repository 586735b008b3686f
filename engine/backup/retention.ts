// Retention of a KafkaBackup's backup sets. It works on whole chains (a full set and the
// incremental sets built on it): a chain goes when none of its sets is among the newest `keepLast`
// restore points, or when even its newest set is older than `maxAgeDays`; never the chain of the
// set being written or of the newest good one. So no kept set ever loses a set it depends on. The
// plan is a pure function; applying it deletes sets newest first, each manifest last, on every
// backend. Only sets whose manifest names this KafkaBackup are looked at (engine/backupset/chain.ts).
import { readSetManifest } from "../backupset/catalog.ts";
import { ownsSet } from "../backupset/chain.ts";
import { readSets, setsOf } from "../backupset/sets.ts";
import type { SetOwner } from "../format/manifest.ts";
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
  /** The chain the set belongs to (its full set's id); a set without one is a chain of its own. */
  chainId?: string;
  /** Position in the chain, for deleting newest first. */
  sequence?: number;
  /** A restore point: a complete set (failed, cancelled and running sets are not; default true). */
  usable?: boolean;
}

export interface RetentionPlan {
  inspected: number;
  keep: string[];
  delete: BackupSetInfo[];
  reclaimedBytes: number;
  /** Chains deleted whole, by chain id. */
  chainsDeleted: string[];
}

/**
 * Legacy sets only (manifests without an owner, written before owners were recorded): a set
 * belongs to a KafkaBackup named `name` when it is `name` or `name-YYYYMMDD-HHMMSS`. Restores by
 * KafkaBackup name still find those; retention and deletion never touch them.
 */
export function ownedBy(name: string, backupId: string): boolean {
  return backupId === name || new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-\\d{8}-\\d{6}$`).test(backupId);
}

export function planRetention(
  sets: BackupSetInfo[],
  policy: RetentionPolicy,
  current: string | undefined,
  now: number,
): RetentionPlan {
  const chainOf = (s: BackupSetInfo) => s.chainId ?? s.backupId;
  const chains = new Map<string, BackupSetInfo[]>();
  for (const s of sets) chains.set(chainOf(s), [...(chains.get(chainOf(s)) ?? []), s]);
  const newestFirst = [...sets].sort((a, b) => b.createdAt - a.createdAt);
  const restorePoints = newestFirst.filter((s) => s.usable !== false);
  const keepLast = Math.max(1, policy.keepLast ?? Number.POSITIVE_INFINITY);
  const maxAgeMs = policy.maxAgeDays === undefined ? Number.POSITIVE_INFINITY : policy.maxAgeDays * 86_400_000;
  // Chains holding one of the newest keepLast restore points, the current set or the newest good one.
  const counted = new Set(restorePoints.slice(0, keepLast).map(chainOf));
  const protectedChains = new Set<string>();
  const newestGood = restorePoints[0] ?? newestFirst[0];
  if (newestGood) protectedChains.add(chainOf(newestGood));
  for (const s of sets) if (s.backupId === current) protectedChains.add(chainOf(s));
  const keep: string[] = [];
  const drop: BackupSetInfo[] = [];
  const chainsDeleted: string[] = [];
  for (const [id, members] of chains) {
    const newest = Math.max(...members.map((s) => s.createdAt));
    const tooMany = policy.keepLast !== undefined && !counted.has(id);
    const tooOld = now - newest > maxAgeMs;
    if (!protectedChains.has(id) && (tooMany || tooOld)) {
      chainsDeleted.push(id);
      // Newest first: a deletion cut short never leaves a set whose base is gone.
      drop.push(...[...members].sort((a, b) => (b.sequence ?? 0) - (a.sequence ?? 0) || b.createdAt - a.createdAt));
    } else keep.push(...members.map((s) => s.backupId));
  }
  const order = new Map(newestFirst.map((s, i) => [s.backupId, i]));
  keep.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  return {
    inspected: sets.length,
    keep,
    delete: drop,
    reclaimedBytes: drop.reduce((n, s) => n + s.storedBytes, 0),
    chainsDeleted,
  };
}

/** The sets under the prefix that belong to `owner`, as retention sees them. */
export async function ownedSets(store: StorageBackend, owner: SetOwner): Promise<BackupSetInfo[]> {
  return setsOf(await readSets(store), owner).map((s) => ({
    backupId: s.backupId,
    createdAt: s.createdAt,
    storedBytes: s.storedBytes,
    usable: s.usable,
    ...(s.manifest.chain ? { chainId: s.manifest.chain.id, sequence: s.manifest.chain.sequence } : {}),
  }));
}

export async function applyRetention(
  store: StorageBackend,
  owner: SetOwner,
  policy: RetentionPolicy,
  current: string | undefined,
  now = Date.now(),
): Promise<RetentionPlan> {
  const plan = planRetention(await ownedSets(store, owner), policy, current, now);
  if (!policy.dryRun) for (const set of plan.delete) await deleteBackupSet(store, set.backupId);
  return plan;
}

/** `deletionPolicy: Delete`: every set whose manifest names this KafkaBackup, newest first. */
export async function deleteOwnedSets(store: StorageBackend, owner: SetOwner): Promise<string[]> {
  const sets = (await ownedSets(store, owner)).sort((a, b) => b.createdAt - a.createdAt);
  for (const s of sets) await deleteBackupSet(store, s.backupId);
  return sets.map((s) => s.backupId);
}

export async function deleteBackupSet(store: StorageBackend, backupId: string): Promise<void> {
  const keys: string[] = [];
  for await (const entry of store.list(`${backupId}/`)) {
    if (entry.type === "object") keys.push(entry.key);
  }
  // The manifest last: a set is listed until all of it is gone.
  const manifest = `${backupId}/manifest.json`;
  await store.delete(keys.filter((k) => k !== manifest));
  if (keys.includes(manifest)) await store.delete([manifest]);
}

/**
 * A set of `owner` whose run failed before it stored any segment (often only its lease is left):
 * nothing to keep, so it is deleted and never listed. A complete set, even an empty one, stays.
 */
export async function discardIfEmpty(store: StorageBackend, backupId: string, owner: SetOwner): Promise<boolean> {
  for await (const entry of store.list(`${backupId}/`)) {
    if (entry.type === "object" && /\/segment-[^/]*$/.test(entry.key)) return false;
  }
  const manifest = await readSetManifest(store, backupId).catch(() => undefined);
  if (manifest?.run?.state === "complete") return false;
  // Never another KafkaBackup's set (a run that found it owned elsewhere failed on it).
  if (manifest?.owner && !ownsSet(owner, manifest)) return false;
  await deleteBackupSet(store, backupId);
  return true;
}
