// Encoding Kafka record batches (magic v2) from backed-up records, headers kept in their exact
// order (kafkajs's producer takes headers as an object and cannot). The mirror of
// record-batch.ts; restore sends these with an idempotent producer id and sequence.
import { ByteWriter, HeaderKeyBytes } from "../format/bytes.ts";
import type { BackupRecord } from "../format/record.ts";
import { computeBatchCrc } from "./batch-view.ts";
import { compressKafka } from "./codecs.ts";

export interface BatchProducer {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/** Kafka compression ids: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
export async function encodeRecordBatch(
  records: readonly BackupRecord[],
  producer: BatchProducer | undefined,
  compression = 0,
): Promise<Buffer> {
  const first = records[0];
  if (!first) throw new RangeError("a record batch holds at least one record");
  const baseTimestamp = first.timestamp;
  let maxTimestamp = baseTimestamp;
  // Sized for the records up front (a varint is at most 10 bytes): no growth copies of the body.
  let estimate = 0;
  for (const r of records) {
    estimate += 40 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
    for (const h of r.headers) estimate += 20 + h.key.length * 3 + (h.value?.length ?? 0);
  }
  const body = new ByteWriter(estimate);
  const record = new ByteWriter(1024);
  const headerKey = new HeaderKeyBytes();
  for (const [i, r] of records.entries()) {
    if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
    record.length = 0;
    record.u8(0);
    record.varint(r.timestamp - baseTimestamp);
    record.varint(i);
    record.nullableBytes(r.key);
    record.nullableBytes(r.value);
    record.varint(r.headers.length);
    for (const h of r.headers) {
      const key = headerKey.of(h.key);
      record.varint(key.length);
      record.bytes(key);
      record.nullableBytes(h.value);
    }
    body.varint(record.length);
    body.bytes(record.view());
  }
  // The body's writer is this function's own: its view needs no copy.
  const payload = compression ? await compressKafka(compression, body.view()) : body.view();

  // One allocation for the whole batch: the 21-byte head, then from attributes to the end (what
  // the CRC covers): the 40-byte tail and the payload.
  const batch = Buffer.allocUnsafe(61 + payload.length);
  batch.writeBigInt64BE(0n, 0);
  batch.writeInt32BE(49 + payload.length, 8); // leader epoch + magic + crc + the rest
  batch.writeInt32BE(-1, 12);
  batch.writeInt8(2, 16);
  batch.writeInt16BE(compression & 0x07, 21);
  batch.writeInt32BE(records.length - 1, 23);
  batch.writeBigInt64BE(BigInt(baseTimestamp), 27);
  batch.writeBigInt64BE(BigInt(maxTimestamp), 35);
  batch.writeBigInt64BE(BigInt(producer?.producerId ?? -1), 43);
  batch.writeInt16BE(producer?.producerEpoch ?? -1, 51);
  batch.writeInt32BE(producer?.baseSequence ?? -1, 53);
  batch.writeInt32BE(records.length, 57);
  payload.copy(batch, 61);
  batch.writeUInt32BE(computeBatchCrc(batch), 17);
  return batch;
}

/**
 * A batch that keeps the records' own offsets and timestamps (base offset = the first record's),
 * uncompressed and without a producer: what a backup stores when it must cut a fetched batch (a
 * resume or a stop offset inside it).
 */
export function encodeBatchAtOffsets(records: readonly BackupRecord[]): Buffer {
  const first = records[0];
  const last = records.at(-1);
  if (!first || !last) throw new RangeError("a record batch holds at least one record");
  const logAppendTime = first.timestampType === "LogAppendTime";
  let maxTimestamp = first.timestamp;
  const body = new ByteWriter(64 * 1024);
  const record = new ByteWriter(1024);
  const headerKey = new HeaderKeyBytes();
  for (const r of records) {
    if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
    record.length = 0;
    record.u8(0);
    record.varint(r.timestamp - first.timestamp);
    record.varint(r.offset - first.offset);
    record.nullableBytes(r.key);
    record.nullableBytes(r.value);
    record.varint(r.headers.length);
    for (const h of r.headers) {
      const key = headerKey.of(h.key);
      record.varint(key.length);
      record.bytes(key);
      record.nullableBytes(h.value);
    }
    body.varint(record.length);
    body.bytes(record.view());
  }
  const payload = body.view();
  const batch = Buffer.allocUnsafe(61 + payload.length);
  batch.writeBigInt64BE(BigInt(first.offset), 0);
  batch.writeInt32BE(49 + payload.length, 8);
  batch.writeInt32BE(-1, 12);
  batch.writeInt8(2, 16);
  batch.writeInt16BE(logAppendTime ? 0x08 : 0, 21);
  batch.writeInt32BE(last.offset - first.offset, 23);
  batch.writeBigInt64BE(BigInt(first.timestamp), 27);
  batch.writeBigInt64BE(BigInt(maxTimestamp), 35);
  batch.writeBigInt64BE(-1n, 43);
  batch.writeInt16BE(-1, 51);
  batch.writeInt32BE(-1, 53);
  batch.writeInt32BE(records.length, 57);
  payload.copy(batch, 61);
  batch.writeUInt32BE(computeBatchCrc(batch), 17);
  return batch;
}
