// How fast the console's pages answer on a big catalog: 100 backup sets of 1,000 segments each
// (10 chains of 10 sets; 1 topic × 10 partitions × 100 segments per set) written as manifests to
// the stack's MinIO, then each page fetched over HTTP: cold (manifests read from the store) and
// warm (the console's few-second cache). A figure, never asserted (docs/console.md).
//   node test/bench/console.ts [--sets 100] [--segments 1000]
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import type { ConsoleLocation } from "../../engine/console/location.ts";
import { startConsole } from "../../engine/console/server.ts";
import type { Manifest, ManifestSegment } from "../../engine/format/manifest.ts";
import { minioStore } from "../support/backup.ts";

const { values: args } = parseArgs({
  options: { sets: { type: "string", default: "100" }, segments: { type: "string", default: "1000" } },
});
const sets = Number(args.sets);
const partitions = 10;
const perPartition = Math.max(1, Math.round(Number(args.segments) / partitions));
const recordsPerSegment = 1000;
const store = await minioStore(`bench-console-${randomUUID().slice(0, 8)}`);
const start = Date.UTC(2026, 0, 1);

const ids: string[] = [];
const ends = new Map<number, number>();
for (let i = 0; i < sets; i++) {
  const backupId = `bench.hourly-${String(i).padStart(4, "0")}`;
  const sequence = i % 10;
  const chainId = ids[i - sequence] ?? backupId;
  const createdAt = start + i * 3_600_000;
  const manifest: Manifest = {
    format: "kafka-backup-operator/manifest",
    formatVersion: 1,
    writer: "kafka-backup-operator",
    backupId,
    createdAt,
    updatedAt: createdAt + 60_000,
    compression: "zstd",
    owner: { namespace: "bench", name: "hourly" },
    run: { state: "complete", mode: "snapshot", finishedAt: createdAt + 60_000 },
    chain:
      sequence === 0 ? { id: backupId, sequence: 0, fullReason: "bench" } : { id: chainId, sequence, base: ids[i - 1] as string },
    topics: [
      {
        name: "orders",
        partitionCount: partitions,
        partitions: Array.from({ length: partitions }, (_, p) => {
          const first = sequence === 0 ? 0 : (ends.get(p) ?? 0);
          const segments: ManifestSegment[] = Array.from({ length: perPartition }, (_, s) => {
            const firstOffset = first + s * recordsPerSegment;
            return {
              key: `${backupId}/topics/orders/partition=${p}/segment-${String(firstOffset).padStart(20, "0")}.bin.zst`,
              format: "kbos-v2",
              firstOffset,
              lastOffset: firstOffset + recordsPerSegment - 1,
              recordCount: recordsPerSegment,
              minTimestamp: createdAt - 3_600_000 + s * 1000,
              maxTimestamp: createdAt - 3_600_000 + s * 1000 + 999,
              codec: "zstd",
              encrypted: false,
              storedBytes: 250_000,
              sha256: "0".repeat(64),
            };
          });
          const nextOffset = first + perPartition * recordsPerSegment;
          ends.set(p, nextOffset);
          return { partition: p, segments, gaps: [], nextOffset };
        }),
      },
    ],
  };
  ids.push(backupId);
  await store.put(`${backupId}/manifest.json`, Buffer.from(JSON.stringify(manifest)));
}

const location: ConsoleLocation = {
  name: "bench",
  store,
  backupRef: (backupId) => ({ name: "hourly", namespace: "bench", backupId }),
  kafkaCluster: { bootstrapServers: ["127.0.0.1:9"] },
  openDryRun: async () => {
    throw new Error("no dry runs in this bench");
  },
};

async function timed(url: string): Promise<{ ms: number; bytes: number; status: number }> {
  const t = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  return { ms: Math.round(performance.now() - t), bytes: body.length, status: res.status };
}

const results: Record<string, unknown> = { sets, segmentsPerSet: perPartition * partitions };
for (const page of ["/", "/coverage", "/restore"]) {
  // A fresh console per page. Cold (no read at start, as before #21's warm start): the first fetch
  // reads every manifest. As shipped (the catalog read at start, /readyz 503 until then): the time
  // to ready, then the first page a person opens with no page cache (cacheMs 0: it lists the
  // folders again and reads no finished set's manifest twice), then with the default 10 s page
  // cache, which reads nothing.
  const cold = await startConsole({ locations: async () => [location], port: 0, cacheMs: 0, warm: false });
  const coldLoad = await timed(`${cold.url}${page}`);
  await cold.close();
  const t = performance.now();
  const shipped = await startConsole({ locations: async () => [location], port: 0, cacheMs: 0 });
  await shipped.warmed;
  const readyMs = Math.round(performance.now() - t);
  const firstAfterReady = await timed(`${shipped.url}${page}`);
  await shipped.close();
  const cached = await startConsole({ locations: async () => [location], port: 0 });
  await cached.warmed;
  const fromCache = await timed(`${cached.url}${page}`);
  await cached.close();
  results[page] = {
    coldMs: coldLoad.ms,
    readyMs,
    firstAfterReadyMs: firstAfterReady.ms,
    cachedMs: fromCache.ms,
    kib: Math.round(coldLoad.bytes / 1024),
    status: firstAfterReady.status,
  };
}
const keys: string[] = [];
for await (const e of store.list("")) if (e.type === "object") keys.push(e.key);
await store.delete(keys);
console.log(JSON.stringify(results));
