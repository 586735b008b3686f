// Encoding Kafka record batches (magic v2) from backed-up records, headers kept in their exact
// order (kafkajs's producer takes headers as an object and cannot). The mirror of
// record-batch.ts; restore sends these with an idempotent producer id and sequence.
import crc32C from "kafkajs/src/protocol/recordBatch/crc32C/index.js";
import { ByteWriter } from "../format/bytes.ts";
import type { BackupRecord } from "../format/record.ts";
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
  const body = new ByteWriter(64 * 1024);
  const record = new ByteWriter(1024);
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
      const key = Buffer.from(h.key, "utf8");
      record.varint(key.length);
      record.bytes(key);
      record.nullableBytes(h.value);
    }
    body.varint(record.length);
    body.bytes(record.view());
  }
  const payload = compression ? await compressKafka(compression, Buffer.from(body.view())) : Buffer.from(body.view());

  // From attributes to the end: what the CRC covers.
  const tail = Buffer.alloc(40);
  tail.writeInt16BE(compression & 0x07, 0);
  tail.writeInt32BE(records.length - 1, 2);
  tail.writeBigInt64BE(BigInt(baseTimestamp), 6);
  tail.writeBigInt64BE(BigInt(maxTimestamp), 14);
  tail.writeBigInt64BE(BigInt(producer?.producerId ?? -1), 22);
  tail.writeInt16BE(producer?.producerEpoch ?? -1, 30);
  tail.writeInt32BE(producer?.baseSequence ?? -1, 32);
  tail.writeInt32BE(records.length, 36);
  const crcd = Buffer.concat([tail, payload]);
  const head = Buffer.alloc(21);
  head.writeBigInt64BE(0n, 0);
  head.writeInt32BE(9 + crcd.length, 8); // leader epoch + magic + crc + the rest
  head.writeInt32BE(-1, 12);
  head.writeInt8(2, 16);
  head.writeUInt32BE(crc32C(crcd), 17);
  return Buffer.concat([head, crcd]);
}
