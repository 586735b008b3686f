// The operator's metric families, with the existing operator's names and labels (its
// `resource_namespace` label, so a scrape does not rename it to exported_namespace). Each
// controller registers all of them on its own registry and moves the ones of its kind.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import pkg from "../../package.json" with { type: "json" };
import { removeSeries } from "../metrics/series.ts";

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciliations: Counter<"kind">;
  readonly reconciliationErrors: Counter<"kind">;
  readonly reconcileDuration: Histogram<"kind">;
  readonly cleanups: Counter<"kind">;
  readonly managedResources: Gauge<"kind">;
  readonly watchLists: Counter<"kind">;
  readonly watchFailures: Counter<"kind">;
  readonly apiRequests: Counter<"verb" | "code">;
  readonly backups: Counter<"outcome" | "resource_namespace" | "name">;
  readonly backupSize: Gauge<"resource_namespace" | "name">;
  readonly backupRecords: Gauge<"resource_namespace" | "name">;
  readonly backupDuration: Histogram<"resource_namespace" | "name">;
  readonly restores: Counter<"outcome" | "resource_namespace" | "name">;
  readonly restoreDuration: Histogram<"resource_namespace" | "name">;
  readonly offsetResets: Counter<"outcome" | "resource_namespace">;
  readonly offsetResetDuration: Histogram<"resource_namespace">;
  readonly validations: Counter<"outcome" | "resource_namespace" | "name">;
  readonly validationDuration: Histogram<"resource_namespace" | "name">;

  private readonly forgetters: Array<(namespace: string, name: string) => Promise<void>> = [];

  /** Also run `fn` when an object's series are removed (engine metrics keyed by its runs). */
  onForget(fn: (namespace: string, name: string) => Promise<void>): void {
    this.forgetters.push(fn);
  }

  /**
   * Removes an object's series (it was deleted): per-object families would otherwise grow with
   * every object ever created. Series labelled by namespace only are shared, and stay.
   */
  async forgetObject(namespace: string, name: string): Promise<void> {
    const perObject = [
      this.backups,
      this.backupSize,
      this.backupRecords,
      this.backupDuration,
      this.restores,
      this.restoreDuration,
      this.validations,
      this.validationDuration,
    ];
    for (const family of perObject) await removeSeries(family, { resource_namespace: namespace, name });
    for (const fn of this.forgetters) await fn(namespace, name);
  }

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: "kafka_backup_operator_build_info", help: "Build information", labelNames: ["version"], registers }).set(
      { version: pkg.version },
      1,
    );
    new Gauge({ name: "kafka_backup_operator_health", help: "1 while the controller runs", registers }).set(1);
    const kind = ["kind"] as const;
    const object = ["resource_namespace", "name"] as const;
    const outcomeObject = ["outcome", "resource_namespace", "name"] as const;
    this.reconciliations = new Counter({
      name: "kafka_backup_operator_reconciliations_total",
      help: "Reconciles",
      labelNames: kind,
      registers,
    });
    this.reconciliationErrors = new Counter({
      name: "kafka_backup_operator_reconciliation_errors_total",
      help: "Reconciles that failed",
      labelNames: kind,
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: "kafka_backup_operator_reconcile_duration_seconds",
      help: "Time per reconcile",
      labelNames: kind,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.cleanups = new Counter({
      name: "kafka_backup_operator_cleanups_total",
      help: "Finalizer cleanups",
      labelNames: kind,
      registers,
    });
    this.managedResources = new Gauge({
      name: "kafka_backup_operator_managed_resources",
      help: "Custom resources watched",
      labelNames: kind,
      registers,
    });
    this.watchLists = new Counter({
      name: "kafka_backup_operator_watch_lists_total",
      help: "Full lists of the watched kind (the first, and one per expired watch)",
      labelNames: kind,
      registers,
    });
    this.watchFailures = new Counter({
      name: "kafka_backup_operator_watch_failures_total",
      help: "Watches that failed to connect or broke (a watch ending at its timeout is not one)",
      labelNames: kind,
      registers,
    });
    this.apiRequests = new Counter({
      name: "kafka_backup_operator_api_requests_total",
      help: "Requests to the Kubernetes API server, by verb and status code (watches included)",
      labelNames: ["verb", "code"],
      registers,
    });
    this.backups = new Counter({
      name: "kafka_backup_operator_backups_total",
      help: "Backup runs by outcome",
      labelNames: outcomeObject,
      registers,
    });
    this.backupSize = new Gauge({
      name: "kafka_backup_operator_backup_size_bytes",
      help: "Bytes stored by the last backup run",
      labelNames: object,
      registers,
    });
    this.backupRecords = new Gauge({
      name: "kafka_backup_operator_backup_records_total",
      help: "Records backed up by the last run",
      labelNames: object,
      registers,
    });
    this.backupDuration = new Histogram({
      name: "kafka_backup_operator_backup_duration_seconds",
      help: "Backup run duration",
      labelNames: object,
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.restores = new Counter({
      name: "kafka_backup_operator_restores_total",
      help: "Restores by outcome",
      labelNames: outcomeObject,
      registers,
    });
    this.restoreDuration = new Histogram({
      name: "kafka_backup_operator_restore_duration_seconds",
      help: "Restore duration",
      labelNames: object,
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.offsetResets = new Counter({
      name: "kafka_backup_operator_offset_resets_total",
      help: "Offset resets by outcome",
      labelNames: ["outcome", "resource_namespace"],
      registers,
    });
    this.offsetResetDuration = new Histogram({
      name: "kafka_backup_operator_offset_reset_duration_seconds",
      help: "Offset reset duration",
      labelNames: ["resource_namespace"],
      buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.validations = new Counter({
      name: "kafka_backup_operator_validations_total",
      help: "Validations by outcome",
      labelNames: outcomeObject,
      registers,
    });
    this.validationDuration = new Histogram({
      name: "kafka_backup_operator_validation_duration_seconds",
      help: "Validation duration",
      labelNames: object,
      buckets: [1, 5, 15, 30, 60, 120, 300, 600],
      registers,
    });
  }
}
