// The backup sets under a prefix with what their manifests say (owner, run state, chain), and
// which one a reference means when it names a KafkaBackup or a storage location but no set.
import type { Manifest, SetOwner } from "../format/manifest.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { eachAtMost, listBackupSets, readConcurrency, readSetManifest, summarize } from "./catalog.ts";
import { isUsable, ownsSet, setState } from "./chain.ts";

export interface SetInfo {
  backupId: string;
  /** The set's own manifest (not a chain view). */
  manifest: Manifest;
  usable: boolean;
  createdAt: number;
  storedBytes: number;
}

/** Every set under the prefix whose manifest reads; an unreadable one is passed to `onUnreadable`. */
export async function readSets(store: StorageBackend, onUnreadable?: (backupId: string, err: Error) => void): Promise<SetInfo[]> {
  const ids = await listBackupSets(store);
  const read = await eachAtMost(readConcurrency, ids, (backupId) => readSetManifest(store, backupId).catch((err: Error) => err));
  const sets: SetInfo[] = [];
  ids.forEach((backupId, i) => {
    const manifest = read[i];
    if (manifest instanceof Error || manifest === undefined) {
      if (manifest) onUnreadable?.(backupId, manifest);
      return;
    }
    const s = summarize(manifest);
    sets.push({ backupId, manifest, usable: isUsable(manifest), createdAt: s.createdAt, storedBytes: s.storedBytes });
  });
  return sets;
}

const newestFirst = (a: SetInfo, b: SetInfo) => b.createdAt - a.createdAt || (a.backupId < b.backupId ? 1 : -1);

/** The sets of this KafkaBackup, by their manifests' owner; `legacyIds` admits sets written before owners by id. */
export function setsOf(sets: readonly SetInfo[], owner: SetOwner, legacyId?: (backupId: string) => boolean): SetInfo[] {
  return sets.filter((s) => ownsSet(owner, s.manifest) || (!s.manifest.owner && legacyId?.(s.backupId)));
}

export interface SetChoice {
  backupId?: string;
  /** Set when the named set is not complete: the reader goes on, with a condition that says so. */
  warning?: string;
}

/**
 * The set a reference means: the one it names (with a warning when that set's run did not
 * complete), else the newest usable set among `candidates` — or, for a point in time, the oldest
 * usable set made at or after it. Failed, cancelled and running sets are
 * never chosen unnamed. Pure.
 */
export function chooseSet(
  given: string | undefined,
  candidates: readonly SetInfo[],
  /** A point-in-time restore's window end: the first usable set made at or after it serves (its chain holds everything before). */
  pointInTime?: number,
): SetChoice {
  if (given) {
    const named = candidates.find((s) => s.backupId === given);
    if (named && !named.usable) {
      return {
        backupId: given,
        warning: `backup set ${given} is ${setState(named.manifest)}, not complete: it may hold only part of the data`,
      };
    }
    return { backupId: given };
  }
  const usable = candidates.filter((s) => s.usable).sort(newestFirst);
  const after = pointInTime === undefined ? [] : usable.filter((s) => s.createdAt >= pointInTime);
  const chosen = after.at(-1) ?? usable[0];
  return chosen ? { backupId: chosen.backupId } : {};
}
