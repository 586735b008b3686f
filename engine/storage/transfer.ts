// Moving bytes with bounded memory, the same way for every backend: splitting a body into parts,
// sending a few parts at a time, reading a stream that resumes after a dropped connection.
import { Readable } from "node:stream";
import type { ByteRange } from "./backend.ts";
import { type StorageError, TransientStorageError } from "./errors.ts";

/**
 * Part buffers of one upload, reused once a part is sent: streaming a large object then
 * allocates a handful of part buffers instead of one per part, which keeps the process's RSS
 * near the live set rather than at whatever garbage the collector has not reached yet.
 */
export class PartPool {
  readonly partSize: number;
  readonly #max: number;
  readonly #free: Buffer[] = [];
  readonly #own = new WeakSet<ArrayBufferLike>();

  constructor(partSize: number, max: number) {
    this.partSize = partSize;
    this.#max = max;
  }

  take(): Buffer {
    const part = this.#free.pop() ?? Buffer.allocUnsafeSlow(this.partSize);
    this.#own.add(part.buffer);
    return part;
  }

  /** Returns a part (or a shorter view of one) once nothing reads it any more; other buffers are ignored. */
  release(part: Buffer): void {
    if (this.#own.has(part.buffer) && this.#free.length < this.#max) {
      this.#own.delete(part.buffer);
      this.#free.push(Buffer.from(part.buffer, 0, this.partSize));
    }
  }
}

/**
 * Cuts a body into parts of exactly partSize bytes (the last one shorter). A Buffer is sliced
 * without copying; a stream is copied into pooled part buffers, and read only as fast as the
 * parts are taken.
 */
export async function* splitParts(body: Buffer | Readable, partSize: number, pool?: PartPool): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(body)) {
    if (body.length === 0) yield body;
    for (let offset = 0; offset < body.length; offset += partSize) yield body.subarray(offset, offset + partSize);
    return;
  }
  let part: Buffer | undefined;
  let filled = 0;
  let yielded = false;
  for await (const data of body) {
    let chunk: Buffer = Buffer.isBuffer(data) ? data : Buffer.from(data as string | Uint8Array);
    while (chunk.length > 0) {
      part ??= pool ? pool.take() : Buffer.allocUnsafeSlow(partSize);
      const copied = chunk.copy(part, filled);
      filled += copied;
      chunk = chunk.subarray(copied);
      if (filled === partSize) {
        yield part;
        yielded = true;
        part = undefined;
        filled = 0;
      }
    }
  }
  if (filled > 0 || !yielded) yield part ? part.subarray(0, filled) : Buffer.alloc(0);
}

export type UploadPlan = ({ kind: "single"; body: Buffer } | { kind: "parts"; parts: AsyncGenerator<Buffer> }) & {
  /** Gives a sent part's buffer back for reuse. */
  release(part: Buffer): void;
};

/**
 * Reads up to two parts ahead to decide between one request and a multi-part upload. The pool
 * holds `inFlight` + 2 buffers: the parts being sent, the one being filled, one read ahead.
 */
export async function planUpload(body: Buffer | Readable, partSize: number, inFlight = 1): Promise<UploadPlan> {
  const pool = new PartPool(partSize, inFlight + 2);
  const release = (part: Buffer) => pool.release(part);
  const parts = splitParts(body, partSize, pool);
  const first = await parts.next();
  const second = first.done ? first : await parts.next();
  if (first.done || second.done) return { kind: "single", body: first.done ? Buffer.alloc(0) : first.value, release };
  return {
    kind: "parts",
    release,
    parts: (async function* () {
      yield first.value;
      yield second.value;
      yield* parts;
    })(),
  };
}

/**
 * Sends parts with at most queueSize in flight; the next part is read from the body only when a
 * slot is free (back-pressure). Each part is released once its upload settled. The first failure
 * aborts the others and is thrown.
 */
export async function uploadParts(
  parts: AsyncIterable<Buffer>,
  queueSize: number,
  signal: AbortSignal | undefined,
  upload: (part: Buffer, index: number, signal: AbortSignal) => Promise<void>,
  release: (part: Buffer) => void = () => {},
): Promise<number> {
  const failed = new AbortController();
  const partSignal = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    failed.abort(error);
  };
  let count = 0;
  try {
    for await (const part of parts) {
      if (failure) break;
      const task: Promise<void> = upload(part, count++, partSignal)
        .catch(fail)
        .finally(() => {
          inFlight.delete(task);
          if (!failure) release(part);
        });
      inFlight.add(task);
      while (inFlight.size >= queueSize) await Promise.race(inFlight);
    }
  } catch (error) {
    // Reading the body failed: that is the caller's error, passed on unchanged.
    fail(error);
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
  return count;
}

