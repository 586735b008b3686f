// OffsetSnapshot: the committed offsets of some consumer groups at one moment, taken before a
// reset or a restore changes them, so a KafkaOffsetRollback can put them back. Stored as one JSON
// document: in object storage (`offset-snapshots/{snapshotId}.json` under the storage's prefix)
// or, without storage, in a ConfigMap owned by the resource (engine/k8s/offset-snapshots.ts).
import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import type { KafkaClient } from "../kafka/client.ts";
import { fetchGroupOffsets, type TopicPartitionOffset } from "../kafka/groups.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { ObjectNotFoundError } from "../storage/errors.ts";
import { forEachLimit } from "../storage/transfer.ts";

export const offsetSnapshotFormat = "kafka-backup-operator/offset-snapshot";

export interface OffsetSnapshot {
  format: typeof offsetSnapshotFormat;
  version: 1;
  snapshotId: string;
  createdAt: string;
  /** What took it, e.g. KafkaOffsetReset ns/name or KafkaRestore ns/name. */
  takenFor?: string;
  bootstrapServers?: string[];
  groups: Array<{ groupId: string; offsets: TopicPartitionOffset[] }>;
}

export class OffsetSnapshotError extends Error {
  readonly reason: string;
  override name = "OffsetSnapshotError";
  constructor(reason: "SnapshotNotFound" | "InvalidSnapshot" | "SnapshotTooLarge" | "SnapshotFailed", message: string) {
    super(message);
    this.reason = reason;
  }
}

/** A reference (path, claim, resource) that cannot name a file or object. */
export class OffsetReferenceError extends Error {
  readonly reason: string;
  override name = "OffsetReferenceError";
  constructor(message: string, reason: "InvalidReference" | "OffsetMappingNotFound" | "ReferenceNotFound" = "InvalidReference") {
    super(message);
    this.reason = reason;
  }
}

/** `{name}-{YYYYMMDD-HHMMSS}`, like a backup id. */
export function snapshotIdFor(name: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace("T", "-").replace(/\..*$/, "");
  return `${name}-${stamp}`.toLowerCase();
}

export const snapshotKey = (snapshotId: string) => `offset-snapshots/${snapshotId}.json`;

/**
 * Reads the committed offsets (every topic) of the groups, at most `parallelism` groups at once,
 * each through its coordinator. Groups with nothing committed are kept with no offsets, so a
 * rollback knows they were part of it.
 */
export async function takeOffsetSnapshot(
  kafka: KafkaClient,
  groupIds: readonly string[],
  opts: { snapshotId: string; takenFor?: string; parallelism?: number },
): Promise<OffsetSnapshot> {
  const offsets = new Map<string, TopicPartitionOffset[]>();
  try {
    await forEachLimit([...new Set(groupIds)], opts.parallelism ?? 50, async (groupId) => {
      offsets.set(groupId, await fetchGroupOffsets(kafka, groupId));
    });
  } catch (err) {
    throw new OffsetSnapshotError("SnapshotFailed", `reading the offsets to snapshot: ${(err as Error).message}`);
  }
  return {
    format: offsetSnapshotFormat,
    version: 1,
    snapshotId: opts.snapshotId,
    createdAt: new Date().toISOString(),
    ...(opts.takenFor ? { takenFor: opts.takenFor } : {}),
    bootstrapServers: kafka.bootstrapServers,
    groups: [...offsets].map(([groupId, o]) => ({ groupId, offsets: o })).sort((a, b) => a.groupId.localeCompare(b.groupId)),
  };
}

/** Compact JSON (a ConfigMap counts every byte). */
export const encodeSnapshot = (s: OffsetSnapshot) => JSON.stringify(s);

export function parseSnapshot(text: string, where: string): OffsetSnapshot {
  let s: OffsetSnapshot;
  try {
    s = JSON.parse(text) as OffsetSnapshot;
  } catch {
    // Not the parser's message: it quotes the text, and a path in a spec may name any file (a token).
    throw new OffsetSnapshotError("InvalidSnapshot", `${where}: not JSON`);
  }
  if (s?.format !== offsetSnapshotFormat || s.version !== 1 || !Array.isArray(s.groups)) {
    throw new OffsetSnapshotError("InvalidSnapshot", `${where}: not an offset snapshot (format ${offsetSnapshotFormat} v1)`);
  }
  return s;
}

/** Stores the snapshot in object storage; returns its key and its location (for status). */
export async function saveSnapshotToStorage(
  store: StorageBackend,
  snapshot: OffsetSnapshot,
): Promise<{ key: string; location: string }> {
  const key = snapshotKey(snapshot.snapshotId);
  await store.put(key, Buffer.from(encodeSnapshot(snapshot)));
  return { key, location: store.location(key) };
}

/** The key of a location written by saveSnapshotToStorage (or a key given as is). */
export function keyOfLocation(store: StorageBackend, location: string): string {
  // Where key "k" lives ends in "k": what precedes it is the bucket and prefix, with or without a prefix.
  const probe = store.location("k");
  const base = probe.slice(0, -1);
  if (location.startsWith(base) && location.length > base.length) return location.slice(base.length);
  if (!location.includes("://")) return location.replace(/^\/+/, "");
  throw new OffsetSnapshotError("SnapshotNotFound", `${location} is not in ${store.location()}`);
}

export async function loadSnapshotFromStorage(store: StorageBackend, keyOrLocation: string): Promise<OffsetSnapshot> {
  const key = keyOfLocation(store, keyOrLocation);
  let body: Buffer;
  try {
    body = (await store.getBuffer(key)).body;
  } catch (err) {
    if (err instanceof ObjectNotFoundError)
      throw new OffsetSnapshotError("SnapshotNotFound", `offset snapshot ${store.location(key)} not found`);
    throw err;
  }
  return parseSnapshot(body.toString("utf8"), store.location(key));
}

export async function loadSnapshotFromFile(path: string): Promise<OffsetSnapshot> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      throw new OffsetSnapshotError("SnapshotNotFound", `offset snapshot file ${path} not found`);
    throw err;
  }
  return parseSnapshot(text, path);
}

/**
 * A file named by `path`, alone (absolute, or relative to the working directory) or relative to
 * the claim `pvcName` mounted at {pvcMountRoot}/{pvcName} (an absolute path is used as is, as the
 * existing operator does). `defaultFile` is used when only the claim is given.
 */
export function claimFilePath(
  ref: { path?: string; pvcName?: string },
  pvcMountRoot: string,
  defaultFile: string,
  field: string,
): string {
  if (ref.pvcName) {
    const path = ref.path ?? defaultFile;
    if (isAbsolute(path)) return path;
    const root = resolve(pvcMountRoot, ref.pvcName);
    const full = resolve(root, path);
    if (!full.startsWith(`${root}/`)) throw new OffsetReferenceError(`${field}.path: ${path} leaves the claim`);
    return full;
  }
  if (!ref.path) throw new OffsetReferenceError(`${field}: path or pvcName is required`);
  return resolve(ref.path);
}
