// Amazon S3 and S3-compatible stores (MinIO, Ceph RGW, ...). Large bodies go as multipart
// uploads whose parts are sent and retried one by one (not through lib-storage's Upload, whose
// part retries would be the SDK's own, outside our policy). Conditional writes use If-None-Match
// and If-Match on PutObject and CompleteMultipartUpload.
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type {
  BackendOptions,
  CallOptions,
  GetOptions,
  ListEntry,
  ListOptions,
  ObjectInfo,
  PutOptions,
  PutResult,
  StorageBackend,
  StoredObject,
} from "./backend.ts";
import { describeCause, isNetworkError, isTransientStatus, Redactor } from "./errors.ts";
import { compareKeys } from "./keys.ts";
import { type FailureKind, Operations } from "./operations.ts";
import type { RetryPolicy } from "./retry.ts";
import type { S3Settings } from "./settings.ts";
import { forEachLimit, openResumable, planUpload, readAll, settleRetriedWrite, uploadParts } from "./transfer.ts";

/** The S3Client configuration for settings under a retry policy. */
export function s3ClientConfig(settings: S3Settings, policy: RetryPolicy): S3ClientConfig {
  return {
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.pathStyle,
    // Undefined credentials = the default chain: env, web identity (IRSA), ECS, instance role.
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    // Retries are ours (retry.ts); the SDK makes one attempt per call.
    maxAttempts: 1,
    // Checksums only where the API requires them: MinIO, Ceph and older S3-compatibles reject
    // or mishandle the default CRC32 trailers of SDK ≥ 3.729.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    followRegionRedirects: true,
    requestHandler: { connectionTimeout: Math.min(policy.attemptTimeoutMs, 10_000) },
  };
}

const accessCodes = new Set([
  "AccessDenied",
  "AllAccessDisabled",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "CredentialsProviderError",
  "InvalidIdentityToken",
]);
const notFoundCodes = new Set(["NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchUpload"]);
const transientCodes = new Set([
  "SlowDown",
  "RequestTimeout",
  "InternalError",
  "ServiceUnavailable",
  "Throttling",
  "ThrottlingException",
  "RequestTimeoutException",
  "ConditionalRequestConflict",
  "TimeoutError",
]);

interface S3ErrorFields {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

export function classifyS3Error(error: unknown): FailureKind {
  const fields = (error ?? {}) as S3ErrorFields;
  const code = fields.Code ?? fields.name ?? "";
  const status = fields.$metadata?.httpStatusCode;
  if (notFoundCodes.has(code) || status === 404) return "notFound";
  // 409 ConditionalRequestConflict: a concurrent conditional write was in progress; AWS asks to retry.
  if (transientCodes.has(code) || fields.$retryable) return "transient";
  if (code === "PreconditionFailed" || status === 412) return "precondition";
  if (accessCodes.has(code) || status === 401 || status === 403) return "accessDenied";
  if (isTransientStatus(status) || isNetworkError(error)) return "transient";
  return "failed";
}

const writeIdKey = "kbo-write-id";
const maxParts = 10_000;
const minPartSize = 5 * 1024 * 1024;

export class S3Backend implements StorageBackend {
  readonly kind = "s3" as const;
  readonly bucket: string;
  readonly prefix: string;
  readonly #client: S3Client;
  readonly #ops: Operations;

  constructor(settings: S3Settings, options: BackendOptions = {}) {
    this.bucket = settings.bucket;
    this.prefix = settings.prefix;
    const redactor = new Redactor([settings.credentials?.secretAccessKey, settings.credentials?.sessionToken]);
    this.#ops = new Operations({
      kind: this.kind,
      bucket: this.bucket,
      prefix: this.prefix,
      location: (objectKey) => `s3://${this.bucket}/${objectKey}`,
      redactor,
      classify: classifyS3Error,
      // HEAD responses have no body, so the SDK's message is just "UnknownError".
      describe: (error) => {
        const fields = error as S3ErrorFields & { message?: string };
        if (fields.message === "UnknownError")
          return `${fields.name ?? "error"}, HTTP ${fields.$metadata?.httpStatusCode ?? "?"}`;
        return describeCause(error, redactor);
      },
      options,
    });
    if (this.#ops.partSize < minPartSize) throw new RangeError(`S3 partSize must be at least ${minPartSize} bytes`);
    this.#client = new S3Client(s3ClientConfig(settings, this.#ops.policy));
  }

