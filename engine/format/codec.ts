// Segment compression. The async forms run on libuv's thread pool (zlib) or a native thread
// (lz4-napi), so compressing a segment never blocks the event loop that fetches and uploads.
import { promisify } from "node:util";
import {
  constants,
  gunzip,
  gunzipSync,
  gzip,
  gzipSync,
  zstdCompress,
  zstdCompressSync,
  zstdDecompress,
  zstdDecompressSync,
} from "node:zlib";
import lz4 from "lz4-napi";

export const codecs = ["none", "zstd", "lz4", "gzip"] as const;
export type Codec = (typeof codecs)[number];

/** The byte that names the codec in our segment header. */
export const codecIds: Record<Codec, number> = { none: 0, zstd: 1, lz4: 2, gzip: 3 };

export function codecFromId(id: number): Codec {
  const codec = codecs.find((c) => codecIds[c] === id);
  if (!codec) throw new RangeError(`unknown codec id ${id}`);
  return codec;
}

/** zstd accepts levels 1–22; gzip 1–9. Out-of-range levels are a configuration error. */
export function checkLevel(codec: Codec, level: number): void {
  const range = codec === "zstd" ? [1, 22] : codec === "gzip" ? [1, 9] : undefined;
  if (range && (!Number.isInteger(level) || level < (range[0] as number) || level > (range[1] as number))) {
    throw new RangeError(`compression level ${level} is outside ${range[0]}–${range[1]} for ${codec}`);
  }
}

// node:zlib works in output chunks of 16 KiB by default, a trip to the thread pool each; for
// segments of megabytes, 1 MiB chunks cut zstd-3's CPU by a quarter (measured on backup blocks).
const CHUNK = 1024 * 1024;
const zstdOptions = (level: number) => ({ chunkSize: CHUNK, params: { [constants.ZSTD_c_compressionLevel]: level } });
const zstdAsync = promisify(zstdCompress);
const unzstdAsync = promisify(zstdDecompress);
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

// lz4 is stored in the LZ4 frame format (what the `lz4` command reads); the KBAK v1 reader uses
// the size-prefixed block form separately.
export async function compress(codec: Codec, data: Buffer, level = 3): Promise<Buffer> {
  switch (codec) {
    case "none":
      return data;
    case "zstd":
      return await zstdAsync(data, zstdOptions(level));
    case "lz4":
      return await lz4.compressFrame(data);
    case "gzip":
      return await gzipAsync(data, { level, chunkSize: CHUNK });
  }
}

export async function decompress(codec: Codec, data: Buffer): Promise<Buffer> {
  switch (codec) {
    case "none":
      return data;
    case "zstd":
      return await unzstdAsync(data, { chunkSize: CHUNK });
    case "lz4":
      return await lz4.decompressFrame(data);
    case "gzip":
      return await gunzipAsync(data, { chunkSize: CHUNK });
  }
}

export function compressSync(codec: Codec, data: Buffer, level = 3): Buffer {
  switch (codec) {
    case "none":
      return data;
    case "zstd":
      return zstdCompressSync(data, zstdOptions(level));
    case "lz4":
      return lz4.compressFrameSync(data);
    case "gzip":
      return gzipSync(data, { level });
  }
}

export function decompressSync(codec: Codec, data: Buffer): Buffer {
  switch (codec) {
    case "none":
      return data;
    case "zstd":
      return zstdDecompressSync(data);
    case "lz4":
      return lz4.decompressFrameSync(data);
    case "gzip":
      return gunzipSync(data);
  }
}
