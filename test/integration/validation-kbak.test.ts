// Validating a backup the Rust engine wrote (KBAK v1 segments, snake_case manifest) in PVC-style
// storage (a real folder through the filesystem backend): the deep check decodes it, and a
// flipped byte or a missing object is found and named. Byte layout from
// research/engine-anchor.md §1.2.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { crc32, zstdCompressSync } from "node:zlib";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { openStorage } from "../../engine/storage/open.ts";
import { runValidation } from "../../engine/validation/run.ts";

const root = mkdtempSync(join(tmpdir(), "kbo-val-kbak-"));
mkdirSync(join(root, "backups"));
let store: StorageBackend;

function kbakRecord(offset: number, timestamp: number, value: string): Buffer {
  const key = Buffer.from(`k${offset}`);
  const v = Buffer.from(value);
  const body = Buffer.alloc(8 + 8 + 4 + key.length + 4 + v.length + 2);
  let at = body.writeBigInt64LE(BigInt(timestamp), 0);
  at = body.writeBigInt64LE(BigInt(offset), at);
  at = body.writeInt32LE(key.length, at);
  at += key.copy(body, at);
  at = body.writeInt32LE(v.length, at);
  at += v.copy(body, at);
  body.writeUInt16LE(0, at);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  return Buffer.concat([length, body]);
}

function kbakSegment(records: Array<{ offset: number; timestamp: number }>): { bytes: Buffer; plain: number } {
  const plain = Buffer.concat(records.map((r) => kbakRecord(r.offset, r.timestamp, `value ${r.offset}`)));
  const payload = zstdCompressSync(plain);
  const header = Buffer.alloc(32);
  header.write("KBAK", 0, "latin1");
  header.writeUInt8(1, 4);
  header.writeUInt8(1, 5);
  header.writeBigUInt64LE(BigInt(records.length), 8);
  header.writeBigInt64LE(BigInt(records[0]?.offset ?? -1), 16);
  header.writeBigInt64LE(BigInt(records.at(-1)?.offset ?? -1), 24);
  const footer = Buffer.alloc(8);
  footer.writeUInt32LE(crc32(Buffer.concat([header, payload])), 0);
  footer.write("BKAE", 4, "latin1");
  return { bytes: Buffer.concat([header, payload, footer]), plain: plain.length };
}

const backupId = "rust-daily-001";
const keys: string[] = [];

before(async () => {
  store = await openStorage({ storageType: "pvc", pvc: { claimName: "backups" } }, async () => "", { pvcMountRoot: root });
  const segments = [];
  // Two segments of 10 records; timestamps 1000..1019.
  for (const first of [0, 10]) {
    const records = Array.from({ length: 10 }, (_, i) => ({ offset: first + i, timestamp: 1000 + first + i }));
    const { bytes, plain } = kbakSegment(records);
    const key = `${backupId}/topics/orders/partition=0/segment-${String(first).padStart(20, "0")}.bin.zst`;
    keys.push(key);
    await store.put(key, bytes);
    segments.push({
      key,
      start_offset: first,
      end_offset: first + 9,
      start_timestamp: 1000 + first,
      end_timestamp: 1009 + first,
      record_count: 10,
      uncompressed_size: plain,
      compressed_size: bytes.length,
    });
  }
  const manifest = {
    backup_id: backupId,
    created_at: 1736899200000,
    source_cluster_id: null,
    source_brokers: [],
    compression: "zstd",
    topics: [{ name: "orders", original_partition_count: 1, partitions: [{ partition_id: 0, segments }] }],
  };
  await store.put(`${backupId}/manifest.json`, Buffer.from(JSON.stringify(manifest, null, 2)));
});

describe("validation of a Rust-engine (KBAK v1) backup", () => {
  test("the deep check decodes every record; a flipped byte is named", async () => {
    const ok = await runValidation(store, {
      backupId,
      checks: { deepIntegrity: {}, messageCount: {}, offsetRange: {} },
      validation: { name: "rust", triggeredBy: "test" },
    });
    assert.equal(ok.result, "Pass", JSON.stringify(ok.checks));
    assert.equal(ok.backup.writer, "kafka-backup-rs");
    assert.equal(
      ok.segments?.reduce((n, s) => n + (s.records ?? 0), 0),
      20,
    );

    const victim = keys[1] as string;
    const { body } = await store.getBuffer(victim);
    const flipped = Buffer.from(body);
    flipped[40] = (flipped[40] as number) ^ 0x10;
    await store.put(victim, flipped);
    try {
      const bad = await runValidation(store, {
        backupId,
        checks: { deepIntegrity: {} },
        validation: { name: "rust", triggeredBy: "test" },
      });
      const deep = bad.checks[0];
      assert.equal(deep?.outcome, "Failed");
      assert.match(deep?.message ?? "", /segment-00000000000000000010\.bin\.zst: .*CRC/);
      assert.deepEqual(
        bad.segments?.filter((s) => !s.ok).map((s) => s.key),
        [victim],
      );
    } finally {
      await store.put(victim, body);
    }
  });

  test("a missing segment object is named too", async () => {
    const victim = keys[0] as string;
    const { body } = await store.getBuffer(victim);
    await store.delete([victim]);
    try {
      const r = await runValidation(store, {
        backupId,
        checks: { deepIntegrity: {} },
        validation: { name: "r", triggeredBy: "t" },
      });
      assert.match(r.checks[0]?.message ?? "", /segment-00000000000000000000\.bin\.zst: missing from storage/);
    } finally {
      await store.put(victim, body);
    }
  });
});
