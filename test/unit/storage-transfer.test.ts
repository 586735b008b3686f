// Splitting bodies into parts, sending them with bounded concurrency, and resumable reads.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ObjectNotFoundError,
  PreconditionFailedError,
  type StorageError,
  TransientStorageError,
} from "../../engine/storage/errors.ts";
import { forEachLimit, openResumable, planUpload, readAll, splitParts, uploadParts } from "../../engine/storage/transfer.ts";

async function collect(parts: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const part of parts) out.push(Buffer.from(part));
  return out;
}

/** A stream of `count` chunks of `size` bytes that records how far it has been read. */
function countingStream(count: number, size: number): { stream: Readable; read(): number } {
  let produced = 0;
  const stream = Readable.from(
    (async function* () {
      for (let i = 0; i < count; i++) {
        produced += size;
        yield Buffer.alloc(size, i % 256);
      }
    })(),
    { objectMode: false, highWaterMark: size },
  );
  return { stream, read: () => produced };
}

describe("splitting bodies into parts", () => {
  test("exact part sizes from odd-sized stream chunks; contents preserved", async () => {
    const data = randomBytes(10_000);
    const chunks = [data.subarray(0, 1), data.subarray(1, 4000), data.subarray(4000, 4001), data.subarray(4001)];
    const parts = await collect(splitParts(Readable.from(chunks), 3000));
    assert.deepEqual(
      parts.map((p) => p.length),
      [3000, 3000, 3000, 1000],
    );
    assert.deepEqual(Buffer.concat(parts), data);
  });

  test("a Buffer is sliced without copying; empty bodies give one empty part", async () => {
    const data = randomBytes(7000);
    const parts = await collect(splitParts(data, 3000));
    assert.deepEqual(
      parts.map((p) => p.length),
      [3000, 3000, 1000],
    );
    const first = (await splitParts(data, 3000).next()).value as Buffer;
    assert.equal(first.buffer, data.buffer);
    assert.deepEqual(await collect(splitParts(Buffer.alloc(0), 10)), [Buffer.alloc(0)]);
    assert.deepEqual(await collect(splitParts(Readable.from([]), 10)), [Buffer.alloc(0)]);
    assert.deepEqual(
      (await collect(splitParts(Readable.from([Buffer.alloc(20)]), 10))).map((p) => p.length),
      [10, 10],
    );
  });

  test("one request for bodies up to a part, parts beyond", async () => {
    const small = await planUpload(Readable.from([Buffer.alloc(10)]), 10);
    assert.equal(small.kind, "single");
    const large = await planUpload(Readable.from([Buffer.alloc(11)]), 10);
    assert.equal(large.kind, "parts");
    if (large.kind === "parts")
      assert.deepEqual(
        (await collect(large.parts)).map((p) => p.length),
        [10, 1],
      );
  });

  test("released part buffers are reused", async () => {
    const plan = await planUpload(countingStream(8, 10).stream, 10, 1);
    assert.equal(plan.kind, "parts");
    if (plan.kind !== "parts") return;
    const seen = new Set<ArrayBufferLike>();
    for await (const part of plan.parts) {
      seen.add(part.buffer);
      plan.release(part);
    }
    assert.ok(seen.size <= 3, `${seen.size} distinct buffers for 8 parts`);
  });
});

describe("sending parts", () => {
  test("at most queueSize in flight, and the body is read only as parts are sent", async () => {
    const source = countingStream(40, 1000);
    let inFlight = 0;
    let maxInFlight = 0;
    let maxReadAhead = 0;
    let sent = 0;
    const count = await uploadParts(splitParts(source.stream, 1000), 3, undefined, async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      maxReadAhead = Math.max(maxReadAhead, source.read() - sent * 1000);
      await sleep(2);
      sent++;
      inFlight--;
    });
    assert.equal(count, 40);
    assert.equal(maxInFlight, 3);
    // In flight, plus what the stream machinery buffers: a few parts, never the whole body.
    assert.ok(maxReadAhead <= 8 * 1000, `read ${maxReadAhead} bytes ahead of what was sent`);
  });

  test("the first failure aborts the others and is thrown", async () => {
    const aborted: number[] = [];
    await assert.rejects(
      uploadParts(splitParts(Buffer.alloc(10_000), 1000), 4, undefined, async (_part, index, signal) => {
        if (index === 2) throw new Error("part 2 failed");
        await new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            aborted.push(index);
            resolve();
          });
          setTimeout(resolve, 1000);
        });
      }),
      /part 2 failed/,
    );
    assert.ok(aborted.length > 0);
  });

  test("a failing body is the caller's error, passed on unchanged", async () => {
    const body = new Readable({
      read() {
        this.destroy(new Error("kafka fetch failed"));
      },
    });
    await assert.rejects(
      uploadParts(splitParts(body, 10), 2, undefined, async () => {}),
      /kafka fetch failed/,
    );
  });

  test("forEachLimit bounds concurrency and stops at the first failure", async () => {
    let running = 0;
    let max = 0;
    const done: number[] = [];
    await forEachLimit(
      Array.from({ length: 20 }, (_, i) => i),
      4,
      async (i) => {
        running++;
        max = Math.max(max, running);
        await sleep(1);
        running--;
        done.push(i);
      },
    );
    assert.equal(max, 4);
    assert.equal(done.length, 20);
    await assert.rejects(
      forEachLimit([1, 2, 3], 1, async (i) => {
        if (i === 2) throw new Error("two");
      }),
      /two/,
    );
  });
});

