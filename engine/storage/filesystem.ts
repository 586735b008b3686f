// A directory as an object store: a mounted PVC (/data/{claimName}/{subPath}) or any local path.
//
// - Writes are atomic: the body goes to a temp file in the key's directory, is fsynced, then
//   renamed (or hard-linked, for create-only) over the key, and the directory is fsynced. A
//   reader sees the old object or the new one, never part of one; a crash leaves at most a temp
//   file, which listings skip.
// - Every change to a key (put, replace, delete) happens under that key's lock file, created with
//   O_EXCL, which holds between processes and hosts sharing the volume. Create-only is a hard
//   link(), which fails if the key exists even for writers that ignore the lock.
// - The etag is device, inode, size and mtime in nanoseconds: each write creates a new inode.
// - A key resolves inside the root or is refused, also through symbolic links.
import { createHash, randomUUID } from "node:crypto";
import { type Dirent, constants as fsConstants } from "node:fs";
import { link, mkdir, open, readdir, readFile, realpath, rename, rmdir, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
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
import { InvalidKeyError, isNetworkError, Redactor, StorageConfigError, TransientStorageError } from "./errors.ts";
import { compareKeys, normalizePrefix } from "./keys.ts";
import { type FailureKind, Operations } from "./operations.ts";
import { forEachLimit, openResumable, readAll } from "./transfer.ts";

export interface FilesystemSettings {
  /** An existing directory (the PVC's mount point); never created here. */
  root: string;
  prefix: string;
  /** A lock file older than this is from a crashed writer and is broken (default 30 s; commits take milliseconds). */
  lockStaleMs?: number;
  /** Waiting longer than this for a key's lock is a transient error (default 20 s). */
  lockWaitMs?: number;
}

/** Internal files (temp files, locks) start with this; keys may not. */
const reserved = ".kbo-";

/** The prefix is a claim's pvc.subPath (engine/storage/settings.ts): it may not name internal files. */
export function checkReservedPrefix(prefix: string): void {
  if (prefix.split("/").some((s) => s.startsWith(reserved))) {
    throw new InvalidKeyError(`pvc.subPath ${JSON.stringify(prefix)}: segments starting with ${reserved} are reserved`, {
      key: prefix,
    });
  }
}

export function classifyFsError(error: unknown): FailureKind {
  const code = (error as { code?: string } | undefined)?.code;
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
    case "EISDIR":
      return "notFound";
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return "accessDenied";
    case "EAGAIN":
    case "EBUSY":
    case "EMFILE":
    case "ENFILE":
    case "ESTALE":
    case "EINTR":
      return "transient";
    default:
      return error instanceof TransientStorageError || isNetworkError(error) ? "transient" : "failed";
  }
}

export class FilesystemBackend implements StorageBackend {
  readonly kind = "filesystem" as const;
  readonly bucket: string;
  readonly prefix: string;
  readonly #root: string;
  readonly #ops: Operations;
  readonly #lockStaleMs: number;
  readonly #lockWaitMs: number;
  #realRoot: Promise<string> | undefined;

