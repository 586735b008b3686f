import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidKeyError } from "../../engine/storage/errors.ts";
import { FilesystemBackend } from "../../engine/storage/filesystem.ts";
import {
  compareKeys,
  joinKey,
  keyProblem,
  normalizePrefix,
  stripPrefix,
  validateKey,
  validateListPrefix,
} from "../../engine/storage/keys.ts";

describe("storage keys", () => {
  test("valid keys pass", () => {
    for (const key of [
      "manifest.json",
      "backup-1/topics/orders/partition=0/segment-00000000000000000042.bin.zst",
      "a/b/c",
      "..hidden/x", // dots inside a segment are fine
      "x.",
      "ümlaut/日本",
      "a".repeat(1024),
    ]) {
      assert.equal(keyProblem(key), undefined, key);
    }
  });

  test("each invalid key is refused with a reason naming the problem", () => {
    const cases: [string, RegExp][] = [
      ["", /empty/],
      ["/absolute", /starts with '\/'/],
      ["a//b", /empty segment/],
      ["trailing/", /empty segment/],
      ["..", /'\.\.' segment/],
      ["a/../b", /'\.\.' segment/],
      ["../escape", /'\.\.' segment/],
      ["a/./b", /'\.' segment/],
      ["nul\u0000byte", /NUL/],
      ["line\nbreak", /control character/],
      ["del\u007f", /control character/],
      ["a".repeat(1025), /longer than 1024 bytes/],
      ["é".repeat(513), /longer than 1024 bytes/], // 1026 bytes in UTF-8
    ];
    for (const [key, reason] of cases) {
      assert.match(keyProblem(key) ?? "", reason, JSON.stringify(key));
      assert.throws(
        () => validateKey(key),
        (error: Error) => {
          assert.ok(error instanceof InvalidKeyError);
          assert.equal(error.reason, "InvalidStorageKey");
          assert.ok(error.message.includes(JSON.stringify(key)), error.message);
          return true;
        },
      );
    }
  });

  test("prefixes: trailing slashes dropped, everything else validated", () => {
    assert.equal(normalizePrefix(undefined), "");
    assert.equal(normalizePrefix(null), "");
    assert.equal(normalizePrefix(""), "");
    assert.equal(normalizePrefix("backups/"), "backups");
    assert.equal(normalizePrefix("team/backups//"), "team/backups");
    assert.throws(() => normalizePrefix("/backups", "s3.prefix"), /s3\.prefix.*starts with '\/'/);
    assert.throws(() => normalizePrefix("a/../b"), InvalidKeyError);
  });

  test("listing prefixes may end in '/' or mid-segment", () => {
    for (const prefix of ["", "a/", "a/b", "topics/orders/partition=1"]) assert.equal(validateListPrefix(prefix), prefix);
    for (const prefix of ["/", "a//", "../", "a/../"]) assert.throws(() => validateListPrefix(prefix), InvalidKeyError, prefix);
  });

  test("join and strip are inverse", () => {
    assert.equal(joinKey("", "k"), "k");
    assert.equal(joinKey("p/q", "k"), "p/q/k");
    assert.equal(joinKey("p", ""), "p/");
    assert.equal(stripPrefix("p/q", "p/q/k/l"), "k/l");
    assert.equal(stripPrefix("", "k"), "k");
  });

  test("keys order by UTF-8 bytes, as S3 and GCS list them", () => {
    const keys = ["b", "a/", "a-b", "a", "\u{1F600}", "\uFFFD"];
    assert.deepEqual([...keys].sort(compareKeys), ["a", "a-b", "a/", "b", "\uFFFD", "\u{1F600}"]);
  });

  test("the filesystem backend refuses reserved names and escapes without touching the disk", () => {
    const backend = new FilesystemBackend({ root: "/nonexistent/root", prefix: "sub" });
    assert.equal(backend.location("a/b"), "file:///nonexistent/root/sub/a/b");
    assert.throws(() => backend.location("../x"), InvalidKeyError);
    assert.throws(() => backend.location("a/.kbo-lock-1"), /reserved/);
    assert.throws(() => new FilesystemBackend({ root: "/r", prefix: ".kbo-tmp" }), /reserved/);
  });
});
