// The KBAK v1 reader, on byte fixtures laid out by hand from the Rust engine's documented format
// (research/engine-anchor.md §1.2, §1.4) — not by any writer of ours.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FormatError } from "../../engine/format/bytes.ts";
import { decodeKbakSegment, isKbakSegment } from "../../engine/format/kbak.ts";
import { parseManifest } from "../../engine/format/manifest.ts";
import { type FixtureRecord, kbakSegment } from "../support/kbak.ts";

const fixture: FixtureRecord[] = [
  {
    timestamp: 1736899200000,
    offset: 0,
    key: Buffer.from("order-1"),
    value: Buffer.from('{"total":10}'),
    headers: [["trace", Buffer.from("abc")]],
  },
  { timestamp: 1736899200001, offset: 1, key: null, value: Buffer.alloc(0), headers: [] },
  {
    timestamp: 1736899100000,
    offset: 5,
    key: Buffer.alloc(0),
    value: null,
    headers: [
      ["dup", Buffer.from("a")],
      ["dup", Buffer.from("b")],
      ["x-null", null],
    ],
  },
];

describe("format: KBAK v1 (Rust engine) segments", () => {
  for (const [compression, name] of [
    [0, "none"],
    [1, "zstd"],
    [2, "lz4 block with size prefix"],
  ] as const) {
    test(`reads a ${name} segment record by record`, () => {
      const bytes = kbakSegment(fixture, compression);
      assert.equal(isKbakSegment(bytes), true);
      const { info, records } = decodeKbakSegment(bytes);
      assert.deepEqual(info, { recordCount: 3, startOffset: 0, endOffset: 5, codec: ["none", "zstd", "lz4"][compression] });
      assert.deepEqual(
        records,
        fixture.map((r) => ({
          offset: r.offset,
          timestamp: r.timestamp,
          timestampType: "CreateTime",
          key: r.key,
          value: r.value,
          headers: r.headers.map(([key, value]) => ({ key, value })),
        })),
      );
    });
  }

  test("a corrupted KBAK segment fails its CRC", () => {
    const bytes = kbakSegment(fixture, 1);
    bytes[40] = (bytes[40] as number) ^ 0xff;
    assert.throws(
      () => decodeKbakSegment(bytes, "daily-001/topics/orders/partition=0/segment-0.bin.zst"),
      (err: FormatError) => {
        assert.match(err.message, /segment-0\.bin\.zst: CRC mismatch/);
        return true;
      },
    );
  });

  test("an unknown version is refused", () => {
    const bytes = kbakSegment(fixture, 0);
    bytes.writeUInt8(2, 4);
    assert.throws(() => decodeKbakSegment(bytes), /version 2 is not supported/);
  });
});

describe("format: manifests", () => {
  test("a KBAK v1 manifest reads into our model", () => {
    const kbak = {
      backup_id: "daily-001",
      created_at: 1736899200000,
      source_cluster_id: null,
      source_brokers: [],
      compression: "zstd",
      topics: [
        {
          name: "orders",
          original_partition_count: 3,
          partitions: [
            {
              partition_id: 0,
              segments: [
                {
                  key: "daily-001/topics/orders/partition=0/segment-00000000000000010000.bin.zst",
                  start_offset: 10000,
                  end_offset: 10999,
                  start_timestamp: 1736899260001,
                  end_timestamp: 1736899270000,
                  record_count: 1000,
                  uncompressed_size: 123456,
                  compressed_size: 23456,
                },
                {
                  key: "daily-001/topics/orders/partition=0/segment-00000000000000000000.bin.zst",
                  start_offset: 0,
                  end_offset: 9999,
                  start_timestamp: 1736899200000,
                  end_timestamp: 1736899260000,
                  record_count: 10000,
                  uncompressed_size: 1234567,
                  compressed_size: 234567,
                },
              ],
              gaps: [{ start_offset: 12000, end_offset: 13000, reason: "offset_out_of_range", detected_at: 1736899300000 }],
            },
          ],
        },
      ],
    };
    const m = parseManifest(JSON.stringify(kbak));
    assert.equal(m.writer, "kafka-backup-rs");
    assert.equal(m.backupId, "daily-001");
    assert.equal(m.topics[0]?.partitionCount, 3);
    const p0 = m.topics[0]?.partitions[0];
    assert.deepEqual(
      p0?.segments.map((s) => [s.firstOffset, s.lastOffset, s.recordCount, s.codec, s.format, s.minTimestamp]),
      [
        [0, 9999, 10000, "zstd", "kbak-v1", undefined],
        [10000, 10999, 1000, "zstd", "kbak-v1", undefined],
      ],
    );
    assert.deepEqual(p0?.gaps, [{ start: 12000, end: 13000, reason: "offset_out_of_range", detectedAt: 1736899300000 }]);
  });

  test("bad manifests are refused with the file named", () => {
    assert.throws(() => parseManifest("{", "b1/manifest.json"), /b1\/manifest\.json: not JSON/);
    assert.throws(() => parseManifest("{}", "b1/manifest.json"), /neither/);
    assert.throws(
      () => parseManifest(JSON.stringify({ format: "kafka-backup-operator/manifest", formatVersion: 9 })),
      /version 9 is newer/,
    );
    assert.throws(
      () =>
        parseManifest(
          JSON.stringify({ backup_id: "x", created_at: 1, topics: [{ name: "t", partitions: [{ partition_id: "0" }] }] }),
        ),
      /partition_id: expected a number/,
    );
  });
});