  constructor(settings: FilesystemSettings, options: BackendOptions = {}) {
    this.#root = resolve(settings.root);
    this.bucket = this.#root;
    this.prefix = normalizePrefix(settings.prefix, "prefix");
    this.#lockStaleMs = settings.lockStaleMs ?? 30_000;
    this.#lockWaitMs = settings.lockWaitMs ?? 20_000;
    this.#ops = new Operations({
      kind: this.kind,
      bucket: this.bucket,
      prefix: this.prefix,
      location: (objectKey) => `file://${join(this.#root, objectKey)}`,
      redactor: new Redactor(),
      classify: classifyFsError,
      options,
    });
    checkReservedPrefix(this.prefix);
  }

  location(key = ""): string {
    return this.#ops.location(key === "" ? this.prefix : this.#resolve(key).objectKey);
  }

  /** The object key and its path; refuses reserved names and anything resolving outside the root. */
  #resolve(key: string): { objectKey: string; path: string } {
    const objectKey = this.#ops.objectKey(key);
    if (objectKey.split("/").some((s) => s.startsWith(reserved))) {
      throw new InvalidKeyError(
        `invalid key ${JSON.stringify(key)} for ${this.location()}: segments starting with ${reserved} are reserved`,
        {
          backend: this.kind,
          bucket: this.bucket,
          key,
        },
      );
    }
    const path = resolve(this.#root, ...objectKey.split("/"));
    if (!path.startsWith(this.#root + sep)) {
      throw new InvalidKeyError(`invalid key ${JSON.stringify(key)}: resolves outside ${this.#root}`, {
        backend: this.kind,
        bucket: this.bucket,
        key,
      });
    }
    return { objectKey, path };
  }

  #rootReal(): Promise<string> {
    this.#realRoot ??= realpath(this.#root).catch((error: NodeJS.ErrnoException) => {
      this.#realRoot = undefined;
      if (error.code === "ENOENT") {
        throw new StorageConfigError("pvc", `the storage root ${this.#root} does not exist: is the volume mounted there?`);
      }
      throw error;
    });
    return this.#realRoot;
  }

  /** Proves an existing directory is the root or inside it after resolving symbolic links. */
  async #checkInside(dir: string, key: string): Promise<void> {
    const [root, real] = await Promise.all([this.#rootReal(), realpath(dir)]);
    if (real !== root && !real.startsWith(root + sep)) {
      throw new InvalidKeyError(`key ${JSON.stringify(key)} resolves outside ${this.#root} through a symbolic link`, {
        backend: this.kind,
        bucket: this.bucket,
        key,
      });
    }
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<PutResult> {
    const { objectKey, path } = this.#resolve(key);
    const dir = dirname(path);
    const temp = join(dir, `${reserved}tmp-${randomUUID()}`);
    const precondition = opts.ifNoneMatch ? "it already exists" : `it changed since etag ${opts.ifMatch} was read`;
    try {
      // Not retried: a stream body cannot be read twice. System errors are typed; the body's own pass as they are.
      await this.#writeTemp(dir, temp, body, key).catch((error: unknown) => {
        throw /^E[A-Z]+$/.test(String((error as NodeJS.ErrnoException).code)) ? this.#ops.typed(error, "put", objectKey) : error;
      });
      return await this.#ops.run(
        "put",
        objectKey,
        (signal) =>
          this.#withLock(path, signal, async () => {
            if (opts.ifNoneMatch) {
              // link() fails with EEXIST when the key exists, atomically, whoever else writes.
              await link(temp, path).catch((error: NodeJS.ErrnoException) => {
                throw error.code === "EEXIST"
                  ? this.#ops.error("precondition", "put", objectKey, undefined, undefined, precondition)
                  : error;
              });
            } else {
              if (opts.ifMatch !== undefined) {
                const current = await stat(path, { bigint: true }).catch(() => undefined);
                if (!current || fsEtag(current) !== opts.ifMatch) {
                  throw this.#ops.error("precondition", "put", objectKey, undefined, undefined, precondition);
                }
              }
              await rename(temp, path);
            }
            await syncDirectory(dir);
            return { etag: fsEtag(await stat(path, { bigint: true })) };
          }),
        { signal: opts.signal, precondition },
      );
    } finally {
      await unlink(temp).catch(() => {});
    }
  }

  /** The body into a new temp file in the key's directory, fsynced. Retries when a delete removed the directory meanwhile. */
  async #writeTemp(dir: string, temp: string, body: Buffer | Readable, key: string): Promise<void> {
    await this.#rootReal(); // never create the root: a missing one is an unmounted volume
    for (let round = 0; ; round++) {
      await mkdir(dir, { recursive: true });
      await this.#checkInside(dir, key);
      let file: Awaited<ReturnType<typeof open>>;
      try {
        file = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT" && round < 5) continue;
        throw error;
      }
      try {
        if (Buffer.isBuffer(body)) await file.writeFile(body);
        else for await (const chunk of body) await file.write(chunk as Buffer);
        await file.sync();
      } finally {
        await file.close();
      }
      return;
    }
  }

  /**
   * Runs fn holding the key's lock: a file created with O_EXCL next to the key. A lock older than
   * lockStaleMs is broken: moved aside under a unique name, and put back if it turns out to be a
   * fresh one that replaced the stale one meanwhile.
   */
  async #withLock<T>(path: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const lockPath = join(
      dirname(path),
      `${reserved}lock-${createHash("sha256").update(basename(path)).digest("hex").slice(0, 32)}`,
    );
    const token = `${hostname()} ${process.pid} ${randomUUID()}`;
    const deadline = Date.now() + this.#lockWaitMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      // An attempt past its deadline must not go on to commit behind its retry's back.
      signal.throwIfAborted();
      try {
        const file = await open(lockPath, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
        await file.writeFile(token).finally(() => file.close());
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      await this.#breakIfStale(lockPath);
      if (Date.now() > deadline) {
        throw Object.assign(new Error(`its lock file was held for more than ${this.#lockWaitMs} ms`), { code: "EBUSY" });
      }
      await sleep(wait / 2 + Math.random() * wait);
    }
    try {
      signal.throwIfAborted();
      return await fn();
    } finally {
      const holder = await readFile(lockPath, "utf8").catch(() => undefined);
      if (holder === token) await unlink(lockPath).catch(() => {});
    }
  }

  async #breakIfStale(lockPath: string): Promise<void> {
    const info = await stat(lockPath).catch(() => undefined);
    if (!info || Date.now() - info.mtimeMs < this.#lockStaleMs) return;
    const seen = await readFile(lockPath, "utf8").catch(() => undefined);
    const aside = `${lockPath}-stale-${randomUUID()}`;
    try {
      await rename(lockPath, aside);
    } catch {
      return;
    }
    const moved = await readFile(aside, "utf8").catch(() => undefined);
    if (moved !== seen) await link(aside, lockPath).catch(() => {});
    await unlink(aside).catch(() => {});
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
    const { objectKey, path } = this.#resolve(key);
    return await openResumable({
      range: opts.range,
      idleTimeoutMs: this.#ops.idleTimeoutMs,
      maxResumes: this.#ops.policy.maxAttempts,
      open: (start, end) =>
        this.#ops.run(
          "get",
          objectKey,
          async () => {
            await this.#checkInside(dirname(path), key);
            const file = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
            try {
              const info = await file.stat({ bigint: true });
              if (!info.isFile()) throw Object.assign(new Error("not a regular file"), { code: "EISDIR" });
              const last = Math.min(end ?? Number(info.size) - 1, Number(info.size) - 1);
              if (last < start) {
                await file.close();
                return { body: Readable.from([]), etag: fsEtag(info), length: 0 };
              }
              const body = file.createReadStream({ start, end: last, autoClose: true });
              return { body, etag: fsEtag(info), length: last - start + 1 };
            } catch (error) {
              await file.close();
              throw error;
            }
          },
          { signal: opts.signal },
        ),
      classify: (error) => this.#ops.typed(error, "get", objectKey),
      changed: () => this.#ops.error("precondition", "get", objectKey, undefined, undefined, "it changed while being read"),
    });
  }

  async stat(key: string, opts: CallOptions = {}): Promise<ObjectInfo> {
    const { objectKey, path } = this.#resolve(key);
    return await this.#ops.run(
      "stat",
      objectKey,
      async () => {
        await this.#checkInside(dirname(path), key);
        const info = await stat(path, { bigint: true });
        if (!info.isFile()) throw Object.assign(new Error("not a regular file"), { code: "EISDIR" });
        return { key, size: Number(info.size), etag: fsEtag(info), lastModified: new Date(Number(info.mtimeMs)) };
      },
      { signal: opts.signal },
    );
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ListEntry> {
    const listPrefix = this.#ops.listPrefix(prefix);
    // Start in the deepest directory the prefix names whole; filter the rest by name.
    const cut = listPrefix.lastIndexOf("/");
    const dirKey = cut < 0 ? "" : listPrefix.slice(0, cut);
    const namePrefix = listPrefix.slice(cut + 1);
    const dir = dirKey === "" ? this.#root : resolve(this.#root, ...dirKey.split("/"));
    try {
      await this.#checkInside(dir, prefix);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return;
      throw this.#ops.typed(error, "list", listPrefix);
    }
    yield* this.#walk(dir, dirKey, namePrefix, opts);
  }

  async *#walk(dir: string, dirKey: string, namePrefix: string, opts: ListOptions): AsyncGenerator<ListEntry> {
    opts.signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      // A directory removed by a concurrent delete is simply empty.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw this.#ops.typed(error, "list", dirKey);
    }
    // Sorting "name/" for directories gives the same order as sorting the full keys.
    const visible = entries
      .filter((e) => e.name.startsWith(namePrefix) && !e.name.startsWith(reserved) && (e.isFile() || e.isDirectory()))
      .map((e) => ({ entry: e, sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const { entry } of visible) {
      const objectKey = dirKey === "" ? entry.name : `${dirKey}/${entry.name}`;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (opts.delimiter) yield { type: "prefix", prefix: `${this.#ops.relativeKey(`${objectKey}/`)}` };
        else yield* this.#walk(path, objectKey, "", opts);
        continue;
      }
      const info = await stat(path, { bigint: true }).catch(() => undefined);
      if (!info) continue; // deleted meanwhile
      yield {
        type: "object",
        key: this.#ops.relativeKey(objectKey),
        size: Number(info.size),
        etag: fsEtag(info),
        lastModified: new Date(Number(info.mtimeMs)),
      };
    }
  }

  async delete(keys: readonly string[], opts: CallOptions = {}): Promise<void> {
    const targets = keys.map((key) => ({ key, ...this.#resolve(key) }));
    await forEachLimit(targets, this.#ops.deleteConcurrency, async ({ key, objectKey, path }) => {
      opts.signal?.throwIfAborted();
      await this.#ops.run(
        "delete",
        objectKey,
        async (signal) => {
          try {
            await this.#checkInside(dirname(path), key);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
            throw error;
          }
          await this.#withLock(path, signal, async () => {
            await unlink(path).catch((error: NodeJS.ErrnoException) => {
              if (error.code !== "ENOENT") throw error;
            });
            await syncDirectory(dirname(path));
          });
          await this.#pruneEmptyDirectories(dirname(path));
        },
        { signal: opts.signal },
      );
    });
  }

  /** Directories emptied by a delete go too, as "folders" do in an object store; stops at the root or a non-empty one. */
  async #pruneEmptyDirectories(dir: string): Promise<void> {
    for (let current = dir; current.startsWith(this.#root + sep); current = dirname(current)) {
      try {
        await rmdir(current);
      } catch {
        return;
      }
    }
  }
}

export function fsEtag(info: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }): string {
  return `${info.dev.toString(36)}-${info.ino.toString(36)}-${info.size.toString(36)}-${info.mtimeNs.toString(36)}`;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
