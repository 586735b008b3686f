// KBAK v1 (the Rust engine's segment format) laid out byte by byte from its documented layout
// (research/engine-anchor.md §1.2, §1.4) — not by any writer of ours — for the reader's unit
// tests and the migration restore test.
import { crc32, zstdCompressSync } from "node:zlib";
import lz4 from "lz4-napi";

export interface FixtureRecord {
  timestamp: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<[string, Buffer | null]>;
}

function i32le(v: number) {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}
function u16le(v: number) {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}
function i64le(v: number) {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(v));
  return b;
}
const withLength = (b: Buffer | null) => (b === null ? i32le(-1) : Buffer.concat([i32le(b.length), b]));

function kbakRecord(r: FixtureRecord): Buffer {
  const body = Buffer.concat([
    i64le(r.timestamp),
    i64le(r.offset),
    withLength(r.key),
    withLength(r.value),
    u16le(r.headers.length),
    ...r.headers.flatMap(([k, v]) => [u16le(Buffer.byteLength(k)), Buffer.from(k), withLength(v)]),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  return Buffer.concat([length, body]);
}

export function kbakSegment(records: FixtureRecord[], compression: 0 | 1 | 2): Buffer {
  const plain = Buffer.concat(records.map(kbakRecord));
  const payload = compression === 1 ? zstdCompressSync(plain) : compression === 2 ? lz4.compressSync(plain) : plain;
  const header = Buffer.alloc(32);
  header.write("KBAK", 0, "latin1");
  header.writeUInt8(1, 4);
  header.writeUInt8(compression, 5);
  header.writeBigUInt64LE(BigInt(records.length), 8);
  header.writeBigInt64LE(BigInt(records[0]?.offset ?? -1), 16);
  header.writeBigInt64LE(BigInt(records.at(-1)?.offset ?? -1), 24);
  const footer = Buffer.alloc(8);
  footer.writeUInt32LE(crc32(Buffer.concat([header, payload])), 0);
  footer.write("BKAE", 4, "latin1");
  return Buffer.concat([header, payload, footer]);
}