describe("resumable reads", () => {
  const data = randomBytes(100_000);
  const transient = (error: unknown) => new TransientStorageError(`read failed: ${(error as Error).message}`);

  /** An object store in memory whose responses break after `breakAfter` bytes, `breaks` times. */
  function store(opts: { breaks: number; breakAfter: number; etag?: () => string }) {
    const opened: { start: number; end: number | undefined; etag: string | undefined }[] = [];
    let breaks = opts.breaks;
    return {
      opened,
      open: async (start: number, end: number | undefined, etag: string | undefined) => {
        opened.push({ start, end, etag });
        const last = Math.min(end ?? data.length - 1, data.length - 1);
        const slice = data.subarray(start, last + 1);
        const breakNow = breaks-- > 0;
        const body = Readable.from(
          (async function* () {
            if (!breakNow) {
              yield slice;
              return;
            }
            if (opts.breakAfter > 0) yield slice.subarray(0, opts.breakAfter);
            throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
          })(),
          { objectMode: false },
        );
        return { body, etag: opts.etag?.() ?? "v1", length: slice.length };
      },
    };
  }

  test("a dropped connection resumes at the next byte, pinned to the version first read", async () => {
    const s = store({ breaks: 3, breakAfter: 7000 });
    const { body: stream } = await openResumable({
      range: { start: 100, end: 90_099 },
      idleTimeoutMs: 1000,
      maxResumes: 5,
      open: s.open,
      classify: transient,
      changed: () => new PreconditionFailedError("changed"),
    });
    assert.deepEqual(await readAll(stream), data.subarray(100, 90_100));
    assert.deepEqual(s.opened, [
      { start: 100, end: 90_099, etag: undefined },
      { start: 7100, end: 90_099, etag: "v1" },
      { start: 14_100, end: 90_099, etag: "v1" },
      { start: 21_100, end: 90_099, etag: "v1" },
    ]);
  });

  test("a version change while reading is PreconditionFailed; too many breaks pass the error on", async () => {
    let version = 0;
    const changing = store({ breaks: 1, breakAfter: 10, etag: () => `v${++version}` });
    const { body: stream } = await openResumable({
      range: undefined,
      idleTimeoutMs: 1000,
      maxResumes: 5,
      open: changing.open,
      classify: transient,
      changed: () => new PreconditionFailedError("changed while being read"),
    });
    await assert.rejects(readAll(stream), PreconditionFailedError);

    // Breaking before the first byte, every time: no progress, so the third break passes the error on.
    const flaky = store({ breaks: 10, breakAfter: 0 });
    const { body: stream2 } = await openResumable({
      range: undefined,
      idleTimeoutMs: 1000,
      maxResumes: 2,
      open: flaky.open,
      classify: transient,
      changed: () => new PreconditionFailedError("changed"),
    });
    await assert.rejects(readAll(stream2), TransientStorageError);
  });

  test("a stalled stream is cut after idleTimeoutMs and resumed", async () => {
    let opens = 0;
    const { body: stream } = await openResumable({
      range: undefined,
      idleTimeoutMs: 50,
      maxResumes: 3,
      open: async (start) => {
        opens++;
        const stall = opens === 1;
        const body = new Readable({ read() {} });
        body.push(data.subarray(start, stall ? start + 10 : undefined));
        if (!stall) body.push(null); // the first response never ends: a stalled server
        return { body, etag: "v1", length: data.length - start };
      },
      classify: (error) => new TransientStorageError(String(error)),
      changed: () => new PreconditionFailedError("changed"),
    });
    assert.deepEqual(await readAll(stream), data);
    assert.equal(opens, 2);
  });

  test("errors opening the stream come out of openResumable itself", async () => {
    const missing: StorageError = new ObjectNotFoundError("get s3://b/k: not found");
    await assert.rejects(
      openResumable({
        range: undefined,
        idleTimeoutMs: 1000,
        maxResumes: 1,
        open: async () => {
          throw missing;
        },
        classify: transient,
        changed: () => new PreconditionFailedError("changed"),
      }),
      (error) => error === missing,
    );
  });
});
