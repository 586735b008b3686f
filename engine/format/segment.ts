// Our segment format (specified in docs/format.md). One segment is one object: a fixed 72-byte
// header, the (compressed, optionally encrypted) block, and an 8-byte footer. Version 1's block is
// our own record encoding; version 2's is the Kafka record batches as the broker served them, each
// behind a small entry header, so a backup stores and a restore sends batches without rebuilding
// them record by record.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { BufferPool } from "./buffer-pool.ts";
import { ByteReader, ByteWriter, FormatError, HeaderKeyBytes, safeNumber } from "./bytes.ts";
import { type Codec, checkLevel, codecFromId, codecIds, compress, decompress } from "./codec.ts";
import type { BackupRecord, RecordHeader } from "./record.ts";

export const SEGMENT_MAGIC = Buffer.from("KBOS");
export const SEGMENT_FOOTER_MAGIC = Buffer.from("KBOE");
export const SEGMENT_VERSION = 1;
export const BATCH_SEGMENT_VERSION = 2;
/** Entry header of a version-2 block, before each Kafka batch. */
export const ENTRY_HEADER_BYTES = 38;
const ENTRY_CONTIGUOUS = 0x01;
export const HEADER_BYTES = 72;
export const FOOTER_BYTES = 8;
const FLAG_ENCRYPTED = 0x01;
const ATTR_LOG_APPEND_TIME = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface SegmentInfo {
  /** 1: our record encoding; 2: Kafka record batches. */
  version: number;
  partition: number;
  recordCount: number;
  firstOffset: number;
  /** Offset of the last record in the segment (inclusive). */
  lastOffset: number;
  minTimestamp: number;
  maxTimestamp: number;
  codec: Codec;
  encrypted: boolean;
  /** Length of the record block before compression. */
  recordBlockBytes: number;
  /** Length of the whole object. */
  storedBytes: number;
}

export class EncryptionError extends Error {
  readonly reason: "EncryptionKeyMissing" | "EncryptionKeyMismatch";
  override name = "EncryptionError";
  constructor(reason: "EncryptionKeyMissing" | "EncryptionKeyMismatch", message: string) {
    super(message);
    this.reason = reason;
  }
}

/** First 8 bytes of SHA-256 of the key: tells a wrong key from a corrupt object, reveals nothing. */
export function keyFingerprint(key: Buffer): Buffer {
  return createHash("sha256").update(key).digest().subarray(0, 8);
}

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new RangeError(`an AES-256-GCM key is 32 bytes, got ${key.length}`);
}

export interface EncodeOptions {
  partition: number;
  codec: Codec;
  level?: number;
  encryptionKey?: Buffer;
}

export interface EncodedSegment {
  bytes: Buffer;
  info: SegmentInfo;
  /** SHA-256 of the whole object, hex: what the manifest records and validation checks. */
  sha256: string;
}

const uvarintSize = (v: number): number => {
  let n = 1;
  for (let x = v; x >= 0x80; x = Math.floor(x / 0x80)) n++;
  return n;
};
const varintSize = (v: number) => uvarintSize(v >= 0 ? v * 2 : -v * 2 - 1);
const nullableSize = (b: Uint8Array | null) => (b === null ? 1 : varintSize(b.length) + b.length);

