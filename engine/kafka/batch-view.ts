// Kafka record batches (magic v2) at the byte level: the backup's hot path reads a batch's header,
// checks its CRC-32C and walks its records without making an object per record; restore rewrites
// the producer fields of a stored batch and sends it as it is. Layout (big-endian):
//   0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8 | 17 crc u32
//   21 attributes i16 | 23 lastOffsetDelta i32 | 27 baseTimestamp i64 | 35 maxTimestamp i64
//   43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32 | 57 recordCount i32 | 61 records
// The CRC covers bytes 21 to the end.
import { crc32c } from "@node-rs/crc32";
import { decompressKafka } from "./codecs.ts";
import { KafkaDecodeError } from "./errors.ts";

export const BATCH_HEADER_BYTES = 61;
const CRC_START = 21;
export const ATTR_COMPRESSION = 0x07;
export const ATTR_LOG_APPEND_TIME = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;

export class CorruptBatchError extends Error {
  readonly reason = "CorruptRecordBatch";
  override name = "CorruptBatchError";
}

/** The header fields of one batch, and the batch's own bytes (a view into the fetch response). */
export interface BatchView {
  bytes: Buffer;
  baseOffset: number;
  lastOffsetDelta: number;
  attributes: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  recordCount: number;
}

export const batchCodec = (b: BatchView) => b.attributes & ATTR_COMPRESSION;
export const isControl = (b: BatchView) => (b.attributes & ATTR_CONTROL) !== 0;
export const isTransactional = (b: BatchView) => (b.attributes & ATTR_TRANSACTIONAL) !== 0;
export const isLogAppendTime = (b: BatchView) => (b.attributes & ATTR_LOG_APPEND_TIME) !== 0;
/** One past the batch's last offset: where the next fetch starts, even when compaction emptied its end. */
export const batchEnd = (b: BatchView) => b.baseOffset + b.lastOffsetDelta + 1;

export function viewBatch(bytes: Buffer): BatchView {
  return {
    bytes,
    baseOffset: Number(bytes.readBigInt64BE(0)),
    lastOffsetDelta: bytes.readInt32BE(23),
    attributes: bytes.readInt16BE(21),
    baseTimestamp: Number(bytes.readBigInt64BE(27)),
    maxTimestamp: Number(bytes.readBigInt64BE(35)),
    producerId: Number(bytes.readBigInt64BE(43)),
    recordCount: bytes.readInt32BE(57),
  };
}

/**
 * The complete batches of a partition's record set, headers only. A trailing partial batch (the
 * broker cuts a response at its byte limit) is left out: the next fetch starts at it again.
 */
export function splitBatches(recordSet: Buffer, where: string): BatchView[] {
  const out: BatchView[] = [];
  let pos = 0;
  while (recordSet.length - pos >= 17) {
    const end = pos + 12 + recordSet.readInt32BE(pos + 8);
    if (end > recordSet.length) break;
    const magic = recordSet.readInt8(pos + 16);
    if (magic !== 2) {
      throw new KafkaDecodeError(
        `${where}: message format v${magic} at offset ${recordSet.readBigInt64BE(pos)} is not supported (Kafka ≥ 0.11 writes v2)`,
      );
    }
    if (end - pos < BATCH_HEADER_BYTES) throw new KafkaDecodeError(`${where}: record batch of ${end - pos} bytes is too short`);
    out.push(viewBatch(recordSet.subarray(pos, end)));
    pos = end;
  }
  return out;
}

/** The CRC-32C a batch should carry (native, hardware-accelerated). */
export const computeBatchCrc = (batch: Buffer) => crc32c(batch.subarray(CRC_START)) >>> 0;

/** Checks a batch's CRC-32C as the Java consumer does (check.crcs): a mismatch names where. */
export function verifyBatchCrc(b: BatchView, where: string): void {
  const stored = b.bytes.readUInt32BE(17);
  const actual = computeBatchCrc(b.bytes);
  if (stored !== actual) {
    throw new CorruptBatchError(
      `${where}: the record batch at offset ${b.baseOffset} is corrupt (CRC-32C ${actual.toString(16)}, the batch says ${stored.toString(16)}); nothing of it was stored`,
    );
  }
}

/** The batch's records region, decompressed when the batch is compressed. */
export async function batchRecordsRegion(b: BatchView, where: string): Promise<Buffer> {
  const body = b.bytes.subarray(BATCH_HEADER_BYTES);
  const codec = batchCodec(b);
  return codec === 0 ? body : await decompressKafka(codec, body, `${where} batch at offset ${b.baseOffset}`);
}

/** What walking a batch's records tells, with no object made per record. */
export interface RecordScan {
  firstOffset: number;
  lastOffset: number;
  minTimestamp: number;
  maxTimestamp: number;
  /** Timestamp of the last record (as a reader sees it). */
  lastTimestamp: number;
  /** Keys, values and headers (keys and values), as kafka-consumer-perf-test counts "MB". */
  recordBytes: number;
  /** Offsets run base, base+1, … without holes (no compaction inside the batch). */
  contiguous: boolean;
}

