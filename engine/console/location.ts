// A storage location the console shows, and what it reads there. Locally (`kafka-backup console`)
// it is the one storage block of the config; in a cluster, one per KafkaBackup. The console only
// ever reads: manifests through the catalog, segments through the restore's dry run.

import type { KeyObject } from "node:crypto";
import {
  BackupNotFoundError,
  type BackupSetSummary,
  eachAtMost,
  readConcurrency,
  readSetManifest,
  summarize,
} from "../backupset/catalog.ts";
import { isUsable } from "../backupset/chain.ts";
import type { SetInfo } from "../backupset/sets.ts";
import type { Codec } from "../format/codec.ts";
import type { Manifest } from "../format/manifest.ts";
import type { KafkaClient } from "../kafka/client.ts";
import type { KafkaClusterSpec } from "../kafka/spec.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { type EvidenceReport, evidenceFolderTime, evidenceKey, signatureKey, verifyEvidence } from "../validation/evidence.ts";
import { type AchievedRpo, achievedRpo, coverageTimeline, type PartitionTimeline } from "./coverage.ts";

/** What the KafkaBackup's status says, when the location is one (in a cluster). */
export interface BackupStatusView {
  phase?: string;
  lastBackupTime?: string;
  nextScheduledBackup?: string;
  lastSuccessfulBackupId?: string;
  schedule?: string;
  suspended?: boolean;
}

export interface ConsoleLocation {
  /** Names it in links and headings: a KafkaBackup's namespace/name, or the config's name. */
  name: string;
  store: StorageBackend;
  /** The sets of this location among those under the prefix (a KafkaBackup's own); all when absent. */
  own?: (sets: SetInfo[]) => SetInfo[];
  status?: BackupStatusView;
  /** The restore manifest's backupRef for a set (references only, never a Secret's value). */
  backupRef: (backupId: string) => Record<string, unknown>;
  /** The restore manifest's namespace, when the location has one. */
  namespace?: string;
  /** The restore manifest's kafkaCluster: the spec as given (Secret references only). */
  kafkaCluster: KafkaClusterSpec;
  /** The dry run's target cluster and the key of encrypted sets, opened when the picker first needs them. */
  openDryRun: () => Promise<{ kafka: KafkaClient; encryptionKey?: Buffer }>;
  /** A note for the picker when restoring from here needs more than the manifest (an encrypted set read by storage). */
  encryptedNote?: string;
  /**
   * The public key that verifies a signed evidence report (in a cluster: the public half named by
   * the report's KafkaBackupValidation; locally: `--public-key`). Undefined: no key known, the
   * signature is shown as not verified; a throw says why not.
   */
  publicKeyFor?: (report: EvidenceReport) => Promise<KeyObject | undefined>;
}

/** A location that could not be opened (a KafkaBackup whose Secret is missing): the catalog says why. */
export interface UnavailableLocation {
  name: string;
  error: string;
}

export const isAvailable = (l: ConsoleLocation | UnavailableLocation): l is ConsoleLocation => !("error" in l);

/** The newest validation evidence stored with a set (docs/validation.md). */
export interface ValidationVerdict {
  /** Pass, Warn, Fail; or why the report would not read. */
  result: string;
  name?: string;
  completedAt?: string;
  /**
   * Its detached signature: none stored; verified with the public key; invalid (altered, or
   * another key); or stored but not verified (no public key known, with why).
   */
  signature: "none" | "verified" | "invalid" | "unverified";
  /** What the verification found, or why it could not run. */
  signatureMessage?: string;
}

export interface SetRow extends BackupSetSummary {
  validation?: ValidationVerdict;
  usable: boolean;
  codec: Codec;
  /** The algorithm only: key fingerprints and key names are not shown. */
  encryption?: string;
  finishedAt?: number;
  mode?: string;
}

export interface LocationView {
  location: ConsoleLocation;
  where: string;
  sets: SetRow[];
  infos: SetInfo[];
  manifests: Manifest[];
  /** Manifests that would not read, by set. */
  unreadable: Array<{ backupId: string; message: string }>;
  readAt: number;
}

export function setRow(s: SetInfo, validation?: ValidationVerdict): SetRow {
  const m = s.manifest;
  return {
    ...(validation ? { validation } : {}),
    ...summarize(m),
    usable: s.usable,
    codec: m.compression,
    ...(m.encryption || summarize(m).encrypted ? { encryption: m.encryption?.algorithm ?? "AES-256-GCM" } : {}),
    ...(m.run?.finishedAt !== undefined ? { finishedAt: m.run.finishedAt } : {}),
    ...(m.run?.mode ? { mode: m.run.mode } : {}),
  };
}

/**
 * Manifests of finished sets (complete, failed, cancelled) do not change: a location reads each
 * once, and on later pages lists the folders and reads only new and running sets. A set that
 * retention deleted drops out of the listing.
 */
export type ManifestCache = Map<string, Manifest>;

const isFinal = (m: Manifest) => m.run !== undefined && m.run.state !== "running";

