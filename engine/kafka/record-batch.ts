// Decoding Kafka record batches (magic v2) exactly as the broker served them. kafkajs's own
// decoder folds headers into an object (losing their order across keys) and drops empty batches,
// which a faithful backup cannot afford, so the fetch path keeps the raw bytes and decodes here.
import { ByteReader } from "../format/bytes.ts";
import type { BackupRecord, RecordHeader } from "../format/record.ts";
import { decompressKafka } from "./codecs.ts";
import { KafkaDecodeError } from "./errors.ts";

const ATTR_COMPRESSION = 0x07;
const ATTR_LOG_APPEND_TIME = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;
const BATCH_OVERHEAD = 61;

export interface RecordBatch {
  baseOffset: number;
  lastOffsetDelta: number;
  producerId: number;
  transactional: boolean;
  control: boolean;
  /** For a control batch: true for a COMMIT marker, false for ABORT. */
  commit?: boolean;
  records: BackupRecord[];
}

/**
 * Decodes the batches of one partition's record set. A trailing partial batch (the broker cuts
 * responses at maxBytes) is left out: the next fetch starts at it again.
 */
export async function decodeRecordSet(bytes: Buffer, where: string): Promise<RecordBatch[]> {
  const batches: RecordBatch[] = [];
  let pos = 0;
  while (bytes.length - pos >= 12) {
    const batchLength = bytes.readInt32BE(pos + 8);
    const end = pos + 12 + batchLength;
    if (end > bytes.length) break;
    const magic = bytes.readInt8(pos + 16);
    if (magic !== 2) {
      throw new KafkaDecodeError(
        `${where}: message format v${magic} at offset ${bytes.readBigInt64BE(pos)} is not supported (Kafka ≥ 0.11 writes v2)`,
      );
    }
    if (batchLength + 12 < BATCH_OVERHEAD)
      throw new KafkaDecodeError(`${where}: record batch of ${batchLength} bytes is too short`);
    batches.push(await decodeBatch(bytes.subarray(pos, end), where));
    pos = end;
  }
  return batches;
}

async function decodeBatch(batch: Buffer, where: string): Promise<RecordBatch> {
  const baseOffset = Number(batch.readBigInt64BE(0));
  const attributes = batch.readInt16BE(21);
  const lastOffsetDelta = batch.readInt32BE(23);
  const baseTimestamp = Number(batch.readBigInt64BE(27));
  const maxTimestamp = Number(batch.readBigInt64BE(35));
  const producerId = Number(batch.readBigInt64BE(43));
  const count = batch.readInt32BE(57);
  const logAppendTime = (attributes & ATTR_LOG_APPEND_TIME) !== 0;
  const control = (attributes & ATTR_CONTROL) !== 0;
  let body = batch.subarray(BATCH_OVERHEAD);
  const codec = attributes & ATTR_COMPRESSION;
  if (codec !== 0) body = await decompressKafka(codec, body, `${where} batch at offset ${baseOffset}`);

  const r = new ByteReader(body, `${where} batch at offset ${baseOffset}`);
  const records: BackupRecord[] = [];
  for (let i = 0; i < count; i++) {
    const length = r.varint();
    const end = r.pos + length;
    r.u8(); // record attributes: unused by Kafka
    const timestampDelta = r.varint();
    const offsetDelta = r.varint();
    const key = r.nullableBytes();
    const value = r.nullableBytes();
    const headerCount = r.varint();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const keyLength = r.varint();
      const headerKey = r.bytes(keyLength).toString("utf8");
      headers.push({ key: headerKey, value: r.nullableBytes() });
    }
    if (r.pos !== end) throw new KafkaDecodeError(`${where}: record ${i} of the batch at offset ${baseOffset} has a bad length`);
    records.push({
      offset: baseOffset + offsetDelta,
      // With LogAppendTime the broker's time is the batch's max timestamp (as the Java client reads it).
      timestamp: logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta,
      timestampType: logAppendTime ? "LogAppendTime" : "CreateTime",
      key,
      value,
      headers,
    });
  }
  const result: RecordBatch = {
    baseOffset,
    lastOffsetDelta,
    producerId,
    transactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    control,
    records,
  };
  // A control record's key is (version int16, type int16): type 0 = ABORT, 1 = COMMIT.
  const markerKey = control ? records[0]?.key : undefined;
  if (markerKey && markerKey.length >= 4) result.commit = markerKey.readInt16BE(2) === 1;
  return result;
}

export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}

export interface PartitionData {
  /** The data records to keep, in offset order. */
  records: BackupRecord[];
  /** Offsets covered but not kept: transaction markers and aborted transactional data. */
  skipped: number[];
  /** Where the next fetch starts: one past the last batch, even when it held no data record. */
  nextOffset: number;
}

/**
 * Applies the read-committed rule to a partition's batches, as the Java consumer does: drop
 * control batches, and drop transactional batches of producers whose transaction the broker lists
 * as aborted from their first offset until that producer's abort marker. Records below
 * `fetchOffset` (a batch starting before it) are dropped too.
 */
export function committedRecords(
  batches: RecordBatch[],
  aborted: AbortedTransaction[],
  fetchOffset: number,
  readCommitted: boolean,
): PartitionData {
  const pending = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<number>();
  const records: BackupRecord[] = [];
  const skipped: number[] = [];
  let nextOffset = fetchOffset;
  for (const batch of batches) {
    const batchEnd = batch.baseOffset + batch.lastOffsetDelta + 1;
    if (batchEnd <= fetchOffset) continue;
    nextOffset = Math.max(nextOffset, batchEnd);
    while (pending.length && (pending[0] as AbortedTransaction).firstOffset <= batch.baseOffset + batch.lastOffsetDelta) {
      abortedProducers.add((pending.shift() as AbortedTransaction).producerId);
    }
    const inRange = batch.records.filter((r) => r.offset >= fetchOffset);
    if (batch.control) {
      if (batch.commit === false) abortedProducers.delete(batch.producerId);
      for (const r of inRange) skipped.push(r.offset);
      continue;
    }
    if (readCommitted && batch.transactional && abortedProducers.has(batch.producerId)) {
      for (const r of inRange) skipped.push(r.offset);
      continue;
    }
    // A loop, not push(...): a batch can hold more records than a call's argument limit.
    for (const r of inRange) records.push(r);
  }
  return { records, skipped, nextOffset };
}
