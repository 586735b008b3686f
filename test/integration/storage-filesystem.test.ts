// What only the filesystem backend has to prove: its locks and conditional writes hold between
// processes, writes are atomic for readers, keys cannot leave the root (also through symbolic
// links), and what a crashed writer leaves behind (temp files, stale locks) is harmless.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ListEntry } from "../../engine/storage/backend.ts";
import { InvalidKeyError, PreconditionFailedError, StorageConfigError } from "../../engine/storage/errors.ts";
import { FilesystemBackend } from "../../engine/storage/filesystem.ts";
import { readAll } from "../../engine/storage/transfer.ts";
import { repoRoot } from "../stack/config.ts";

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "kbo-storage-fs-"));
});
after(() => rm(root, { recursive: true, force: true }));

/** Runs `body` (an async function body with `backend` and `worker` in scope) in a separate Node process. */
function inChildProcess(body: string, worker: number): Promise<string> {
  const script = `
    import { FilesystemBackend } from ${JSON.stringify(join(repoRoot, "engine/storage/filesystem.ts"))};
    import { PreconditionFailedError } from ${JSON.stringify(join(repoRoot, "engine/storage/errors.ts"))};
    const backend = new FilesystemBackend({ root: ${JSON.stringify(root)}, prefix: "shared" });
    const worker = ${worker};
    const out = await (async () => { ${body} })();
    process.stdout.write(JSON.stringify(out ?? null));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`worker ${worker} exited ${code}: ${stderr}`))));
  });
}

describe("filesystem backend", () => {
  test("compare-and-swap from 4 processes loses no update; one process wins a create race", async () => {
    const backend = new FilesystemBackend({ root, prefix: "shared" });
    await backend.put("counter", Buffer.from("0"));
    const increments = `
      let conflicts = 0;
      for (let done = 0; done < 25; ) {
        const { body, etag } = await backend.getBuffer("counter");
        try { await backend.put("counter", Buffer.from(String(Number(body.toString()) + 1)), { ifMatch: etag }); done++; }
        catch (e) { if (!(e instanceof PreconditionFailedError)) throw e; conflicts++; }
      }
      let won = false;
      try { await backend.put("lease", Buffer.from("worker " + worker), { ifNoneMatch: true }); won = true; }
      catch (e) { if (!(e instanceof PreconditionFailedError)) throw e; }
      return { conflicts, won };`;
    const results = (await Promise.all([0, 1, 2, 3].map((w) => inChildProcess(increments, w)))).map(
      (r) => JSON.parse(r) as { conflicts: number; won: boolean },
    );
    assert.equal((await backend.getBuffer("counter")).body.toString(), "100");
    assert.ok(
      results.some((r) => r.conflicts > 0),
      "the processes never collided",
    );
    const winners = results.flatMap((r, w) => (r.won ? [w] : []));
    assert.equal(winners.length, 1);
    assert.equal((await backend.getBuffer("lease")).body.toString(), `worker ${winners[0]}`);
  });

  test("readers never see a partly written object while it is replaced", async () => {
    const backend = new FilesystemBackend({ root, prefix: "atomic" });
    const size = 4 * 1024 * 1024;
    await backend.put("object.bin", Buffer.alloc(size, 0));
    let writing = true;
    const writer = (async () => {
      for (let v = 1; v <= 20; v++) await backend.put("object.bin", Buffer.alloc(size, v));
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const body = await readAll(await backend.get("object.bin"));
      assert.equal(body.length, size);
      const first = body[0] ?? -1;
      assert.ok(
        body.every((b) => b === first),
        `read ${reads} mixes two versions`,
      );
      reads++;
    }
    await writer;
    assert.ok(reads > 0);
  });

  test("keys cannot leave the root, also through a symbolic link", async () => {
    const outside = await mkdtemp(join(tmpdir(), "kbo-storage-outside-"));
    try {
      await mkdir(join(root, "jail"), { recursive: true });
      await symlink(outside, join(root, "jail", "link"));
      await writeFile(join(outside, "victim"), "outside the root");
      const backend = new FilesystemBackend({ root, prefix: "jail" });
      await assert.rejects(backend.put("link/planted", Buffer.from("x")), InvalidKeyError);
      await assert.rejects(backend.getBuffer("link/victim"), InvalidKeyError);
      await assert.rejects(backend.stat("link/victim"), InvalidKeyError);
      await assert.rejects(backend.delete(["link/victim"]), InvalidKeyError);
      await assert.rejects(async () => {
        for await (const _ of backend.list("link/")) break;
      }, InvalidKeyError);
      await assert.rejects(backend.put("../../etc/passwd", Buffer.from("x")), InvalidKeyError);
      await assert.rejects(backend.put(".kbo-lock-x", Buffer.from("x")), InvalidKeyError);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  test("a crashed writer's temp file and stale lock are ignored and broken", async () => {
    const backend = new FilesystemBackend({ root, prefix: "crash", lockStaleMs: 500 });
    await backend.put("data/object.bin", Buffer.from("v1"));
    const dir = join(root, "crash", "data");
    await writeFile(join(dir, ".kbo-tmp-left-behind"), "half a segment");
    // The lock a crashed writer of data/object.bin left, a minute old.
    const { createHash } = await import("node:crypto");
    const lock = join(dir, `.kbo-lock-${createHash("sha256").update("object.bin").digest("hex").slice(0, 32)}`);
    await writeFile(lock, "crashed-host 1 token");
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);

    const listed: ListEntry[] = [];
    for await (const entry of backend.list("")) listed.push(entry);
    assert.deepEqual(
      listed.map((e) => (e.type === "object" ? e.key : e.prefix)),
      ["data/object.bin"],
    );
    const { etag } = await backend.stat("data/object.bin");
    await backend.put("data/object.bin", Buffer.from("v2"), { ifMatch: etag });
    assert.equal((await backend.getBuffer("data/object.bin")).body.toString(), "v2");
    await assert.rejects(backend.put("data/object.bin", Buffer.from("v3"), { ifMatch: etag }), PreconditionFailedError);
  });

  test("a root that does not exist is a configuration error naming it", async () => {
    const backend = new FilesystemBackend({ root: join(root, "not-mounted"), prefix: "" });
    await assert.rejects(backend.put("a", Buffer.from("x")), (error: Error) => {
      assert.ok(error instanceof StorageConfigError, error.name);
      assert.match(error.message, /not-mounted/);
      return true;
    });
  });
});
