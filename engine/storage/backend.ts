// The StorageBackend interface: what backup, restore, retention and leases need from an object
// store, and nothing more. Keys are '/'-separated relative keys (keys.ts); each backend puts its
// configured prefix in front. Every failure is a typed StorageError (errors.ts).
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import type { RetryEvent, RetryPolicy } from "./retry.ts";

export type BackendKind = "filesystem" | "s3" | "azure" | "gcs";

export interface CallOptions {
  /** Cancels the operation (and its retries) at once. */
  signal?: AbortSignal | undefined;
}

export interface PutOptions extends CallOptions {
  /** Create only: fail with PreconditionFailedError when the key exists. */
  ifNoneMatch?: true;
  /** Replace only if the object still has this etag (from put, stat or getBuffer). */
  ifMatch?: string;
  contentType?: string;
}

export interface PutResult {
  etag: string;
}

/** Bytes `start` to `end`, both inclusive (as HTTP and fs.createReadStream count); no end = to the last byte. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface GetOptions extends CallOptions {
  range?: ByteRange;
}

export interface ObjectInfo {
  /** Relative to the backend's prefix. */
  key: string;
  size: number;
  /** Opaque version tag for ifMatch: S3/Azure ETag, GCS generation, filesystem inode+size+mtime. */
  etag: string;
  lastModified: Date;
}

export interface StoredObject {
  body: Buffer;
  etag: string;
}

export interface ListOptions extends CallOptions {
  /** "/" groups keys below the next '/' into one `prefix` entry, as a directory listing does. */
  delimiter?: "/";
  /** Keys per request to the store (1–1000); the iteration itself is not limited. */
  pageSize?: number;
}

export type ListEntry = ({ type: "object" } & ObjectInfo) | { type: "prefix"; prefix: string };

export interface StorageBackend {
  readonly kind: BackendKind;
  /** Bucket, container, or root directory. */
  readonly bucket: string;
  /** The configured key prefix ('' for none). */
  readonly prefix: string;
  /** Where a key lives, for messages: s3://bucket/prefix/key, gs://…, azure://account/container/…, file:///root/…. */
  location(key?: string): string;

  /**
   * Stores a body. A Buffer or stream up to partSize goes in one request; anything longer goes
   * as parts (S3 multipart, Azure blocks, GCS resumable chunks), at most queueSize at once, so
   * memory stays near partSize × (queueSize + 1) whatever the object's size. A stream is read
   * only as fast as parts are sent.
   */
  put(key: string, body: Buffer | Readable, opts?: PutOptions): Promise<PutResult>;
  /** The object (or a byte range of it) as a stream; a dropped connection resumes where it stopped. */
  get(key: string, opts?: GetOptions): Promise<Readable>;
  /** The whole object (or range) in memory with its etag, for manifests, checkpoints and leases. */
  getBuffer(key: string, opts?: GetOptions): Promise<StoredObject>;
  stat(key: string, opts?: CallOptions): Promise<ObjectInfo>;
  /** Keys starting with `prefix` (not necessarily at a '/'), in key order, paged internally. */
  list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry>;
  /** Deletes keys in batches; keys that do not exist are not an error. */
  delete(keys: readonly string[], opts?: CallOptions): Promise<void>;
}

/** Tuning shared by every backend; none of it is in the CRD. */
export interface BackendOptions {
  retry?: Partial<RetryPolicy>;
  /** Bytes per part, block or chunk of a large put (default 8 MiB; S3 needs ≥ 5 MiB, GCS rounds up to 256 KiB). */
  partSize?: number;
  /** Parts in flight at once (default 4; GCS resumable uploads send one at a time). */
  queueSize?: number;
  /** A download stream that delivers nothing for this long is cut and resumed (default 60 s). */
  idleTimeoutMs?: number;
  /** Parallel requests of a batch delete where the store has no batch call (default 16). */
  deleteConcurrency?: number;
  logger?: Logger;
  /** Called before each retry; metrics and tests count them here. */
  onRetry?: (event: RetryEvent) => void;
}

export const defaultPartSize = 8 * 1024 * 1024;
export const defaultQueueSize = 4;
export const defaultIdleTimeoutMs = 60_000;
export const defaultDeleteConcurrency = 16;
