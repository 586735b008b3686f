import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { ByteReader, ByteWriter, FormatError } from "../../engine/format/bytes.ts";
import { codecs } from "../../engine/format/codec.ts";
import type { BackupRecord } from "../../engine/format/record.ts";
import {
  decodeSegment,
  type EncryptionError,
  encodeSegment,
  HEADER_BYTES,
  readSegmentInfo,
} from "../../engine/format/segment.ts";

/** Every shape of record the format must keep apart. */
function hostileRecords(): BackupRecord[] {
  const base = 1_700_000_000_000;
  return [
    { offset: 100, timestamp: base + 500, timestampType: "CreateTime", key: null, value: Buffer.from("null key"), headers: [] },
    { offset: 101, timestamp: base, timestampType: "CreateTime", key: Buffer.alloc(0), value: Buffer.alloc(0), headers: [] },
    { offset: 102, timestamp: base + 10, timestampType: "CreateTime", key: Buffer.from("tombstone"), value: null, headers: [] },
    {
      offset: 105, // a hole: offsets 103-104 were a transaction marker and compacted away
      timestamp: base - 86_400_000 * 40, // out of order, more than 2^31 ms before its neighbours
      timestampType: "LogAppendTime",
      key: randomBytes(64),
      value: randomBytes(200_000),
      headers: [
        { key: "dup", value: Buffer.from("1") },
        { key: "dup", value: Buffer.from("2") },
        { key: "null-valued", value: null },
        { key: "empty-valued", value: Buffer.alloc(0) },
        { key: "ünïcödé", value: Buffer.from([0, 255, 1]) },
      ],
    },
    {
      offset: 2 ** 40,
      timestamp: base + 1,
      timestampType: "CreateTime",
      key: Buffer.from("k"),
      value: Buffer.from("far offset"),
      headers: [],
    },
  ];
}

describe("format: varints", () => {
  test("zigzag varints round-trip across the safe integer range", () => {
    const values = [0, 1, -1, 63, -64, 64, 127, 128, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 40 + 7, 2 ** 52 - 1, -(2 ** 52) + 1];
    const w = new ByteWriter(4);
    for (const v of values) w.varint(v);
    const r = new ByteReader(Buffer.from(w.view()), "test");
    assert.deepEqual(
      values.map(() => r.varint()),
      values,
    );
    assert.equal(r.remaining, 0);
  });

  test("Kafka's own encoding: 300 is ac 02 unsigned, -1 is 01 zigzag", () => {
    const w = new ByteWriter();
    w.uvarint(300);
    w.varint(-1);
    assert.deepEqual([...w.view()], [0xac, 0x02, 0x01]);
  });
});