export function encodeRecordBlock(records: readonly BackupRecord[], firstOffset: number, minTimestamp: number): Buffer {
  // Sized exactly first: one allocation, no growth copies, for segments of tens of MiB.
  let size = 0;
  const headerKey = new HeaderKeyBytes();
  for (const r of records) {
    size +=
      1 +
      uvarintSize(r.offset - firstOffset) +
      uvarintSize(r.timestamp - minTimestamp) +
      nullableSize(r.key) +
      nullableSize(r.value);
    size += uvarintSize(r.headers.length);
    for (const h of r.headers) {
      const key = headerKey.of(h.key);
      size += uvarintSize(key.length) + key.length + nullableSize(h.value);
    }
  }
  const w = new ByteWriter(size);
  for (const r of records) {
    w.u8(r.timestampType === "LogAppendTime" ? ATTR_LOG_APPEND_TIME : 0);
    w.uvarint(r.offset - firstOffset);
    w.uvarint(r.timestamp - minTimestamp);
    w.nullableBytes(r.key);
    w.nullableBytes(r.value);
    w.uvarint(r.headers.length);
    for (const h of r.headers) {
      const key = headerKey.of(h.key);
      w.uvarint(key.length);
      w.bytes(key);
      w.nullableBytes(h.value);
    }
  }
  if (w.length !== size) throw new Error(`record block sizing: computed ${size}, wrote ${w.length}`);
  return w.view();
}

/** A segment's record block and facts, before compression: everything that needs the records. */
export interface PreparedSegment {
  version?: number;
  /**
   * The block sits inside a buffer with room for the header before it and the footer after it
   * (what `BatchSegmentBuilder` prepares): an uncompressed, unencrypted segment is then sealed
   * in place, without copying the block again.
   */
  framed?: boolean;
  block: Buffer;
  recordCount: number;
  firstOffset: number;
  lastOffset: number;
  minTimestamp: number;
  maxTimestamp: number;
}

export async function encodeSegment(records: readonly BackupRecord[], opts: EncodeOptions): Promise<EncodedSegment> {
  return await sealSegment(prepareSegment(records, opts), opts);
}

/**
 * The synchronous half of encoding. Callers that hold many records drop them after this, so the
 * memory behind them is free while the block is compressed and stored.
 */
export function prepareSegment(records: readonly BackupRecord[], opts: EncodeOptions): PreparedSegment {
  const first = records[0];
  const last = records.at(-1);
  if (!first || !last) throw new RangeError("a segment holds at least one record");
  const level = opts.level ?? 3;
  checkLevel(opts.codec, level);
  let minTimestamp = first.timestamp;
  let maxTimestamp = first.timestamp;
  let previous = first.offset - 1;
  for (const r of records) {
    if (r.offset <= previous) throw new RangeError(`offsets must ascend: ${r.offset} after ${previous}`);
    previous = r.offset;
    if (r.timestamp < minTimestamp) minTimestamp = r.timestamp;
    if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
  }
  const block = encodeRecordBlock(records, first.offset, minTimestamp);
  return { block, recordCount: records.length, firstOffset: first.offset, lastOffset: last.offset, minTimestamp, maxTimestamp };
}

export async function sealSegment(prepared: PreparedSegment, opts: EncodeOptions): Promise<EncodedSegment> {
  const level = opts.level ?? 3;
  checkLevel(opts.codec, level);
  const { block, recordCount, firstOffset, lastOffset, minTimestamp, maxTimestamp } = prepared;
  let payload = await compress(opts.codec, block, level);

  const header = Buffer.alloc(HEADER_BYTES);
  SEGMENT_MAGIC.copy(header, 0);
  header.writeUInt8(prepared.version ?? SEGMENT_VERSION, 4);
  header.writeUInt8(codecIds[opts.codec], 5);
  header.writeUInt8(opts.encryptionKey ? FLAG_ENCRYPTED : 0, 6);
  header.writeInt32BE(opts.partition, 8);
  header.writeUInt32BE(recordCount, 12);
  header.writeBigInt64BE(BigInt(firstOffset), 16);
  header.writeBigInt64BE(BigInt(lastOffset), 24);
  header.writeBigInt64BE(BigInt(minTimestamp), 32);
  header.writeBigInt64BE(BigInt(maxTimestamp), 40);
  header.writeBigUInt64BE(BigInt(block.length), 48);
  if (opts.encryptionKey) {
    checkKey(opts.encryptionKey);
    keyFingerprint(opts.encryptionKey).copy(header, 64);
    payload = encrypt(opts.encryptionKey, payload, header, NONCE_BYTES + TAG_BYTES + payload.length);
  }
  header.writeBigUInt64BE(BigInt(payload.length), 56);

  const footer = Buffer.alloc(FOOTER_BYTES);
  footer.writeUInt32BE(crc32(payload, crc32(header)), 0);
  SEGMENT_FOOTER_MAGIC.copy(footer, 4);
  let bytes: Buffer;
  if (prepared.framed && payload === block && block.byteOffset >= HEADER_BYTES) {
    bytes = Buffer.from(block.buffer, block.byteOffset - HEADER_BYTES, HEADER_BYTES + block.length + FOOTER_BYTES);
    header.copy(bytes, 0);
    footer.copy(bytes, HEADER_BYTES + block.length);
  } else {
    bytes = Buffer.concat([header, payload, footer]);
  }
  return {
    bytes,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    info: {
      version: prepared.version ?? SEGMENT_VERSION,
      partition: opts.partition,
      recordCount,
      firstOffset,
      lastOffset,
      minTimestamp,
      maxTimestamp,
      codec: opts.codec,
      encrypted: Boolean(opts.encryptionKey),
      recordBlockBytes: block.length,
      storedBytes: bytes.length,
    },
  };
}

