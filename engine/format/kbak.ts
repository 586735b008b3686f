// Reader for the Rust engine's KBAK v1 segments (engine-anchor §1.2), so its backups restore here.
//   header 32 B: "KBAK", version u8 = 1, compression u8 (0 none, 1 zstd, 2 lz4), 2 reserved,
//                record_count u64 LE, start_offset i64 LE, end_offset i64 LE
//   payload:     compress(records); lz4 is a raw block behind a 4-byte LE uncompressed length
//   footer 8 B:  crc32 u32 LE over header + payload, then "BKAE"
// KBAK keeps neither the timestamp type (always CreateTime) nor null header values (written as
// empty), so the records read back carry exactly what the file holds.
import { crc32, zstdDecompressSync } from "node:zlib";
import lz4 from "lz4-napi";
import { ByteReader, FormatError } from "./bytes.ts";
import type { Codec } from "./codec.ts";
import type { BackupRecord, RecordHeader } from "./record.ts";

export const KBAK_MAGIC = Buffer.from("KBAK");
export const KBAK_FOOTER_MAGIC = Buffer.from("BKAE");
const HEADER = 32;
const FOOTER = 8;

export interface KbakSegmentInfo {
  recordCount: number;
  startOffset: number;
  endOffset: number;
  codec: Codec;
}

export function isKbakSegment(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes.subarray(0, 4).equals(KBAK_MAGIC);
}

export function decodeKbakSegment(bytes: Buffer, name = "KBAK segment"): { info: KbakSegmentInfo; records: BackupRecord[] } {
  if (bytes.length < HEADER + FOOTER) throw new FormatError(`${name}: ${bytes.length} bytes is too short`);
  const head = new ByteReader(bytes.subarray(0, HEADER), name);
  if (!head.bytes(4).equals(KBAK_MAGIC)) throw new FormatError(`${name}: bad magic`);
  const version = head.u8();
  if (version !== 1) throw new FormatError(`${name}: KBAK version ${version} is not supported`);
  const compression = head.u8();
  head.bytes(2);
  const recordCountLo = head.u32le();
  const recordCountHi = head.u32le();
  const startOffset = head.i64le();
  const endOffset = head.i64le();
  const recordCount = recordCountHi * 2 ** 32 + recordCountLo;
  const codec: Codec | undefined = ({ 0: "none", 1: "zstd", 2: "lz4" } as Record<number, Codec>)[compression];
  if (!codec) throw new FormatError(`${name}: unknown compression ${compression}`);

  const footer = bytes.subarray(bytes.length - FOOTER);
  if (!footer.subarray(4).equals(KBAK_FOOTER_MAGIC)) throw new FormatError(`${name}: bad footer magic`);
  const stored = footer.readUInt32LE(0);
  const actual = crc32(bytes.subarray(0, bytes.length - FOOTER));
  if (stored !== actual)
    throw new FormatError(`${name}: CRC mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})`);

  const payload = bytes.subarray(HEADER, bytes.length - FOOTER);
  let block: Buffer;
  try {
    block = codec === "zstd" ? zstdDecompressSync(payload) : codec === "lz4" ? lz4.uncompressSync(payload) : payload;
  } catch (err) {
    throw new FormatError(`${name}: ${codec} payload does not decompress: ${(err as Error).message}`);
  }

  const r = new ByteReader(block, name);
  const records: BackupRecord[] = [];
  for (let i = 0; i < recordCount; i++) {
    const length = r.u32le();
    const end = r.pos + length;
    const timestamp = r.i64le();
    const offset = r.i64le();
    const key = lengthPrefixed(r, r.i32le());
    const value = lengthPrefixed(r, r.i32le());
    const headerCount = r.u16le();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const headerKey = r.bytes(r.u16le()).toString("utf8");
      headers.push({ key: headerKey, value: lengthPrefixed(r, r.i32le()) });
    }
    if (r.pos !== end) throw new FormatError(`${name}: record ${i} length ${length} does not match its fields`);
    records.push({ offset, timestamp, timestampType: "CreateTime", key, value, headers });
  }
  if (r.remaining !== 0) throw new FormatError(`${name}: ${r.remaining} bytes after record ${recordCount}`);
  return { info: { recordCount, startOffset, endOffset, codec }, records };
}

function lengthPrefixed(r: ByteReader, length: number): Buffer | null {
  if (length === -1) return null;
  if (length < -1) throw new FormatError(`negative length ${length}`);
  return r.bytes(length);
}
