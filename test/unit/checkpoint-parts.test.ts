// A checkpoint's segment list in sealed parts (engine/backup/checkpoint.ts): what is written per
// segment stays small however long the run, and reading joins the parts back in order. The store
// is a Map: the logic under test is the layout, not the storage backend.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CHECKPOINT_PART_SEGMENTS,
  type Checkpoint,
  checkpointPartKey,
  emptyCheckpoint,
  parseCheckpoint,
  readCheckpoint,
  storeCheckpoint,
  withSegment,
} from "../../engine/backup/checkpoint.ts";
import type { ManifestSegment } from "../../engine/format/manifest.ts";

const key = "set/topics/t/partition=0/checkpoint.json";

function memoryStore() {
  const objects = new Map<string, Buffer>();
  const puts: Array<{ key: string; bytes: number }> = [];
  return {
    objects,
    puts,
    async put(k: string, body: Buffer) {
      objects.set(k, body);
      puts.push({ key: k, bytes: body.length });
    },
    async getBuffer(k: string) {
      const body = objects.get(k);
      if (!body) throw new Error(`no object ${k}`);
      return { body };
    },
  };
}

function segment(first: number): ManifestSegment {
  return {
    key: `set/topics/t/partition=0/segment-${String(first).padStart(20, "0")}.bin`,
    format: "kbos-v2",
    firstOffset: first,
    lastOffset: first + 9,
    recordCount: 10,
    minTimestamp: first,
    maxTimestamp: first + 9,
    codec: "none",
    encrypted: false,
    storedBytes: 100,
    sha256: "0".repeat(64),
  };
}

test("a checkpoint written after each of 1,000 segments stays small and reads back whole", async () => {
  const store = memoryStore();
  let cp: Checkpoint = emptyCheckpoint("t", 0, 0);
  let parts = 0;
  for (let i = 0; i < 1000; i++) {
    cp = withSegment(cp, segment(i * 10), i * 10 + 10, 0);
    parts = await storeCheckpoint(store, key, cp, parts);
  }
  assert.equal(parts, Math.floor(1000 / CHECKPOINT_PART_SEGMENTS));
  // Each part written once; the checkpoint never holds more than a part's worth of segments.
  const partWrites = store.puts.filter((p) => p.key !== key);
  assert.equal(partWrites.length, parts);
  const stored = parseCheckpoint(store.objects.get(key)?.toString("utf8") ?? "", key);
  assert.equal(stored.formatVersion, 2);
  assert.equal(stored.segmentParts, parts);
  assert.equal(stored.segments.length, 1000 - parts * CHECKPOINT_PART_SEGMENTS);
  const largest = Math.max(...store.puts.filter((p) => p.key === key).map((p) => p.bytes));
  const whole = Buffer.byteLength(JSON.stringify(cp));
  assert.ok(largest * 3 < whole, `largest checkpoint ${largest} B, the whole list ${whole} B`);

  const read = await readCheckpoint(store, key);
  assert.deepEqual(read, cp);
});

test("a run that resumes writes the parts again with the same bytes, and a short list stays version 1", async () => {
  const store = memoryStore();
  let cp: Checkpoint = emptyCheckpoint("t", 0, 0);
  for (let i = 0; i < CHECKPOINT_PART_SEGMENTS + 3; i++) cp = withSegment(cp, segment(i * 10), i * 10 + 10, 0);
  assert.equal(await storeCheckpoint(store, key, cp), 1);
  const first = store.objects.get(checkpointPartKey(key, 0));
  const resumed = await readCheckpoint(store, key);
  const next = withSegment(resumed, segment(10_000), 10_010, 0);
  assert.equal(await storeCheckpoint(store, key, next, 0), 1);
  assert.deepEqual(store.objects.get(checkpointPartKey(key, 0)), first);
  assert.deepEqual(await readCheckpoint(store, key), next);

  const short = memoryStore();
  const one = withSegment(emptyCheckpoint("t", 1, 0), segment(0), 10, 0);
  assert.equal(await storeCheckpoint(short, key, one), 0);
  assert.equal(parseCheckpoint(short.objects.get(key)?.toString("utf8") ?? "", key).formatVersion, 1);
  assert.deepEqual(await readCheckpoint(short, key), one);
});

test("a missing or foreign part is an error naming it, never a shorter list", async () => {
  const store = memoryStore();
  let cp: Checkpoint = emptyCheckpoint("t", 0, 0);
  for (let i = 0; i < CHECKPOINT_PART_SEGMENTS; i++) cp = withSegment(cp, segment(i * 10), i * 10 + 10, 0);
  await storeCheckpoint(store, key, cp);
  store.objects.set(checkpointPartKey(key, 0), Buffer.from(JSON.stringify({ format: "other", segments: [] })));
  await assert.rejects(readCheckpoint(store, key), /checkpoint-part-000000\.json: not a checkpoint part/);
  store.objects.delete(checkpointPartKey(key, 0));
  await assert.rejects(readCheckpoint(store, key), /no object .*checkpoint-part-000000\.json/);
});
