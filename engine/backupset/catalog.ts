// Reading backup sets, whichever tool wrote them: the list of sets under a prefix, a set's
// manifest, and a segment's records (ours or KBAK v1, told apart by their magic bytes). Backup,
// restore, validation and the CLI all read through here.
import { createHash } from "node:crypto";
import { FormatError } from "../format/bytes.ts";
import { decodeKbakSegment, isKbakSegment } from "../format/kbak.ts";
import {
  type ChainLink,
  type Manifest,
  type ManifestSegment,
  parseManifest,
  type SetOwner,
  type SetRunState,
} from "../format/manifest.ts";
import type { BackupRecord } from "../format/record.ts";
import { type BatchEntry, decodeRecordBlock, openSegment, segmentEntries } from "../format/segment.ts";
import { decodeRecordSet } from "../kafka/record-batch.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { ObjectNotFoundError } from "../storage/errors.ts";
import { mergeChain, setState } from "./chain.ts";

export class BackupNotFoundError extends Error {
  readonly reason = "BackupNotFound";
  override name = "BackupNotFoundError";
}

export interface BackupSetSummary {
  backupId: string;
  writer: Manifest["writer"];
  createdAt: number;
  updatedAt: number;
  topics: number;
  partitions: number;
  segments: number;
  records: number;
  storedBytes: number;
  gaps: number;
  encrypted: boolean;
  /** The run's state (`legacy`: written before run states, or by the Rust engine). */
  state: SetRunState | "legacy";
  owner?: SetOwner;
  chain?: ChainLink;
}

/** Backup ids under the backend's prefix: folders holding a manifest.json (one delimiter listing, not a bucket scan). */
export async function listBackupSets(store: StorageBackend): Promise<string[]> {
  const folders: string[] = [];
  for await (const entry of store.list("", { delimiter: "/" })) {
    if (entry.type === "prefix") folders.push(entry.prefix.replace(/\/$/, ""));
  }
  const hasManifest = await eachAtMost(readConcurrency, folders, async (id) => {
    try {
      await store.stat(`${id}/manifest.json`);
      return true;
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
      return false;
    }
  });
  return folders.filter((_, i) => hasManifest[i]).sort();
}

/** Requests at once when reading many sets' manifests (a catalog of hundreds of sets reads in a fraction of the time). */
export const readConcurrency = 8;

/** `fn` over `items`, at most `limit` at a time; the results in the items' order. */
export async function eachAtMost<T, R>(limit: number, items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i] as T);
      }
    }),
  );
  return results;
}

/**
 * The manifest a restore, a validation or a PITR reads for `backupId`: the set itself, or, for a
 * set in a chain, the chain up to it merged into one view (`mergeChain`). `readSetManifest` reads
 * the set's own manifest only.
 */
export async function readManifest(store: StorageBackend, backupId: string): Promise<Manifest> {
  const sets = [await readSetManifest(store, backupId)];
  const seen = new Set([backupId]);
  for (let base = sets[0]?.chain?.base; base; base = sets[0]?.chain?.base) {
    if (seen.has(base)) throw new FormatError(`backup ${backupId}: its chain loops at ${base}`);
    seen.add(base);
    try {
      sets.unshift(await readSetManifest(store, base));
    } catch (err) {
      if (err instanceof BackupNotFoundError)
        throw new BackupNotFoundError(`backup ${backupId} continues ${base}, which is gone: ${err.message}`);
      throw err;
    }
  }
  return mergeChain(sets);
}

export async function readSetManifest(store: StorageBackend, backupId: string): Promise<Manifest> {
  const key = `${backupId}/manifest.json`;
  try {
    return parseManifest((await store.getBuffer(key)).body.toString("utf8"), store.location(key));
  } catch (err) {
    if (err instanceof ObjectNotFoundError)
      throw new BackupNotFoundError(`backup ${backupId} not found: no ${store.location(key)}`);
    throw err;
  }
}

