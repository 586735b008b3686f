// Azure Blob Storage (and Azurite). Large bodies are staged as blocks (bounded, each retried on
// its own) and committed with one Put Block List, which also carries the write's conditions.
// Block ids are unique per write, so two writers of one blob never commit each other's blocks.
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { ClientSecretCredential, DefaultAzureCredential, WorkloadIdentityCredential } from "@azure/identity";
import {
  BlobServiceClient,
  type BlobServiceClient as BlobServiceClientType,
  type BlockBlobClient,
  type ContainerClient,
  type StoragePipelineOptions,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
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
import type { AzureAuth, AzureSettings } from "./settings.ts";
import { forEachLimit, openResumable, planUpload, readAll, settleRetriedWrite, uploadParts } from "./transfer.ts";

/** The secret strings of an auth mode, for the redactor (connection strings: each value inside too). */
function azureSecrets(auth: AzureAuth): string[] {
  switch (auth.mode) {
    case "connectionString":
      return [auth.connectionString, ...auth.connectionString.split(";").map((part) => part.slice(part.indexOf("=") + 1))];
    case "accountKey":
      return [auth.accountKey];
    case "sas":
      return [auth.sasToken, new URLSearchParams(auth.sasToken).get("sig") ?? undefined].filter((s) => s !== undefined);
    case "servicePrincipal":
      return [auth.clientSecret];
    default:
      return [];
  }
}

export function azureServiceClient(settings: AzureSettings): BlobServiceClientType {
  // Retries are ours (retry.ts): one try per SDK call.
  const options: StoragePipelineOptions = { retryOptions: { maxTries: 1 } };
  const { auth, endpoint } = settings;
  switch (auth.mode) {
    case "connectionString":
      return BlobServiceClient.fromConnectionString(auth.connectionString, options);
    case "accountKey":
      return new BlobServiceClient(endpoint, new StorageSharedKeyCredential(settings.accountName, auth.accountKey), options);
    case "sas":
      return new BlobServiceClient(`${endpoint}?${auth.sasToken}`, undefined, options);
    case "servicePrincipal":
      return new BlobServiceClient(
        endpoint,
        new ClientSecretCredential(auth.tenantId, auth.clientId, auth.clientSecret),
        options,
      );
    case "workloadIdentity":
      // No clientId/tenantId passed: the credential reads them from the environment; passing a
      // client id makes some versions take the managed-identity path ("Identity not found").
      return new BlobServiceClient(endpoint, new WorkloadIdentityCredential(), options);
    case "default":
      return new BlobServiceClient(endpoint, new DefaultAzureCredential(), options);
  }
}

interface AzureErrorFields {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
}

const credentialErrors = new Set(["CredentialUnavailableError", "AuthenticationError", "AggregateAuthenticationError"]);

export function classifyAzureError(error: unknown): FailureKind {
  const fields = (error ?? {}) as AzureErrorFields;
  const status = fields.statusCode;
  if (credentialErrors.has(fields.name ?? "")) return "accessDenied";
  if (status === 404) return "notFound";
  // Put Blob / Put Block List with If-None-Match: * on an existing blob answers 409 BlobAlreadyExists.
  if (status === 412 || fields.code === "ConditionNotMet" || fields.code === "BlobAlreadyExists") return "precondition";
  if (status === 401 || status === 403) return "accessDenied";
  if (isTransientStatus(status) || isNetworkError(error)) return "transient";
  return "failed";
}

const writeIdKey = "kbowriteid";
const maxBlocks = 50_000;

export class AzureBackend implements StorageBackend {
  readonly kind = "azure" as const;
  readonly bucket: string;
  readonly prefix: string;
  readonly accountName: string;
  readonly #container: ContainerClient;
  readonly #ops: Operations;

  constructor(settings: AzureSettings, options: BackendOptions = {}) {
    this.bucket = settings.container;
    this.prefix = settings.prefix;
    this.accountName = settings.accountName;
    const redactor = new Redactor(azureSecrets(settings.auth));
    this.#ops = new Operations({
      kind: this.kind,
      bucket: this.bucket,
      prefix: this.prefix,
      location: (objectKey) => `azure://${this.accountName}/${this.bucket}/${objectKey}`,
      redactor,
      classify: classifyAzureError,
      // HEAD responses have no body: the RestError then has neither code nor message.
      describe: (error) => {
        const fields = error as AzureErrorFields;
        if (!fields.message && fields.statusCode) return `${fields.code ?? fields.name ?? "error"}, HTTP ${fields.statusCode}`;
        return describeCause(error, redactor);
      },
      options,
    });
    this.#container = azureServiceClient(settings).getContainerClient(settings.container);
  }

  location(key = ""): string {
    return this.#ops.location(key === "" ? this.prefix : this.#ops.objectKey(key));
  }

  #blob(objectKey: string): BlockBlobClient {
    return this.#container.getBlockBlobClient(objectKey);
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<PutResult> {
    const objectKey = this.#ops.objectKey(key);
    const blob = this.#blob(objectKey);
    const writeId = randomUUID();
    const common = {
      conditions: opts.ifNoneMatch ? { ifNoneMatch: "*" } : opts.ifMatch ? { ifMatch: opts.ifMatch } : undefined,
      blobHTTPHeaders: opts.contentType ? { blobContentType: opts.contentType } : undefined,
      metadata: { [writeIdKey]: writeId },
    };
    const precondition = opts.ifNoneMatch ? "it already exists" : `it changed since etag ${opts.ifMatch} was read`;
    const plan = await planUpload(body, this.#ops.partSize, this.#ops.queueSize);
    if (plan.kind === "single") {
      const part = plan.body;
      return await this.#settle(objectKey, writeId, opts, () =>
        this.#ops.run(
          "put",
          objectKey,
          async (abortSignal) => ({ etag: (await blob.upload(part, part.length, { ...common, abortSignal })).etag ?? "" }),
          { signal: opts.signal, precondition, notFoundIsPrecondition: opts.ifMatch !== undefined },
        ),
      );
    }
    const blockIds: string[] = [];
    await uploadParts(
      plan.parts,
      this.#ops.queueSize,
      opts.signal,
      async (part, index, signal) => {
        if (index >= maxBlocks) {
          throw this.#ops.error(
            "failed",
            "put",
            objectKey,
            `more than ${maxBlocks} blocks of ${this.#ops.partSize} bytes; raise partSize`,
          );
        }
        const blockId = Buffer.from(`${writeId}-${String(index).padStart(6, "0")}`).toString("base64");
        await this.#ops.run(
          `put (block ${index})`,
          objectKey,
          (abortSignal) => blob.stageBlock(blockId, part, part.length, { abortSignal }),
          {
            signal,
          },
        );
        blockIds[index] = blockId;
      },
      plan.release,
    );
    // Uncommitted blocks of a failed write are discarded by the service after a week.
    return await this.#settle(objectKey, writeId, opts, () =>
      this.#ops.run(
        "put (commit blocks)",
        objectKey,
        async (abortSignal) => ({ etag: (await blob.commitBlockList(blockIds, { ...common, abortSignal })).etag ?? "" }),
        { signal: opts.signal, precondition, notFoundIsPrecondition: opts.ifMatch !== undefined },
      ),
    );
  }

  /** A retried conditional write whose first attempt landed unseen: the blob's write id says it is ours. */
  async #settle(objectKey: string, writeId: string, opts: PutOptions, commit: () => Promise<PutResult>): Promise<PutResult> {
    return await settleRetriedWrite(commit, async () => {
      const props = await this.#properties(objectKey, opts.signal);
      return props?.metadata?.[writeIdKey] === writeId ? { etag: props.etag ?? "" } : undefined;
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
    const objectKey = this.#ops.objectKey(key);
    const blob = this.#blob(objectKey);
    return await openResumable({
      range: opts.range,
      idleTimeoutMs: this.#ops.idleTimeoutMs,
      maxResumes: this.#ops.policy.maxAttempts,
      open: (start, end, etag) =>
        this.#ops.run(
          "get",
          objectKey,
          async (abortSignal) => {
            const out = await blob.download(start, end === undefined ? undefined : end - start + 1, {
              abortSignal,
              maxRetryRequests: 0,
              ...(etag ? { conditions: { ifMatch: etag } } : {}),
            });
            return { body: out.readableStreamBody as Readable, etag: out.etag ?? "", length: out.contentLength ?? 0 };
          },
          { signal: opts.signal, precondition: "it changed while being read", notFoundIsPrecondition: etag !== undefined },
        ),
      classify: (error) => this.#ops.typed(error, "get", objectKey),
      changed: () => this.#ops.error("precondition", "get", objectKey, undefined, undefined, "it changed while being read"),
    });
  }

  async stat(key: string, opts: CallOptions = {}): Promise<ObjectInfo> {
    const props = await this.#properties(this.#ops.objectKey(key), opts.signal);
    return { key, size: props.contentLength ?? 0, etag: props.etag ?? "", lastModified: props.lastModified ?? new Date(0) };
  }

  #properties(objectKey: string, signal: AbortSignal | undefined) {
    return this.#ops.run("stat", objectKey, (abortSignal) => this.#blob(objectKey).getProperties({ abortSignal }), { signal });
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ListEntry> {
    const listPrefix = this.#ops.listPrefix(prefix);
    const maxPageSize = Math.min(Math.max(opts.pageSize ?? 1000, 1), 5000);
    let continuationToken: string | undefined;
    do {
      const page = await this.#ops.run(
        "list",
        listPrefix,
        async (abortSignal) => {
          const pages = opts.delimiter
            ? this.#container
                .listBlobsByHierarchy(opts.delimiter, { prefix: listPrefix, abortSignal })
                .byPage({ continuationToken, maxPageSize })
            : this.#container.listBlobsFlat({ prefix: listPrefix, abortSignal }).byPage({ continuationToken, maxPageSize });
          const next = await pages.next();
          if (next.done) return { blobs: [], prefixes: [], token: undefined };
          const segment = next.value.segment as {
            blobItems: { name: string; properties: { contentLength?: number; etag?: string; lastModified?: Date } }[];
            blobPrefixes?: { name: string }[];
          };
          return {
            blobs: segment.blobItems,
            prefixes: segment.blobPrefixes ?? [],
            token: next.value.continuationToken || undefined,
          };
        },
        { signal: opts.signal },
      );
      const entries: ListEntry[] = [
        ...page.blobs.map(
          (blob): ListEntry => ({
            type: "object",
            key: this.#ops.relativeKey(blob.name),
            size: blob.properties.contentLength ?? 0,
            etag: blob.properties.etag ?? "",
            lastModified: blob.properties.lastModified ?? new Date(0),
          }),
        ),
        ...page.prefixes.map((p): ListEntry => ({ type: "prefix", prefix: this.#ops.relativeKey(p.name) })),
      ];
      yield* entries.sort((a, b) => compareKeys(a.type === "object" ? a.key : a.prefix, b.type === "object" ? b.key : b.prefix));
      continuationToken = page.token;
    } while (continuationToken);
  }

  async delete(keys: readonly string[], opts: CallOptions = {}): Promise<void> {
    const objectKeys = keys.map((key) => this.#ops.objectKey(key));
    await forEachLimit(objectKeys, this.#ops.deleteConcurrency, async (objectKey) => {
      await this.#ops.run(
        "delete",
        objectKey,
        (abortSignal) => this.#blob(objectKey).deleteIfExists({ deleteSnapshots: "include", abortSignal }),
        { signal: opts.signal },
      );
    });
  }
}