/** The location's sets now; `cache` keeps finished sets' manifests between calls. */
export async function readLocation(
  location: ConsoleLocation,
  cache: ManifestCache = new Map(),
  now = Date.now(),
): Promise<LocationView> {
  const store = location.store;
  const folders: string[] = [];
  for await (const entry of store.list("", { delimiter: "/" })) {
    if (entry.type === "prefix") folders.push(entry.prefix.replace(/\/$/, ""));
  }
  folders.sort();
  const unreadable: LocationView["unreadable"] = [];
  const read = await eachAtMost(readConcurrency, folders, async (backupId): Promise<Manifest | undefined> => {
    const cached = cache.get(backupId);
    if (cached) return cached;
    try {
      const manifest = await readSetManifest(store, backupId);
      if (isFinal(manifest)) cache.set(backupId, manifest);
      return manifest;
    } catch (err) {
      // A folder without a manifest (a run that stored nothing yet) is not a set.
      if (!(err instanceof BackupNotFoundError)) unreadable.push({ backupId, message: (err as Error).message });
      return undefined;
    }
  });
  const present = new Set(folders);
  for (const id of cache.keys()) if (!present.has(id)) cache.delete(id);
  const all: SetInfo[] = [];
  folders.forEach((backupId, i) => {
    const manifest = read[i];
    if (!manifest) return;
    const s = summarize(manifest);
    all.push({ backupId, manifest, usable: isUsable(manifest), createdAt: s.createdAt, storedBytes: s.storedBytes });
  });
  const sets = location.own ? location.own(all) : all;
  const verdicts = await eachAtMost(readConcurrency, sets, (set) => latestVerdict(store, set.backupId, location.publicKeyFor));
  return {
    location,
    where: store.location(),
    sets: sets.map((set, i) => setRow(set, verdicts[i])),
    infos: sets,
    manifests: sets.map((s) => s.manifest),
    unreadable,
    readAt: now,
  };
}

export const timelineOf = (view: LocationView): PartitionTimeline[] => coverageTimeline(view.manifests);
export const rpoOf = (view: LocationView, days = 7): AchievedRpo => achievedRpo(view.manifests, view.readAt, days);

/** Sets grouped by chain, each chain in order (its full set first); a set outside chains is a group of one. Newest group first. */
export function chainGroups(sets: readonly SetRow[]): Array<{ chainId?: string; sets: SetRow[] }> {
  const groups = new Map<string, SetRow[]>();
  for (const s of sets) {
    const id = s.chain?.id ?? `\u0000${s.backupId}`;
    groups.set(id, [...(groups.get(id) ?? []), s]);
  }
  const newest = (g: SetRow[]) => Math.max(...g.map((s) => s.createdAt));
  return [...groups.entries()]
    .map(([id, members]) => ({
      ...(id.startsWith("\u0000") ? {} : { chainId: id }),
      sets: members.sort((a, b) => (a.chain?.sequence ?? 0) - (b.chain?.sequence ?? 0) || a.createdAt - b.createdAt),
    }))
    .sort((a, b) => newest(b.sets) - newest(a.sets));
}

/** The newest evidence report under `{backupId}/validations/`, by its folder's time, its signature checked when a key is known. */
export async function latestVerdict(
  store: StorageBackend,
  backupId: string,
  publicKeyFor?: ConsoleLocation["publicKeyFor"],
): Promise<ValidationVerdict | undefined> {
  const folders: string[] = [];
  try {
    for await (const e of store.list(`${backupId}/validations/`, { delimiter: "/" }))
      if (e.type === "prefix") folders.push(e.prefix.replace(/\/$/, ""));
  } catch (err) {
    return { result: `unreadable: ${(err as Error).message}`, signature: "none" };
  }
  const time = (f: string) => evidenceFolderTime(f.split("/").at(-1) ?? "")?.getTime() ?? 0;
  const newest = folders.sort((a, b) => time(a) - time(b) || (a < b ? -1 : 1)).at(-1);
  if (!newest) return undefined;
  let bytes: Buffer;
  let report: EvidenceReport;
  try {
    bytes = (await store.getBuffer(evidenceKey(newest))).body;
    report = JSON.parse(bytes.toString("utf8")) as EvidenceReport;
  } catch (err) {
    return { result: `unreadable: ${(err as Error).message}`, signature: "none" };
  }
  const verdict = { result: String(report.result), name: report.validation?.name, completedAt: report.completedAt };
  const signatureText = await store.getBuffer(signatureKey(newest)).then(
    (r) => r.body.toString("utf8"),
    () => undefined,
  );
  if (signatureText === undefined) return { ...verdict, signature: "none" };
  let key: KeyObject | undefined;
  try {
    key = await publicKeyFor?.(report);
  } catch (err) {
    return { ...verdict, signature: "unverified", signatureMessage: (err as Error).message };
  }
  if (!key) return { ...verdict, signature: "unverified", signatureMessage: "no public key to verify it with" };
  const checked = verifyEvidence(bytes, signatureText, key);
  return { ...verdict, signature: checked.valid ? "verified" : "invalid", signatureMessage: checked.message };
}