/** The payload length is part of the header, and the header is the AAD, so it is fixed first. */
function encrypt(key: Buffer, plaintext: Buffer, header: Buffer, payloadLength: number): Buffer {
  header.writeBigUInt64BE(BigInt(payloadLength), 56);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Reads and checks the header and footer (magic, version, lengths, CRC) without decoding records. */
export function readSegmentInfo(bytes: Buffer, name = "segment"): SegmentInfo & { fingerprint: Buffer } {
  if (bytes.length < HEADER_BYTES + FOOTER_BYTES)
    throw new FormatError(`${name}: ${bytes.length} bytes is too short for a segment`);
  if (!bytes.subarray(0, 4).equals(SEGMENT_MAGIC)) throw new FormatError(`${name}: not a segment of ours (bad magic)`);
  const version = bytes.readUInt8(4);
  if (version !== SEGMENT_VERSION && version !== BATCH_SEGMENT_VERSION)
    throw new FormatError(`${name}: segment format version ${version} is not supported`);
  const payloadLength = safeNumber(bytes.readBigUInt64BE(56), name);
  if (HEADER_BYTES + payloadLength + FOOTER_BYTES !== bytes.length) {
    throw new FormatError(`${name}: length ${bytes.length} does not match its header (payload ${payloadLength})`);
  }
  const footer = bytes.subarray(bytes.length - FOOTER_BYTES);
  if (!footer.subarray(4).equals(SEGMENT_FOOTER_MAGIC)) throw new FormatError(`${name}: bad footer magic (truncated object?)`);
  const stored = footer.readUInt32BE(0);
  const actual = crc32(bytes.subarray(0, bytes.length - FOOTER_BYTES));
  if (stored !== actual)
    throw new FormatError(`${name}: CRC mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})`);
  let codec: Codec;
  try {
    codec = codecFromId(bytes.readUInt8(5));
  } catch (err) {
    throw new FormatError(`${name}: ${(err as Error).message}`);
  }
  return {
    version,
    partition: bytes.readInt32BE(8),
    recordCount: bytes.readUInt32BE(12),
    firstOffset: safeNumber(bytes.readBigInt64BE(16), name),
    lastOffset: safeNumber(bytes.readBigInt64BE(24), name),
    minTimestamp: safeNumber(bytes.readBigInt64BE(32), name),
    maxTimestamp: safeNumber(bytes.readBigInt64BE(40), name),
    recordBlockBytes: safeNumber(bytes.readBigUInt64BE(48), name),
    codec,
    encrypted: (bytes.readUInt8(6) & FLAG_ENCRYPTED) !== 0,
    storedBytes: bytes.length,
    fingerprint: Buffer.from(bytes.subarray(64, 72)),
  };
}

/** A segment's record block after its checks, decryption and decompression (either version). */
export async function openSegment(
  bytes: Buffer,
  opts: { encryptionKey?: Buffer; name?: string } = {},
): Promise<{ info: SegmentInfo; block: Buffer }> {
  const name = opts.name ?? "segment";
  const { fingerprint, ...info } = readSegmentInfo(bytes, name);
  let payload = bytes.subarray(HEADER_BYTES, bytes.length - FOOTER_BYTES);
  if (info.encrypted) {
    if (!opts.encryptionKey) {
      throw new EncryptionError("EncryptionKeyMissing", `${name} is encrypted and no encryption key was given`);
    }
    checkKey(opts.encryptionKey);
    if (!keyFingerprint(opts.encryptionKey).equals(fingerprint)) {
      throw new EncryptionError(
        "EncryptionKeyMismatch",
        `${name} was encrypted with another key (key fingerprint ${fingerprint.toString("hex")}, given ${keyFingerprint(opts.encryptionKey).toString("hex")})`,
      );
    }
    payload = decrypt(opts.encryptionKey, payload, bytes.subarray(0, HEADER_BYTES), name);
  }
  let block: Buffer;
  try {
    block = await decompress(info.codec, payload);
  } catch (err) {
    throw new FormatError(`${name}: ${info.codec} payload does not decompress: ${(err as Error).message}`);
  }
  if (block.length !== info.recordBlockBytes) {
    throw new FormatError(`${name}: record block is ${block.length} bytes, header says ${info.recordBlockBytes}`);
  }
  return { info, block };
}

/** The records of a version-1 segment (version 2 holds Kafka batches: see `segmentEntries`). */
export async function decodeSegment(
  bytes: Buffer,
  opts: { encryptionKey?: Buffer; name?: string } = {},
): Promise<{ info: SegmentInfo; records: BackupRecord[] }> {
  const name = opts.name ?? "segment";
  const { info, block } = await openSegment(bytes, opts);
  if (info.version !== SEGMENT_VERSION) throw new FormatError(`${name}: a version-${info.version} segment holds record batches`);
  return { info, records: decodeRecordBlock(block, info, name) };
}

function decrypt(key: Buffer, payload: Buffer, header: Buffer, name: string): Buffer {
  if (payload.length < NONCE_BYTES + TAG_BYTES) throw new FormatError(`${name}: encrypted payload too short`);
  const decipher = createDecipheriv("aes-256-gcm", key, payload.subarray(0, NONCE_BYTES));
  decipher.setAAD(header);
  decipher.setAuthTag(payload.subarray(payload.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(payload.subarray(NONCE_BYTES, payload.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new FormatError(`${name}: encrypted payload fails authentication (tampered or corrupt)`);
  }
}

export function decodeRecordBlock(block: Buffer, info: SegmentInfo, name = "segment"): BackupRecord[] {
  const r = new ByteReader(block, name);
  const records: BackupRecord[] = [];
  let previous = info.firstOffset - 1;
  for (let i = 0; i < info.recordCount; i++) {
    const attributes = r.u8();
    const offset = info.firstOffset + r.uvarint();
    const timestamp = info.minTimestamp + r.uvarint();
    if (offset <= previous || offset > info.lastOffset)
      throw new FormatError(`${name}: record ${i} has offset ${offset} out of order or range`);
    if (timestamp > info.maxTimestamp)
      throw new FormatError(`${name}: record ${i} has timestamp ${timestamp} above the segment maximum`);
    previous = offset;
    const key = r.nullableBytes();
    const value = r.nullableBytes();
    const headerCount = r.uvarint();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const headerKey = r.bytes(r.uvarint()).toString("utf8");
      headers.push({ key: headerKey, value: r.nullableBytes() });
    }
    records.push({
      offset,
      timestamp,
      timestampType: attributes & ATTR_LOG_APPEND_TIME ? "LogAppendTime" : "CreateTime",
      key,
      value,
      headers,
    });
  }
  if (previous !== info.lastOffset)
    throw new FormatError(`${name}: last record has offset ${previous}, header says ${info.lastOffset}`);
  if (r.remaining !== 0) throw new FormatError(`${name}: ${r.remaining} bytes after the last record`);
  return records;
}

/** One Kafka record batch of a version-2 segment, with what the backup learned walking its records. */
export interface BatchEntry {
  /** The batch's compression at the source (the batch itself may be stored decompressed). */
  sourceCodec: number;
  /** Record offsets run without holes from the batch's base offset. */
  contiguous: boolean;
  firstOffset: number;
  lastOffset: number;
  minTimestamp: number;
  maxTimestamp: number;
  lastTimestamp: number;
  recordCount: number;
  /** Keys, values and headers of its records. */
  recordBytes: number;
  /** The Kafka record batch (magic v2), CRC-32C valid. */
  batch: Buffer;
}

/** Version-2 block: each entry's 38-byte header, then the batch (its length from its own header). */
function writeEntryHeader(e: Omit<BatchEntry, "batch" | "maxTimestamp" | "recordCount">, h: Buffer, at: number): void {
  h.writeUInt8(e.sourceCodec, at);
  h.writeUInt8(e.contiguous ? ENTRY_CONTIGUOUS : 0, at + 1);
  h.writeBigInt64BE(BigInt(e.firstOffset), at + 2);
  h.writeBigInt64BE(BigInt(e.lastOffset), at + 10);
  h.writeBigInt64BE(BigInt(e.minTimestamp), at + 18);
  h.writeBigInt64BE(BigInt(e.lastTimestamp), at + 26);
  h.writeUInt32BE(Math.min(e.recordBytes, 0xffffffff), at + 34);
}

/** The entries of a version-2 block, checked against the segment header. Views, no copies. */
export function segmentEntries(block: Buffer, info: SegmentInfo, name = "segment"): BatchEntry[] {
  const entries: BatchEntry[] = [];
  let pos = 0;
  let records = 0;
  let previous = info.firstOffset - 1;
  while (pos < block.length) {
    if (block.length - pos < ENTRY_HEADER_BYTES + 61) throw new FormatError(`${name}: truncated entry at byte ${pos}`);
    const at = pos + ENTRY_HEADER_BYTES;
    const batchBytes = 12 + block.readInt32BE(at + 8);
    if (batchBytes < 61 || at + batchBytes > block.length || block.readInt8(at + 16) !== 2) {
      throw new FormatError(`${name}: bad record batch at byte ${at}`);
    }
    const entry: BatchEntry = {
      sourceCodec: block.readUInt8(pos),
      contiguous: (block.readUInt8(pos + 1) & ENTRY_CONTIGUOUS) !== 0,
      firstOffset: safeNumber(block.readBigInt64BE(pos + 2), name),
      lastOffset: safeNumber(block.readBigInt64BE(pos + 10), name),
      minTimestamp: safeNumber(block.readBigInt64BE(pos + 18), name),
      lastTimestamp: safeNumber(block.readBigInt64BE(pos + 26), name),
      recordBytes: block.readUInt32BE(pos + 34),
      maxTimestamp: safeNumber(block.readBigInt64BE(at + 35), name),
      recordCount: block.readInt32BE(at + 57),
      batch: block.subarray(at, at + batchBytes),
    };
    if (entry.firstOffset <= previous || entry.lastOffset < entry.firstOffset || entry.lastOffset > info.lastOffset) {
      throw new FormatError(
        `${name}: batch at byte ${at} has offsets ${entry.firstOffset}–${entry.lastOffset} out of order or range`,
      );
    }
    if (entry.minTimestamp < info.minTimestamp || entry.maxTimestamp > info.maxTimestamp) {
      throw new FormatError(`${name}: batch at byte ${at} has timestamps outside the segment's range`);
    }
    previous = entry.lastOffset;
    records += entry.recordCount;
    entries.push(entry);
    pos = at + batchBytes;
  }
  if (records !== info.recordCount)
    throw new FormatError(`${name}: ${records} records in its batches, header says ${info.recordCount}`);
  if (previous !== info.lastOffset)
    throw new FormatError(`${name}: last record has offset ${previous}, header says ${info.lastOffset}`);
  return entries;
}

/** Segment frames, reused across the segments (and runs) of the process. */
export const segmentFrames = new BufferPool(8);

/**
 * Collects batches for one version-2 segment, copied as they come into one frame (room for the
 * header, the entries, the footer) taken from `segmentFrames`; `prepare` gives the block and facts
 * to seal in place, and `release` gives the frame back once the segment is stored.
 */
export class BatchSegmentBuilder {
  #frame: Buffer | undefined;
  bytes = 0;
  recordCount = 0;
  recordBytes = 0;
  firstOffset = -1;
  lastOffset = -1;
  minTimestamp = Number.POSITIVE_INFINITY;
  maxTimestamp = Number.NEGATIVE_INFINITY;
  openedAt = 0;

  /** The entries' size the segment is cut at (its frame is taken that large). */
  readonly expectedBytes: number;

  constructor(expectedBytes = 1024 * 1024) {
    this.expectedBytes = expectedBytes;
  }

  get empty(): boolean {
    return this.recordCount === 0;
  }

  add(entry: BatchEntry): void {
    if (entry.firstOffset <= this.lastOffset)
      throw new RangeError(`offsets must ascend: ${entry.firstOffset} after ${this.lastOffset}`);
    if (this.empty) {
      this.firstOffset = entry.firstOffset;
      this.openedAt = Date.now();
    }
    const frame = this.#room(ENTRY_HEADER_BYTES + entry.batch.length);
    const at = HEADER_BYTES + this.bytes;
    writeEntryHeader(entry, frame, at);
    entry.batch.copy(frame, at + ENTRY_HEADER_BYTES);
    this.bytes += ENTRY_HEADER_BYTES + entry.batch.length;
    this.recordCount += entry.recordCount;
    this.recordBytes += entry.recordBytes;
    this.lastOffset = entry.lastOffset;
    if (entry.minTimestamp < this.minTimestamp) this.minTimestamp = entry.minTimestamp;
    if (entry.maxTimestamp > this.maxTimestamp) this.maxTimestamp = entry.maxTimestamp;
  }

  /** The frame, grown (to a larger pooled one) when `more` bytes of entries would not fit. */
  #room(more: number): Buffer {
    const needed = HEADER_BYTES + this.bytes + more + FOOTER_BYTES;
    const frame = this.#frame;
    if (frame && frame.length >= needed) return frame;
    const wanted = Math.max(needed, HEADER_BYTES + this.expectedBytes + FOOTER_BYTES, 2 * (frame?.length ?? 0));
    const grown = segmentFrames.acquire(wanted);
    if (frame) {
      frame.copy(grown, HEADER_BYTES, HEADER_BYTES, HEADER_BYTES + this.bytes);
      segmentFrames.release(frame);
    }
    this.#frame = grown;
    return grown;
  }

  prepare(): PreparedSegment {
    if (this.empty || !this.#frame) throw new RangeError("a segment holds at least one record");
    return {
      version: BATCH_SEGMENT_VERSION,
      framed: true,
      block: this.#frame.subarray(HEADER_BYTES, HEADER_BYTES + this.bytes),
      recordCount: this.recordCount,
      firstOffset: this.firstOffset,
      lastOffset: this.lastOffset,
      minTimestamp: this.minTimestamp,
      maxTimestamp: this.maxTimestamp,
    };
  }

  /** Gives the frame back: call only when nothing holds the prepared block or what was sealed from it. */
  release(): void {
    if (this.#frame) segmentFrames.release(this.#frame);
    this.#frame = undefined;
  }
}
