// Engine metrics for backups, on a registry the caller owns (the controller's /metrics, or none
// for the CLI). Names follow the existing engine's families (kafka_backup_*). Their `backup_id`
// label is new with every run: a long-lived process keeps only the latest run of each owner (a
// KafkaBackup), so the number of series stays that of one run per owner, however many runs.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { removeSeries } from "../metrics/series.ts";

export class BackupMetrics {
  readonly records: Counter<"backup_id" | "topic">;
  readonly bytes: Counter<"backup_id" | "topic">;
  readonly segments: Counter<"backup_id" | "topic">;
  readonly gaps: Counter<"backup_id" | "topic">;
  readonly skipped: Counter<"backup_id" | "topic">;
  readonly retries: Counter<"backup_id" | "kind">;
  readonly lag: Gauge<"backup_id" | "topic">;
  readonly storageWriteLatency: Histogram<"backup_id">;
  readonly storageWriteBytes: Counter<"backup_id">;
  readonly compressionRatio: Gauge<"backup_id">;
  /** The backupId of each owner's latest run. */
  private readonly latest = new Map<string, string>();

  /** A run of `owner` starts: the series of its previous run are removed. */
  async runStarted(owner: string, backupId: string): Promise<void> {
    const previous = this.latest.get(owner);
    this.latest.set(owner, backupId);
    if (previous !== undefined && previous !== backupId) await this.forget(previous);
  }

  /** The owner is gone (deleted): its last run's series go too. */
  async ownerGone(owner: string): Promise<void> {
    const previous = this.latest.get(owner);
    this.latest.delete(owner);
    if (previous !== undefined) await this.forget(previous);
  }

  /** Removes every series of one run (unless another owner's latest run has the same id). */
  async forget(backupId: string): Promise<void> {
    if ([...this.latest.values()].includes(backupId)) return;
    const families = [
      this.records,
      this.bytes,
      this.segments,
      this.gaps,
      this.skipped,
      this.retries,
      this.lag,
      this.storageWriteLatency,
      this.storageWriteBytes,
      this.compressionRatio,
    ];
    for (const family of families) await removeSeries(family, { backup_id: backupId });
  }

  constructor(registry: Registry) {
    const registers = [registry];
    const backupTopic = ["backup_id", "topic"] as const;
    this.records = new Counter({
      name: "kafka_backup_records_total",
      help: "Records backed up (durably stored)",
      labelNames: backupTopic,
      registers,
    });
    this.bytes = new Counter({
      name: "kafka_backup_bytes_total",
      help: "Record bytes backed up, before compression",
      labelNames: backupTopic,
      registers,
    });
    this.segments = new Counter({
      name: "kafka_backup_segments_total",
      help: "Segments stored",
      labelNames: backupTopic,
      registers,
    });
    this.gaps = new Counter({
      name: "kafka_backup_offset_gaps_total",
      help: "Offset ranges lost to log retention before they were backed up",
      labelNames: backupTopic,
      registers,
    });
    this.skipped = new Counter({
      name: "kafka_backup_offsets_skipped_total",
      help: "Offsets covered without a stored record: transaction markers and aborted transactional data",
      labelNames: backupTopic,
      registers,
    });
    this.retries = new Counter({
      name: "kafka_backup_retries_total",
      help: "Retried Kafka fetches",
      labelNames: ["backup_id", "kind"],
      registers,
    });
    this.lag = new Gauge({
      name: "kafka_backup_lag_records",
      help: "Offsets between the backup position and the partition end, per topic",
      labelNames: backupTopic,
      registers,
    });
    this.storageWriteLatency = new Histogram({
      name: "kafka_backup_storage_write_latency_seconds",
      help: "Time to store one segment",
      labelNames: ["backup_id"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.storageWriteBytes = new Counter({
      name: "kafka_backup_storage_write_bytes_total",
      help: "Bytes written to storage",
      labelNames: ["backup_id"],
      registers,
    });
    this.compressionRatio = new Gauge({
      name: "kafka_backup_compression_ratio",
      help: "Record bytes over stored bytes for the run",
      labelNames: ["backup_id"],
      registers,
    });
  }
}
