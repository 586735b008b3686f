// Headers the Rust engine adds to what it backs up. With its default `include_offset_headers:
// true` it appends to every record's headers `x-original-offset` and `x-original-timestamp`
// (each the record's own offset and timestamp as an i64, little-endian), and `x-source-cluster`
// after them when a source cluster id is set (research/engine-anchor.md §1.6). The record's
// producer never wrote them. A restore of a KBAK v1 set drops them unless told to keep them
// (docs/migration.md): only that trailing run, and only when the values are the record's own, so
// headers of those names that a producer wrote stay.
import type { BackupRecord } from "../format/record.ts";

export type RustOffsetHeaders = "Drop" | "Keep";

const i64le = (buf: Buffer | null, expected: number) =>
  buf !== null && buf.length === 8 && buf.readBigInt64LE(0) === BigInt(expected);

/** The record without the engine's appended offset headers; the same record when it has none. */
export function withoutRustOffsetHeaders(r: BackupRecord): BackupRecord {
  const h = r.headers;
  let end = h.length;
  if (h[end - 1]?.key === "x-source-cluster") end--;
  const offset = h[end - 2];
  const timestamp = h[end - 1];
  if (
    offset?.key !== "x-original-offset" ||
    timestamp?.key !== "x-original-timestamp" ||
    !i64le(offset.value, r.offset) ||
    !i64le(timestamp.value, r.timestamp)
  ) {
    return r;
  }
  return { ...r, headers: h.slice(0, end - 2) };
}
