// Google Cloud Storage through its JSON API, with google-auth-library for tokens. Plain requests
// rather than @google-cloud/storage, because every call here needs three things that SDK does not
// give: an AbortSignal per attempt, no retry loop of its own, and a resumable upload whose chunks
// are retried the way Google's Go client does (resend the chunk at its offset; the SDK instead asks
// the session for its offset, which fake-gcs-server answers by finalizing the object half-written).
// Conditions are generations: ifGenerationMatch=0 creates, ifGenerationMatch=<generation> replaces.
import { createHash, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { GoogleAuth, JWT } from "google-auth-library";
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
import type { GcsAuth, GcsSettings } from "./settings.ts";
import { forEachLimit, openResumable, planUpload, readAll, settleRetriedWrite } from "./transfer.ts";

const scope = "https://www.googleapis.com/auth/devstorage.read_write";

type Authorize = () => Promise<Record<string, string>>;

function authorizer(auth: GcsAuth): Authorize {
  const headers = async (client: { getRequestHeaders(): Promise<Headers> }) =>
    Object.fromEntries(await client.getRequestHeaders());
  switch (auth.mode) {
    case "anonymous":
      return async () => ({});
    case "serviceAccount": {
      const jwt = new JWT({ email: auth.clientEmail, key: auth.privateKey, keyId: auth.privateKeyId, scopes: [scope] });
      return () => headers(jwt);
    }
    case "applicationDefault": {
      const google = new GoogleAuth({ scopes: [scope] });
      return () => headers(google);
    }
  }
}

/** A non-2xx answer of the JSON API. */
export class GcsHttpError extends Error {
  override name = "GcsHttpError";
  readonly status: number;
  readonly code: string | undefined;

  constructor(status: number, message: string, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }

  static async from(response: Response): Promise<GcsHttpError> {
    const text = await response.text().catch(() => "");
    try {
      const body = JSON.parse(text) as { error?: { message?: string; errors?: { reason?: string }[] } };
      return new GcsHttpError(response.status, body.error?.message ?? `HTTP ${response.status}`, body.error?.errors?.[0]?.reason);
    } catch {
      return new GcsHttpError(response.status, text.split("\n")[0]?.slice(0, 200) || `HTTP ${response.status}`);
    }
  }
}

/** Getting an access token failed (the error from google-auth-library is its cause). */
export class GcsAuthError extends Error {
  override name = "GcsAuthError";
}

export function classifyGcsError(error: unknown): FailureKind {
  if (error instanceof GcsAuthError) {
    const status = (error.cause as { response?: { status?: number }; status?: number } | undefined)?.response?.status;
    return isTransientStatus(status) || (status === undefined && isNetworkError(error.cause)) ? "transient" : "accessDenied";
  }
  if (error instanceof GcsHttpError) {
    if (error.status === 404) return "notFound";
    if (error.status === 412) return "precondition";
    if (error.status === 401 || error.status === 403) return "accessDenied";
    if (isTransientStatus(error.status)) return "transient";
    return "failed";
  }
  return isNetworkError(error) ? "transient" : "failed";
}

interface GcsObject {
  name: string;
  size: string;
  generation: string;
  updated?: string;
  md5Hash?: string;
  metadata?: Record<string, string>;
}

const writeIdKey = "kbo-write-id";
const chunkGranularity = 256 * 1024;

export class GcsBackend implements StorageBackend {
  readonly kind = "gcs" as const;
  readonly bucket: string;
  readonly prefix: string;
  readonly #endpoint: string;
  readonly #authorize: Authorize;
  readonly #ops: Operations;
  readonly #chunkSize: number;

  constructor(settings: GcsSettings, options: BackendOptions = {}) {
    this.bucket = settings.bucket;
    this.prefix = settings.prefix;
    this.#endpoint = settings.endpoint;
    this.#authorize = authorizer(settings.auth);
    const redactor = new Redactor(
      settings.auth.mode === "serviceAccount" ? [settings.auth.privateKey, settings.auth.privateKeyId] : [],
    );
    this.#ops = new Operations({
      kind: this.kind,
      bucket: this.bucket,
      prefix: this.prefix,
      location: (objectKey) => `gs://${this.bucket}/${objectKey}`,
      redactor,
      classify: classifyGcsError,
      describe: (error) =>
        error instanceof GcsAuthError
          ? `could not obtain an access token: ${describeCause(error.cause, redactor)}`
          : describeCause(error, redactor),
      options,
    });
    // Resumable chunks must be multiples of 256 KiB.
    this.#chunkSize = Math.ceil(this.#ops.partSize / chunkGranularity) * chunkGranularity;
  }

  location(key = ""): string {
    return this.#ops.location(key === "" ? this.prefix : this.#ops.objectKey(key));
  }

  #objectUrl(name: string, query = ""): string {
    return `${this.#endpoint}/storage/v1/b/${encodeURIComponent(this.bucket)}/o/${encodeURIComponent(name)}${query}`;
  }

  #uploadUrl(query: string): string {
    return `${this.#endpoint}/upload/storage/v1/b/${encodeURIComponent(this.bucket)}/o?${query}`;
  }

  async #fetch(url: string, init: RequestInit, ok: (status: number) => boolean = (s) => s >= 200 && s < 300): Promise<Response> {
    let auth: Record<string, string>;
    try {
      auth = await this.#authorize();
    } catch (error) {
      throw new GcsAuthError(error instanceof Error ? error.message : String(error), { cause: error });
    }
    const response = await fetch(url, {
      ...init,
      headers: { ...auth, ...(init.headers as Record<string, string> | undefined) },
      redirect: "manual",
    });
    if (!ok(response.status)) throw await GcsHttpError.from(response);
    return response;
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<PutResult> {
    const name = this.#ops.objectKey(key);
    const condition = this.#condition(name, opts);
    const writeId = randomUUID();
    const contentType = opts.contentType ?? "application/octet-stream";
    const metadata = JSON.stringify({ name, contentType, metadata: { [writeIdKey]: writeId } });
    const precondition = opts.ifNoneMatch ? "it already exists" : `it changed since generation ${opts.ifMatch} was read`;
    const run = <T>(operation: string, call: (signal: AbortSignal) => Promise<T>) =>
      this.#ops.run(operation, name, call, {
        signal: opts.signal,
        precondition,
        notFoundIsPrecondition: opts.ifMatch !== undefined,
      });
    const plan = await planUpload(body, this.#chunkSize);

    if (plan.kind === "single") {
      const boundary = `kbo-${randomUUID()}`;
      const payload = Buffer.concat([
        Buffer.from(`--${boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n${metadata}\r\n`),
        Buffer.from(`--${boundary}\r\ncontent-type: ${contentType}\r\n\r\n`),
        plan.body,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const object = await this.#settle(name, writeId, opts, () =>
        run("put", async (signal) => {
          const response = await this.#fetch(this.#uploadUrl(`uploadType=multipart${condition}`), {
            method: "POST",
            body: payload,
            headers: { "content-type": `multipart/related; boundary=${boundary}` },
            signal,
          });
          return (await response.json()) as GcsObject;
        }),
      );
      return { etag: object.generation };
    }

    const session = await run("put (start resumable upload)", async (signal) => {
      const response = await this.#fetch(this.#uploadUrl(`uploadType=resumable${condition}`), {
        method: "POST",
        body: metadata,
        headers: { "content-type": "application/json; charset=UTF-8", "x-upload-content-type": contentType },
        signal,
      });
      await response.arrayBuffer();
      const location = response.headers.get("location");
      if (!location) throw new GcsHttpError(response.status, "the store returned no resumable session URL");
      return location;
    });
    // One chunk in flight (GCS sessions are sequential), one read ahead to know which is last.
    const md5 = createHash("md5");
    let offset = 0;
    let finished: GcsObject | undefined;
    try {
      let current = await plan.parts.next();
      while (!current.done) {
        const next = await plan.parts.next();
        const chunk = current.value;
        const total = next.done ? offset + chunk.length : undefined;
        md5.update(chunk);
        const start = offset;
        const send = () => run(`put (chunk at byte ${start})`, (signal) => this.#sendChunk(session, chunk, start, total, signal));
        if (total === undefined) await send();
        else finished = await this.#settle(name, writeId, opts, async () => (await send()) as GcsObject);
        offset += chunk.length;
        plan.release(chunk);
        current = next;
      }
    } catch (error) {
      await plan.parts.return(undefined).catch(() => {}); // stop reading the body
      // Best effort: cancel the session (it would expire in a week anyway).
      await fetch(session, { method: "DELETE", signal: AbortSignal.timeout(10_000) }).catch(() => {});
      throw error;
    }
    // A chunk resent after a timeout must not be stored twice (fake-gcs-server appends it again
    // instead of honouring its offset). An object that differs from what was sent is deleted and
    // reported, never passed off as written.
    if (!finished || Number(finished.size) !== offset || (finished.md5Hash && finished.md5Hash !== md5.digest("base64"))) {
      const generation = finished?.generation;
      if (generation) {
        await this.#fetch(this.#objectUrl(name, `?ifGenerationMatch=${generation}`), { method: "DELETE" }, () => true).catch(
          () => {},
        );
      }
      throw this.#ops.error(
        "failed",
        "put",
        name,
        `the store finalized ${finished?.size ?? "?"} bytes where ${offset} were sent (or their MD5 differs); that version was deleted`,
      );
    }
    return { etag: finished.generation };
  }

  /** Sends one chunk; resends the part the session did not keep. Returns the object after the last chunk. */
  async #sendChunk(session: string, chunk: Buffer, start: number, total: number | undefined, signal: AbortSignal) {
    let sent = 0;
    for (let round = 0; round < 10; round++) {
      const body = chunk.subarray(sent);
      const first = start + sent;
      const response = await this.#fetch(
        session,
        {
          method: "PUT",
          body,
          headers: { "content-range": `bytes ${first}-${first + body.length - 1}/${total ?? "*"}`, "x-guploader-no-308": "yes" },
          signal,
        },
        (s) => s === 200 || s === 201 || s === 308,
      );
      const incomplete = response.status === 308 || response.headers.get("x-http-status-code-override") === "308";
      if (!incomplete) {
        if (total === undefined) throw new GcsHttpError(response.status, "the store finished the upload before its last chunk");
        return (await response.json()) as GcsObject;
      }
      await response.arrayBuffer();
      // "Range: bytes=0-N": the session holds N+1 bytes; no header: none.
      const range = /bytes=0-(\d+)/.exec(response.headers.get("range") ?? "");
      const kept = range ? Number(range[1]) + 1 : 0;
      if (total === undefined && kept >= start + chunk.length) return undefined;
      if (kept < start) throw new GcsHttpError(409, `the upload session holds ${kept} bytes, expected at least ${start}`);
      sent = kept - start;
    }
    throw new GcsHttpError(500, "the upload session kept refusing part of a chunk");
  }

  #condition(name: string, opts: PutOptions): string {
    if (opts.ifNoneMatch) return "&ifGenerationMatch=0";
    if (opts.ifMatch === undefined) return "";
    if (!/^[1-9]\d*$/.test(opts.ifMatch)) {
      throw this.#ops.error("precondition", "put", name, `etag ${JSON.stringify(opts.ifMatch)} is not a GCS generation`);
    }
    return `&ifGenerationMatch=${opts.ifMatch}`;
  }

  /** A retried conditional write whose first attempt landed unseen: the object's write id says it is ours. */
  async #settle(name: string, writeId: string, opts: PutOptions, commit: () => Promise<GcsObject>): Promise<GcsObject> {
    return await settleRetriedWrite(commit, async () => {
      const object = await this.#metadata(name, opts.signal);
      return object?.metadata?.[writeIdKey] === writeId ? object : undefined;
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
    const name = this.#ops.objectKey(key);
    return await openResumable({
      range: opts.range,
      idleTimeoutMs: this.#ops.idleTimeoutMs,
      maxResumes: this.#ops.policy.maxAttempts,
      open: (start, end, etag) =>
        this.#ops.run(
          "get",
          name,
          async (signal) => {
            const response = await this.#media(name, start, end, etag, signal);
            const generation = response.headers.get("x-goog-generation") ?? etag ?? "";
            const body = response.body
              ? Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>)
              : Readable.from([] as Buffer[]);
            return { body, etag: generation, length: Number(response.headers.get("content-length") ?? 0) };
          },
          { signal: opts.signal, precondition: "it changed while being read", notFoundIsPrecondition: etag !== undefined },
        ),
      classify: (error) => this.#ops.typed(error, "get", name),
      changed: () => this.#ops.error("precondition", "get", name, undefined, undefined, "it changed while being read"),
    });
  }

  /** GET ?alt=media; pinned to a generation with ifGenerationMatch (fake-gcs-server ignores it; get() also compares the answer's generation). */
  #media(name: string, start: number, end: number | undefined, generation: string | undefined, signal: AbortSignal) {
    const ranged = start > 0 || end !== undefined;
    return this.#fetch(this.#objectUrl(name, `?alt=media${generation ? `&ifGenerationMatch=${generation}` : ""}`), {
      headers: { "accept-encoding": "identity", ...(ranged ? { range: `bytes=${start}-${end ?? ""}` } : {}) },
      signal,
    });
  }

  async stat(key: string, opts: CallOptions = {}): Promise<ObjectInfo> {
    const object = await this.#metadata(this.#ops.objectKey(key), opts.signal);
    return { key, size: Number(object.size), etag: object.generation, lastModified: new Date(object.updated ?? 0) };
  }

  #metadata(name: string, signal: AbortSignal | undefined): Promise<GcsObject> {
    return this.#ops.run(
      "stat",
      name,
      async (attemptSignal) => (await (await this.#fetch(this.#objectUrl(name), { signal: attemptSignal })).json()) as GcsObject,
      { signal },
    );
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ListEntry> {
    const listPrefix = this.#ops.listPrefix(prefix);
    const maxResults = Math.min(Math.max(opts.pageSize ?? 1000, 1), 1000);
    let pageToken: string | undefined;
    do {
      const query = new URLSearchParams({ prefix: listPrefix, maxResults: String(maxResults) });
      if (opts.delimiter) query.set("delimiter", opts.delimiter);
      if (pageToken) query.set("pageToken", pageToken);
      const url = `${this.#endpoint}/storage/v1/b/${encodeURIComponent(this.bucket)}/o?${query}`;
      const page = await this.#ops.run(
        "list",
        listPrefix,
        async (signal) =>
          (await (await this.#fetch(url, { signal })).json()) as {
            items?: GcsObject[];
            prefixes?: string[];
            nextPageToken?: string;
          },
        { signal: opts.signal },
      );
      const entries: ListEntry[] = [
        ...(page.items ?? []).map(
          (o): ListEntry => ({
            type: "object",
            key: this.#ops.relativeKey(o.name),
            size: Number(o.size),
            etag: o.generation,
            lastModified: new Date(o.updated ?? 0),
          }),
        ),
        ...(page.prefixes ?? []).map((p): ListEntry => ({ type: "prefix", prefix: this.#ops.relativeKey(p) })),
      ];
      yield* entries.sort((a, b) => compareKeys(a.type === "object" ? a.key : a.prefix, b.type === "object" ? b.key : b.prefix));
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
  }

  async delete(keys: readonly string[], opts: CallOptions = {}): Promise<void> {
    const names = keys.map((key) => this.#ops.objectKey(key));
    await forEachLimit(names, this.#ops.deleteConcurrency, async (name) => {
      await this.#ops.run(
        "delete",
        name,
        async (signal) => {
          const response = await this.#fetch(this.#objectUrl(name), { method: "DELETE", signal }, (s) => s < 300 || s === 404);
          await response.arrayBuffer();
        },
        { signal: opts.signal },
      );
    });
  }
}