  location(key = ""): string {
    return this.#ops.location(key === "" ? this.prefix : this.#ops.objectKey(key));
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<PutResult> {
    const Key = this.#ops.objectKey(key);
    const writeId = randomUUID();
    const conditions = { IfNoneMatch: opts.ifNoneMatch ? "*" : undefined, IfMatch: opts.ifMatch };
    const precondition = opts.ifNoneMatch ? "it already exists" : `it changed since etag ${opts.ifMatch} was read`;
    const common = { Bucket: this.bucket, Key, ContentType: opts.contentType, Metadata: { [writeIdKey]: writeId } };
    const plan = await planUpload(body, this.#ops.partSize, this.#ops.queueSize);
    if (plan.kind === "single") {
      const part = plan.body;
      return await this.#settle(Key, writeId, opts, () =>
        this.#ops.run(
          "put",
          Key,
          async (abortSignal) => {
            const out = await this.#client.send(
              new PutObjectCommand({ ...common, ...conditions, Body: part, ContentLength: part.length }),
              { abortSignal },
            );
            return { etag: out.ETag ?? "" };
          },
          { signal: opts.signal, precondition, notFoundIsPrecondition: opts.ifMatch !== undefined },
        ),
      );
    }

    const { UploadId } = await this.#ops.run(
      "put (create multipart upload)",
      Key,
      (abortSignal) => this.#client.send(new CreateMultipartUploadCommand(common), { abortSignal }),
      { signal: opts.signal },
    );
    const parts: { PartNumber: number; ETag: string }[] = [];
    try {
      await uploadParts(
        plan.parts,
        this.#ops.queueSize,
        opts.signal,
        async (part, index, signal) => {
          if (index >= maxParts) {
            throw this.#ops.error(
              "failed",
              "put",
              Key,
              `more than ${maxParts} parts of ${this.#ops.partSize} bytes; raise partSize`,
            );
          }
          const PartNumber = index + 1;
          const out = await this.#ops.run(
            `put (part ${PartNumber})`,
            Key,
            (abortSignal) =>
              this.#client.send(
                new UploadPartCommand({ Bucket: this.bucket, Key, UploadId, PartNumber, Body: part, ContentLength: part.length }),
                { abortSignal },
              ),
            { signal },
          );
          parts[index] = { PartNumber, ETag: out.ETag ?? "" };
        },
        plan.release,
      );
      return await this.#settle(Key, writeId, opts, () =>
        this.#ops.run(
          "put (complete multipart upload)",
          Key,
          async (abortSignal) => {
            const out = await this.#client.send(
              new CompleteMultipartUploadCommand({
                Bucket: this.bucket,
                Key,
                UploadId,
                ...conditions,
                MultipartUpload: { Parts: parts },
              }),
              { abortSignal },
            );
            return { etag: out.ETag ?? "" };
          },
          { signal: opts.signal, precondition, notFoundIsPrecondition: opts.ifMatch !== undefined },
        ),
      );
    } catch (error) {
      // Best effort: the parts of a failed upload cost storage until aborted (or a lifecycle rule runs).
      await this.#client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }), {
          abortSignal: AbortSignal.timeout(10_000),
        })
        .catch(() => {});
      throw error;
    }
  }

  /**
   * A conditional write that was retried can fail because its own earlier attempt landed (the
   * answer was lost): S3 then says PreconditionFailed, or NoSuchUpload for a completed multipart
   * upload. The object's write id tells whether it is ours.
   */
  async #settle(Key: string, writeId: string, opts: PutOptions, commit: () => Promise<PutResult>): Promise<PutResult> {
    return await settleRetriedWrite(commit, async () => {
      const head = await this.#head(Key, opts.signal);
      return head?.Metadata?.[writeIdKey] === writeId ? { etag: head.ETag ?? "" } : undefined;
    });
  }

  async get(key: string, opts: GetOptions = {}): Promise<Readable> {
    return (await this.#read(key, opts)).body;
  }

  async getBuffer(key: string, opts: GetOptions = {}): Promise<StoredObject> {
    const { body, etag, length } = await this.#read(key, opts);
    return { body: await readAll(body, length), etag };
  }

  /** A resumable ranged read (transfer.ts) with the version it reads. */
  async #read(key: string, opts: GetOptions): Promise<{ body: Readable; etag: string; length: number }> {
    const Key = this.#ops.objectKey(key);
    return await openResumable({
      range: opts.range,
      idleTimeoutMs: this.#ops.idleTimeoutMs,
      maxResumes: this.#ops.policy.maxAttempts,
      open: (start, end, etag) =>
        this.#ops.run(
          "get",
          Key,
          async (abortSignal) => {
            const ranged = start > 0 || end !== undefined;
            const out = await this.#client.send(
              new GetObjectCommand({
                Bucket: this.bucket,
                Key,
                ...(ranged ? { Range: `bytes=${start}-${end ?? ""}` } : {}),
                ...(etag ? { IfMatch: etag } : {}),
              }),
              { abortSignal },
            );
            return { body: out.Body as Readable, etag: out.ETag ?? "", length: out.ContentLength ?? 0 };
          },
          { signal: opts.signal, precondition: "it changed while being read", notFoundIsPrecondition: etag !== undefined },
        ),
      classify: (error) => this.#ops.typed(error, "get", Key),
      changed: () => this.#ops.error("precondition", "get", Key, undefined, undefined, "it changed while being read"),
    });
  }

  async stat(key: string, opts: CallOptions = {}): Promise<ObjectInfo> {
    const Key = this.#ops.objectKey(key);
    const head = await this.#head(Key, opts.signal);
    return { key, size: head.ContentLength ?? 0, etag: head.ETag ?? "", lastModified: head.LastModified ?? new Date(0) };
  }

  #head(Key: string, signal: AbortSignal | undefined) {
    return this.#ops.run(
      "stat",
      Key,
      (abortSignal) => this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }), { abortSignal }),
      { signal },
    );
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ListEntry> {
    const Prefix = this.#ops.listPrefix(prefix);
    const MaxKeys = Math.min(Math.max(opts.pageSize ?? 1000, 1), 1000);
    let ContinuationToken: string | undefined;
    do {
      const page = await this.#ops.run(
        "list",
        Prefix,
        (abortSignal) =>
          this.#client.send(
            new ListObjectsV2Command({ Bucket: this.bucket, Prefix, Delimiter: opts.delimiter, MaxKeys, ContinuationToken }),
            { abortSignal },
          ),
        { signal: opts.signal },
      );
      const entries: ListEntry[] = [
        ...(page.Contents ?? []).map(
          (o): ListEntry => ({
            type: "object",
            key: this.#ops.relativeKey(o.Key ?? ""),
            size: o.Size ?? 0,
            etag: o.ETag ?? "",
            lastModified: o.LastModified ?? new Date(0),
          }),
        ),
        ...(page.CommonPrefixes ?? []).map((p): ListEntry => ({ type: "prefix", prefix: this.#ops.relativeKey(p.Prefix ?? "") })),
      ];
      yield* entries.sort((a, b) => compareKeys(entryKey(a), entryKey(b)));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async delete(keys: readonly string[], opts: CallOptions = {}): Promise<void> {
    const objectKeys = keys.map((key) => this.#ops.objectKey(key));
    const batches: string[][] = [];
    for (let i = 0; i < objectKeys.length; i += 1000) batches.push(objectKeys.slice(i, i + 1000));
    await forEachLimit(batches, 2, async (batch) => {
      const out = await this.#ops.run(
        "delete",
        batch[0],
        (abortSignal) =>
          this.#client.send(
            new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Quiet: true, Objects: batch.map((Key) => ({ Key })) } }),
            { abortSignal },
          ),
        { signal: opts.signal },
      );
      const failure = out.Errors?.find((e) => e.Code !== "NoSuchKey");
      if (failure) {
        const shaped = Object.assign(new Error(failure.Message ?? failure.Code ?? "delete failed"), {
          Code: failure.Code,
          name: failure.Code,
        });
        throw this.#ops.typed(shaped, "delete", failure.Key);
      }
    });
  }
}

function entryKey(entry: ListEntry): string {
  return entry.type === "object" ? entry.key : entry.prefix;
}
