// Each worker of a sharded run reports its state next to the data it writes:
// `{dir}/shards/shard-{index}.json`, rewritten while it runs and when it ends. The reports are
// how the workers learn that all of them are done (the last one merges the results) and what the
// controller aggregates into the resource's status; no worker needs API server access for it.
import type { StorageBackend } from "../storage/backend.ts";
import { ObjectNotFoundError } from "../storage/errors.ts";

export const SHARD_REPORT_FORMAT = "kafka-backup-operator/shard-report";

export interface ShardReport {
  format: typeof SHARD_REPORT_FORMAT;
  index: number;
  count: number;
  state: "Running" | "Completed" | "Failed";
  /** Work units (partitions or lanes) this shard owns. */
  units: number;
  records: number;
  bytes: number;
  /** 0–100 of this shard's own work. */
  percent: number;
  /** Failed: the error's reason and message (never a credential: engine errors name keys, not values). */
  reason?: string;
  message?: string;
  /** Failed for a reason a retry cannot fix (bad configuration, corrupt data). */
  permanent?: boolean;
  updatedAt: string;
}

export const shardReportKey = (dir: string, index: number) => `${dir}/shards/shard-${index}.json`;

export async function writeShardReport(
  store: StorageBackend,
  dir: string,
  report: Omit<ShardReport, "format" | "updatedAt">,
): Promise<void> {
  const body: ShardReport = { format: SHARD_REPORT_FORMAT, ...report, updatedAt: new Date().toISOString() };
  await store.put(shardReportKey(dir, report.index), Buffer.from(JSON.stringify(body)));
}

/** Every shard's latest report, undefined where a shard has not reported yet. */
export async function readShardReports(
  store: StorageBackend,
  dir: string,
  count: number,
): Promise<Array<ShardReport | undefined>> {
  return await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      try {
        const report = JSON.parse((await store.getBuffer(shardReportKey(dir, index))).body.toString("utf8")) as ShardReport;
        return report.format === SHARD_REPORT_FORMAT && report.count === count ? report : undefined;
      } catch (err) {
        if (err instanceof ObjectNotFoundError) return undefined;
        throw err;
      }
    }),
  );
}

export interface ShardSummary {
  workers: number;
  completed: number;
  running: number;
  records: number;
  bytes: number;
  /** Mean of the shards' own percentages (a shard not yet reported counts 0). */
  percent: number;
  /** Shards not (yet) reported Completed, by index. */
  unfinished: number[];
  /** The first failed shard, by index. */
  failed?: { index: number; reason: string; message: string; permanent: boolean };
}

/** What the reports add up to: a pure function the controller turns into status. */
export function summarizeShards(reports: ReadonlyArray<ShardReport | undefined>): ShardSummary {
  const failed = reports.find((r) => r?.state === "Failed");
  return {
    workers: reports.length,
    completed: reports.filter((r) => r?.state === "Completed").length,
    running: reports.filter((r) => r?.state === "Running").length,
    unfinished: reports.flatMap((r, index) => (r?.state === "Completed" ? [] : [index])),
    records: reports.reduce((n, r) => n + (r?.records ?? 0), 0),
    bytes: reports.reduce((n, r) => n + (r?.bytes ?? 0), 0),
    percent: reports.length
      ? reports.reduce((n, r) => n + (r?.state === "Completed" ? 100 : (r?.percent ?? 0)), 0) / reports.length
      : 0,
    ...(failed
      ? {
          failed: {
            index: failed.index,
            reason: failed.reason ?? "ShardFailed",
            message: failed.message ?? "failed",
            permanent: failed.permanent ?? false,
          },
        }
      : {}),
  };
}

/** Removes a run's old reports before it starts again (a retried restore keeps its directory). */
export async function clearShardReports(store: StorageBackend, dir: string, count: number): Promise<void> {
  await store.delete(Array.from({ length: count }, (_, index) => shardReportKey(dir, index)));
}
