// Kafka's batch compression codecs, one implementation for both directions: our fetch decoder
// uses `decompressKafka`, and the same functions are registered with kafkajs for its producer.
// gzip and zstd come from node:zlib, snappy and lz4 from native packages with prebuilt binaries.
import { promisify } from "node:util";
import { gunzip, gzip, zstdCompress, zstdDecompress } from "node:zlib";
import kafkajs from "kafkajs";
import lz4 from "lz4-napi";
import snappy from "snappy";
import { KafkaDecodeError } from "./errors.ts";
import { decompressLz4Frame } from "./lz4-frame.ts";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const zstdAsync = promisify(zstdCompress);
const unzstdAsync = promisify(zstdDecompress);

// The Java client writes snappy in xerial's framing: an 8-byte magic, two int32 versions, then
// blocks of (int32 length, raw snappy). Other clients write raw snappy; both must read.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

async function unsnappy(data: Buffer): Promise<Buffer> {
  if (data.length < 16 || !data.subarray(0, 8).equals(XERIAL_MAGIC)) return (await snappy.uncompress(data)) as Buffer;
  const chunks: Buffer[] = [];
  let pos = 16;
  while (pos + 4 <= data.length) {
    const length = data.readInt32BE(pos);
    pos += 4;
    chunks.push((await snappy.uncompress(data.subarray(pos, pos + length))) as Buffer);
    pos += length;
  }
  return Buffer.concat(chunks);
}

interface KafkaCodec {
  compress(data: Buffer): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}

/** Output chunks of node:zlib: one trip to the thread pool each (its default, 16 KiB, costs CPU). */
const CHUNK = 256 * 1024;

/** By the compression id in a record batch's attributes. */
const byId: Record<number, KafkaCodec> = {
  1: { compress: (d) => gzipAsync(d, { chunkSize: CHUNK }), decompress: (d) => gunzipAsync(d, { chunkSize: CHUNK }) },
  2: { compress: async (d) => await snappy.compress(d), decompress: unsnappy },
  3: { compress: (d) => lz4.compressFrame(d), decompress: async (d) => decompressLz4Frame(d) },
  4: { compress: (d) => zstdAsync(d, { chunkSize: CHUNK }), decompress: (d) => unzstdAsync(d, { chunkSize: CHUNK }) },
};

export async function decompressKafka(id: number, data: Buffer, where: string): Promise<Buffer> {
  const codec = byId[id];
  if (!codec) throw new KafkaDecodeError(`${where}: unknown compression id ${id}`);
  try {
    return await codec.decompress(data);
  } catch (err) {
    throw new KafkaDecodeError(`${where}: cannot decompress (codec ${id}): ${(err as Error).message}`);
  }
}

const { CompressionCodecs, CompressionTypes } = kafkajs;
export async function compressKafka(id: number, data: Buffer): Promise<Buffer> {
  const codec = byId[id];
  if (!codec) throw new RangeError(`unknown Kafka compression id ${id}`);
  return await codec.compress(data);
}

let registered = false;

/** Registers snappy, lz4 and zstd with kafkajs (gzip is built in). Idempotent. */
export function registerKafkaCodecs(): void {
  if (registered) return;
  registered = true;
  // kafkajs expects a factory returning { compress(encoder), decompress(buffer) }.
  const adapt = (codec: KafkaCodec) => () => ({
    compress: (encoder: { buffer: Buffer }) => codec.compress(encoder.buffer),
    decompress: (buffer: Buffer) => codec.decompress(buffer),
  });
  const codecs = CompressionCodecs as unknown as Record<number, unknown>;
  codecs[CompressionTypes.Snappy] = adapt(byId[2] as KafkaCodec);
  codecs[CompressionTypes.LZ4] = adapt(byId[3] as KafkaCodec);
  codecs[CompressionTypes.ZSTD] = adapt(byId[4] as KafkaCodec);
}