/**
 * Walks the records of a (decompressed) records region: offsets, timestamps and sizes, checking
 * each record's framing. LogAppendTime batches carry the broker's time as the max timestamp.
 */
export function scanRecords(b: BatchView, region: Buffer, where: string): RecordScan {
  const logAppend = isLogAppendTime(b);
  const end = region.length;
  let minTimestamp = Number.POSITIVE_INFINITY;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  let lastTimestamp = b.maxTimestamp;
  let firstOffset = -1;
  let lastOffset = -1;
  let recordBytes = 0;
  let contiguous = true;
  let pos = 0;
  // Zigzag varints, read inline (most are one byte); `varintAt` handles the longer ones.
  let v = 0;
  const read = (): number => {
    const byte = region[pos];
    if (byte !== undefined && byte < 0x80) {
      pos++;
      return (byte & 1) === 0 ? byte >>> 1 : -((byte + 1) >>> 1);
    }
    pos = varintAt(region, pos, b, where);
    return v;
  };
  const varintAt = (buf: Buffer, at: number, batch: BatchView, name: string): number => {
    let result = 0;
    let scale = 1;
    let p = at;
    for (;;) {
      if (p >= buf.length) throw new KafkaDecodeError(`${name}: batch at offset ${batch.baseOffset} ends inside a record`);
      const byte = buf[p++] as number;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      scale *= 128;
      if (scale > 2 ** 63) throw new KafkaDecodeError(`${name}: batch at offset ${batch.baseOffset} has a malformed varint`);
    }
    v = result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    return p;
  };
  for (let i = 0; i < b.recordCount; i++) {
    const length = read();
    const recordEnd = pos + length;
    pos++; // attributes
    const timestamp = b.baseTimestamp + read();
    const offsetDelta = read();
    const keyLength = read();
    if (keyLength > 0) pos += keyLength;
    const valueLength = read();
    if (valueLength > 0) pos += valueLength;
    recordBytes += Math.max(keyLength, 0) + Math.max(valueLength, 0);
    const headers = read();
    for (let h = 0; h < headers; h++) {
      const hk = read();
      pos += hk;
      const hv = read();
      if (hv > 0) pos += hv;
      recordBytes += hk + Math.max(hv, 0);
    }
    if (pos !== recordEnd || pos > end) {
      throw new KafkaDecodeError(`${where}: record ${i} of the batch at offset ${b.baseOffset} has a bad length`);
    }
    const offset = b.baseOffset + offsetDelta;
    if (offset <= lastOffset) throw new KafkaDecodeError(`${where}: batch at offset ${b.baseOffset} has offsets out of order`);
    if (offsetDelta !== i) contiguous = false;
    if (firstOffset < 0) firstOffset = offset;
    lastOffset = offset;
    const ts = logAppend ? b.maxTimestamp : timestamp;
    if (ts < minTimestamp) minTimestamp = ts;
    if (ts > maxTimestamp) maxTimestamp = ts;
    lastTimestamp = ts;
  }
  if (pos !== end) throw new KafkaDecodeError(`${where}: batch at offset ${b.baseOffset} has bytes after its records`);
  if (b.lastOffsetDelta + 1 !== b.recordCount) contiguous = false;
  return { firstOffset, lastOffset, minTimestamp, maxTimestamp, lastTimestamp, recordBytes, contiguous };
}

/**
 * A stored batch made ready to produce as it is: base offset 0 and no leader epoch (as a producer
 * sends), no transactional flag (restore writes with an idempotent, not a transactional,
 * producer), this producer's id, epoch and sequence, and the CRC-32C recomputed. Copies: the
 * stored batch is left as it was.
 */
export function batchForProduce(
  stored: Buffer,
  producer: { producerId: number; producerEpoch: number; baseSequence: number },
): Buffer {
  const out = Buffer.from(stored);
  out.writeBigInt64BE(0n, 0);
  out.writeInt32BE(-1, 12);
  out.writeInt16BE(out.readInt16BE(21) & ~ATTR_TRANSACTIONAL, 21);
  out.writeBigInt64BE(BigInt(producer.producerId), 43);
  out.writeInt16BE(producer.producerEpoch, 51);
  out.writeInt32BE(producer.baseSequence, 53);
  out.writeUInt32BE(computeBatchCrc(out), 17);
  return out;
}

/** A batch with a records region swapped (compressed or decompressed) and its CRC recomputed. */
export function withRecordsRegion(b: BatchView, region: Buffer, codec: number): Buffer {
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + region.length);
  b.bytes.copy(out, 0, 0, BATCH_HEADER_BYTES);
  region.copy(out, BATCH_HEADER_BYTES);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE((b.attributes & ~ATTR_COMPRESSION) | (codec & ATTR_COMPRESSION), 21);
  out.writeUInt32BE(computeBatchCrc(out), 17);
  return out;
}