describe("format: segments", () => {
  for (const codec of codecs) {
    test(`every record property survives a round trip with ${codec}`, async () => {
      const records = hostileRecords();
      const encoded = await encodeSegment(records, { partition: 7, codec, level: codec === "gzip" ? 6 : 3 });
      const { info, records: decoded } = await decodeSegment(encoded.bytes);
      assert.deepEqual(decoded, records);
      assert.equal(info.partition, 7);
      assert.equal(info.recordCount, 5);
      assert.equal(info.firstOffset, 100);
      assert.equal(info.lastOffset, 2 ** 40);
      assert.equal(info.minTimestamp, Math.min(...records.map((r) => r.timestamp)));
      assert.equal(info.maxTimestamp, Math.max(...records.map((r) => r.timestamp)));
      assert.equal(info.codec, codec);
      assert.equal(encoded.sha256.length, 64);
      assert.deepEqual({ ...readSegmentInfo(encoded.bytes), fingerprint: undefined }, { ...info, fingerprint: undefined });
    });
  }

  test("compression really compresses repetitive values", async () => {
    const records: BackupRecord[] = Array.from({ length: 1000 }, (_, i) => ({
      offset: i,
      timestamp: 1_700_000_000_000 + i,
      timestampType: "CreateTime",
      key: Buffer.from(`key-${i % 10}`),
      value: Buffer.from(`{"order":${i},"status":"shipped","padding":"${"x".repeat(200)}"}`),
      headers: [{ key: "type", value: Buffer.from("order") }],
    }));
    const plain = await encodeSegment(records, { partition: 0, codec: "none" });
    for (const codec of ["zstd", "lz4", "gzip"] as const) {
      const packed = await encodeSegment(records, { partition: 0, codec });
      assert.ok(packed.bytes.length * 5 < plain.bytes.length, `${codec}: ${packed.bytes.length} vs ${plain.bytes.length}`);
    }
  });

  test("one flipped byte anywhere is detected", async () => {
    const { bytes } = await encodeSegment(hostileRecords(), { partition: 0, codec: "zstd" });
    for (const at of [0, 5, 20, HEADER_BYTES + 3, Math.floor(bytes.length / 2), bytes.length - 6, bytes.length - 1]) {
      const copy = Buffer.from(bytes);
      copy[at] = (copy[at] as number) ^ 0x40;
      await assert.rejects(decodeSegment(copy, { name: "seg" }), FormatError, `flip at ${at}`);
    }
  });

  test("a truncated object is detected", async () => {
    const { bytes } = await encodeSegment(hostileRecords(), { partition: 0, codec: "lz4" });
    await assert.rejects(decodeSegment(bytes.subarray(0, bytes.length - 100)), /length|footer|CRC/);
  });

  test("out-of-range compression levels are refused", async () => {
    await assert.rejects(encodeSegment(hostileRecords(), { partition: 0, codec: "zstd", level: 23 }), /level 23 is outside 1–22/);
    await assert.rejects(encodeSegment(hostileRecords(), { partition: 0, codec: "gzip", level: 0 }), /outside 1–9/);
    await assert.doesNotReject(encodeSegment(hostileRecords(), { partition: 0, codec: "zstd", level: 22 }));
  });

  test("descending offsets are refused", async () => {
    const [a, b] = hostileRecords();
    await assert.rejects(encodeSegment([b as BackupRecord, a as BackupRecord], { partition: 0, codec: "none" }), /ascend/);
  });
});

describe("format: encryption at rest", () => {
  const key = randomBytes(32);

  test("encrypted segments round-trip with the key and hold no plaintext", async () => {
    const records = hostileRecords();
    const marker = Buffer.from("PLAINTEXT-MARKER-".repeat(20));
    records.push({ offset: 2 ** 40 + 1, timestamp: 1, timestampType: "CreateTime", key: null, value: marker, headers: [] });
    for (const codec of ["none", "zstd"] as const) {
      const { bytes, info } = await encodeSegment(records, { partition: 0, codec, encryptionKey: key });
      assert.equal(info.encrypted, true);
      assert.equal(bytes.indexOf(Buffer.from("PLAINTEXT-MARKER")), -1);
      assert.equal(bytes.indexOf(Buffer.from("tombstone")), -1);
      assert.deepEqual((await decodeSegment(bytes, { encryptionKey: key })).records, records);
    }
  });

  test("no key, a wrong key and tampering each fail clearly", async () => {
    const { bytes } = await encodeSegment(hostileRecords(), { partition: 0, codec: "zstd", encryptionKey: key });
    await assert.rejects(decodeSegment(bytes, { name: "orders/0" }), (err: EncryptionError) => {
      assert.equal(err.reason, "EncryptionKeyMissing");
      assert.match(err.message, /orders\/0 is encrypted and no encryption key was given/);
      return true;
    });
    await assert.rejects(decodeSegment(bytes, { encryptionKey: randomBytes(32) }), (err: EncryptionError) => {
      assert.equal(err.reason, "EncryptionKeyMismatch");
      assert.match(err.message, /encrypted with another key/);
      return true;
    });
    // Tampering with the ciphertext and fixing up the CRC still fails GCM authentication.
    const { crc32 } = await import("node:zlib");
    const tampered = Buffer.from(bytes);
    const at = HEADER_BYTES + 20;
    tampered[at] = (tampered[at] as number) ^ 1;
    tampered.writeUInt32BE(crc32(tampered.subarray(0, tampered.length - 8)), tampered.length - 8);
    await assert.rejects(decodeSegment(tampered, { encryptionKey: key }), /fails authentication/);
    await assert.rejects(
      encodeSegment(hostileRecords(), { partition: 0, codec: "none", encryptionKey: randomBytes(16) }),
      /32 bytes/,
    );
  });
});
