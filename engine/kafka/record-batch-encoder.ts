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
  // Sized for the records up front (a varint is at most 10 bytes): no growth copies of the body.
  let estimate = 0;
  for (const r of records) {
    estimate += 40 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
    for (const h of r.headers) estimate += 20 + h.key.length * 3 + (h.value?.length ?? 0);
  }
  const { body, maxTimestamp } = recordsRegion(records, first.timestamp, (_, i) => i, estimate);
  // The body's writer is this function's own: its view needs no copy.
  const payload = compression ? await compressKafka(compression, body) : body;
  return assembleBatch(payload, {
    baseOffset: 0,
    attributes: compression & 0x07,
    lastOffsetDelta: records.length - 1,
    baseTimestamp: first.timestamp,
    maxTimestamp,
    producer,
    recordCount: records.length,
  });
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
  const { body, maxTimestamp } = recordsRegion(records, first.timestamp, (r) => r.offset - first.offset, 64 * 1024);
  return assembleBatch(body, {
    baseOffset: first.offset,
    attributes: first.timestampType === "LogAppendTime" ? 0x08 : 0,
    lastOffsetDelta: last.offset - first.offset,
    baseTimestamp: first.timestamp,
    maxTimestamp,
    producer: undefined,
    recordCount: records.length,
  });
}

/** The records as a batch's (uncompressed) records region, each at its offset delta. */
function recordsRegion(
  records: readonly BackupRecord[],
  baseTimestamp: number,
  offsetDelta: (r: BackupRecord, index: number) => number,
  estimate: number,
): { body: Buffer; maxTimestamp: number } {
  let maxTimestamp = baseTimestamp;
  const body = new ByteWriter(estimate);
  const record = new ByteWriter(1024);
  const headerKey = new HeaderKeyBytes();
  for (const [i, r] of records.entries()) {
    if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
    record.length = 0;
    record.u8(0);
    record.varint(r.timestamp - baseTimestamp);
    record.varint(offsetDelta(r, i));
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
  return { body: body.view(), maxTimestamp };
}

interface BatchFields {
  baseOffset: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producer: BatchProducer | undefined;
  recordCount: number;
}

/**
 * One allocation for the whole batch: the 21-byte head, then from attributes to the end (what
 * the CRC covers): the 40-byte tail and the payload.
 */
function assembleBatch(payload: Buffer, f: BatchFields): Buffer {
  const batch = Buffer.allocUnsafe(61 + payload.length);
  batch.writeBigInt64BE(BigInt(f.baseOffset), 0);
  batch.writeInt32BE(49 + payload.length, 8); // leader epoch + magic + crc + the rest
  batch.writeInt32BE(-1, 12);
  batch.writeInt8(2, 16);
  batch.writeInt16BE(f.attributes, 21);
  batch.writeInt32BE(f.lastOffsetDelta, 23);
  batch.writeBigInt64BE(BigInt(f.baseTimestamp), 27);
  batch.writeBigInt64BE(BigInt(f.maxTimestamp), 35);
  batch.writeBigInt64BE(BigInt(f.producer?.producerId ?? -1), 43);
  batch.writeInt16BE(f.producer?.producerEpoch ?? -1, 51);
  batch.writeInt32BE(f.producer?.baseSequence ?? -1, 53);
  batch.writeInt32BE(f.recordCount, 57);
  payload.copy(batch, 61);
  batch.writeUInt32BE(computeBatchCrc(batch), 17);
  return batch;
}
