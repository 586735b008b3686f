// The zstd-3 compression bound: how fast this machine compresses the backed-up records with
// zstd level 3 (node:zlib, as the engine does) on all its cores, doing nothing else. A backup to
// zstd-3 cannot beat it; the bench reports our zstd-3 backups against it. The records are the
// record blocks of a filesystem backup (Kafka batches, decompressed), compressed in chunks of the
// same size as the backup's segments, as many at once as libuv has threads.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { constants, zstdCompress } from "node:zlib";
import { openSegment } from "../../engine/format/segment.ts";

const zstd = promisify(zstdCompress);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.startsWith("segment-") ? [path] : [];
  });
}

/** MiB/s of record blocks compressed at zstd-3 on all cores, and how many MiB were measured. */
export async function zstdBound(
  backupDir: string,
): Promise<{ mibPerSec: number; mib: number; blocks: number; parallel: number }> {
  // The blocks are made ready first (decompressed, outside the timing), a few hundred MiB at most
  // at a time, then timed while compressed.
  const list = files(backupDir);
  const parallel = Math.max(cpus().length, 4);
  let total = 0;
  let seconds = 0;
  for (let from = 0; from < list.length; from += 64) {
    const blocks: Buffer[] = [];
    for (const file of list.slice(from, from + 64)) blocks.push((await openSegment(readFileSync(file), { name: file })).block);
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < blocks.length) {
        const block = blocks[next++] as Buffer;
        await zstd(block, { params: { [constants.ZSTD_c_compressionLevel]: 3 } });
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    seconds += (performance.now() - started) / 1000;
    total += blocks.reduce((n, b) => n + b.length, 0);
  }
  return { mibPerSec: total / 2 ** 20 / seconds, mib: total / 2 ** 20, blocks: list.length, parallel };
}