export function summarize(manifest: Manifest): BackupSetSummary {
  const partitions = manifest.topics.flatMap((t) => t.partitions);
  const segments = partitions.flatMap((p) => p.segments);
  return {
    backupId: manifest.backupId,
    writer: manifest.writer,
    createdAt: manifest.createdAt,
    updatedAt: manifest.updatedAt,
    topics: manifest.topics.length,
    partitions: partitions.length,
    segments: segments.length,
    records: segments.reduce((n, s) => n + s.recordCount, 0),
    storedBytes: segments.reduce((n, s) => n + s.storedBytes, 0),
    gaps: partitions.reduce((n, p) => n + p.gaps.length, 0),
    encrypted: Boolean(manifest.encryption) || segments.some((s) => s.encrypted),
    state: setState(manifest),
    ...(manifest.owner ? { owner: manifest.owner } : {}),
    ...(manifest.chain ? { chain: manifest.chain } : {}),
  };
}

/**
 * A segment's records, after checking the object against the manifest: its size, its SHA-256
 * where recorded, its own CRC, and (for ours) every record's framing.
 */
export async function readSegment(
  store: StorageBackend,
  segment: ManifestSegment,
  opts: { encryptionKey?: Buffer; signal?: AbortSignal } = {},
): Promise<BackupRecord[]> {
  const { body } = await store.getBuffer(segment.key, opts.signal ? { signal: opts.signal } : {});
  return await decodeSegmentObject(body, segment, store.location(segment.key), opts);
}

/** The checks and decoding of `readSegment` on an object already read (validation hashes the bytes too). */
export async function decodeSegmentObject(
  body: Buffer,
  segment: ManifestSegment,
  where: string,
  opts: { encryptionKey?: Buffer } = {},
): Promise<BackupRecord[]> {
  checkAgainstManifest(body, segment, where);
  const content = await segmentContent(body, where, opts);
  if (content.kind === "records") return content.records;
  const records: BackupRecord[] = [];
  for (const entry of content.entries) {
    for (const batch of await decodeRecordSet(entry.batch, where)) for (const r of batch.records) records.push(r);
  }
  if (records.length !== content.recordCount) {
    throw new FormatError(`${where}: ${records.length} records in its batches, the header says ${content.recordCount}`);
  }
  return records;
}

/** A segment's content: records (KBOS v1, KBAK v1) or the Kafka record batches it stores (KBOS v2). */
export type SegmentContent =
  | { kind: "records"; records: BackupRecord[] }
  | { kind: "batches"; entries: BatchEntry[]; recordCount: number };

/** A segment's content after the object's own checks (not the manifest's: see `decodeSegmentObject`). */
export async function segmentContent(
  body: Buffer,
  where: string,
  opts: { encryptionKey?: Buffer } = {},
): Promise<SegmentContent> {
  if (isKbakSegment(body)) return { kind: "records", records: decodeKbakSegment(body, where).records };
  const { info, block } = await openSegment(body, {
    name: where,
    ...(opts.encryptionKey ? { encryptionKey: opts.encryptionKey } : {}),
  });
  if (info.version === 1) return { kind: "records", records: decodeRecordBlock(block, info, where) };
  return { kind: "batches", entries: segmentEntries(block, info, where), recordCount: info.recordCount };
}

/** `readSegment` at the batch level: KBOS v2 segments give their batches, older formats their records. */
export async function readSegmentContent(
  store: StorageBackend,
  segment: ManifestSegment,
  opts: { encryptionKey?: Buffer; signal?: AbortSignal } = {},
): Promise<SegmentContent> {
  const { body } = await store.getBuffer(segment.key, opts.signal ? { signal: opts.signal } : {});
  const where = store.location(segment.key);
  checkAgainstManifest(body, segment, where);
  return await segmentContent(body, where, opts);
}

function checkAgainstManifest(body: Buffer, segment: ManifestSegment, where: string): void {
  if (body.length !== segment.storedBytes) {
    throw new FormatError(`${where}: ${body.length} bytes, the manifest says ${segment.storedBytes}`);
  }
  if (segment.sha256) {
    const actual = createHash("sha256").update(body).digest("hex");
    if (actual !== segment.sha256)
      throw new FormatError(`${where}: SHA-256 ${actual} does not match the manifest's ${segment.sha256}`);
  }
}