/** Runs fn over items with at most `limit` running at once; the first failure stops new work and is thrown. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
}

/**
 * A stream's bytes in one buffer. With `length` known (a ranged read announces it) the buffer is
 * allocated once and the chunks copied in as they come: no list of chunks held, no second copy.
 */
export async function readAll(stream: Readable, length?: number): Promise<Buffer> {
  if (length === undefined) {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks);
  }
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for await (const chunk of stream) {
    const bytes = chunk as Uint8Array;
    if (at + bytes.length > length) throw new Error(`the store sent more than the ${length} bytes it announced`);
    out.set(bytes, at);
    at += bytes.length;
  }
  if (at !== length) throw new Error(`the store sent ${at} of the ${length} bytes it announced`);
  return out;
}

/** One response of a ranged read: its body, the object's version, how many bytes it will deliver. */
export interface OpenedRange {
  body: Readable;
  etag: string;
  length: number;
}

export interface ResumableRead {
  range: ByteRange | undefined;
  idleTimeoutMs: number;
  /** How often in a row a broken stream is reopened before the error is passed on. */
  maxResumes: number;
  /** Opens bytes start..end (end inclusive, undefined = to the end), pinned to `etag` when given; retries are its own. */
  open(start: number, end: number | undefined, etag: string | undefined): Promise<OpenedRange>;
  /** Types a failure of the stream itself (IdleStreamError included); transient ones are resumed. */
  classify(error: unknown): StorageError;
  /** Error for "the object changed while it was read". */
  changed(): StorageError;
}

/** A download that delivered nothing for idleTimeoutMs, or ended before its announced length; transient. */
export class IdleStreamError extends Error {
  override name = "IdleStreamError";
}

/**
 * A stream over a ranged read that survives a dropped or stalled connection: it reopens from the
 * next byte it has not delivered, pinned to the version it started reading, so the bytes it
 * delivers are exactly the object's even across resumes. A stream that ends short is resumed
 * too; a version change is an error.
 */
export async function openResumable(read: ResumableRead): Promise<{ body: Readable; etag: string; length: number }> {
  const start = read.range?.start ?? 0;
  const end = read.range?.end;
  const first = await read.open(start, end, undefined);
  const { etag, length: expected } = first;

  async function* deliver(): AsyncGenerator<Buffer> {
    let current = first;
    let delivered = 0;
    let resumes = 0;
    try {
      for (;;) {
        try {
          for await (const chunk of guardIdle(current.body, read.idleTimeoutMs)) {
            if (chunk.length === 0) continue;
            delivered += chunk.length;
            resumes = 0; // progress: only failures in a row count
            yield chunk;
          }
          if (delivered === expected) return;
          if (delivered > expected) throw new Error(`the store sent ${delivered} bytes where ${expected} were announced`);
          throw new IdleStreamError(`the stream ended after ${delivered} of ${expected} bytes`);
        } catch (error) {
          current.body.destroy();
          const typed = read.classify(error);
          if (!(typed instanceof TransientStorageError) || ++resumes > read.maxResumes) throw typed;
        }
        current = await read.open(start + delivered, end, etag);
        if (current.etag !== etag) {
          current.body.destroy();
          throw read.changed();
        }
      }
    } finally {
      current.body.destroy();
    }
  }
  return { body: Readable.from(deliver(), { objectMode: false }), etag, length: expected };
}

/** Yields a stream's chunks, failing with IdleStreamError when the next one takes longer than idleMs. */
async function* guardIdle(source: Readable, idleMs: number): AsyncGenerator<Buffer> {
  const chunks = source[Symbol.asyncIterator]();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const next = chunks.next();
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new IdleStreamError(`no data for ${idleMs} ms`)), idleMs);
    });
    try {
      const result = await Promise.race([next, idle]);
      if (result.done) return;
      yield Buffer.isBuffer(result.value) ? result.value : Buffer.from(result.value as Uint8Array);
    } catch (error) {
      next.catch(() => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A conditional write that was retried can fail because its own earlier attempt landed and the
 * answer was lost. Every put stores a random write id in the object's metadata; `ours` reads the
 * object back and returns it when that id is this write's, so the put counts as done.
 */
export async function settleRetriedWrite<T>(commit: () => Promise<T>, ours: () => Promise<T | undefined>): Promise<T> {
  try {
    return await commit();
  } catch (error) {
    if (((error as { attempts?: number }).attempts ?? 1) > 1) {
      const landed = await ours().catch(() => undefined);
      if (landed !== undefined) return landed;
    }
    throw error;
  }
}
