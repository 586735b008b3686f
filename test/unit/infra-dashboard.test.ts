// The Grafana dashboard: every query names only metric families the controllers really register
// (the runtime's operator metrics and the backup engine's), and the component ships it as a
// ConfigMap for Grafana's sidecar when asked.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { BackupMetrics } from "../../engine/backup/metrics.ts";
import { OperatorMetrics } from "../../engine/k8s/metrics.ts";
import { dashboardPath } from "../../infra/operator.ts";
import { renderOperator } from "../../infra/render.ts";

interface Panel {
  title: string;
  targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(readFileSync(dashboardPath, "utf8")) as {
  panels: Panel[];
  templating: { list: Array<{ query?: string | { query: string } }> };
};

/** Every metric family a running controller exposes on /metrics. */
async function exported(): Promise<Set<string>> {
  const operator = new OperatorMetrics();
  new BackupMetrics(operator.registry);
  return new Set((await operator.registry.getMetricsAsJSON()).map((m) => m.name));
}

test("every dashboard query uses metrics the controllers export", async () => {
  const families = await exported();
  const exprs = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
    ...dashboard.templating.list
      .filter((v) => v.query)
      .map((v) => ({ where: "templating", expr: typeof v.query === "string" ? v.query : (v.query?.query ?? "") })),
  ];
  assert.ok(exprs.length >= 15, `only ${exprs.length} queries`);
  let checked = 0;
  for (const { where, expr } of exprs) {
    for (const [name] of expr.matchAll(/\bkafka_backup_[a-z_]+/g)) {
      const family = name.replace(/_(bucket|sum|count)$/, "");
      assert.ok(families.has(family), `${where}: ${name} is not a metric the controllers export`);
      checked++;
    }
  }
  assert.ok(checked >= exprs.length - 1, `only ${checked} metric references found`);
});

test("the component ships the dashboard as a ConfigMap for Grafana's sidecar when asked", async () => {
  const without = await renderOperator({ image: "x" });
  assert.equal(without.filter((o) => o.kind === "ConfigMap").length, 0);
  const objects = await renderOperator({ image: "x", grafanaDashboard: { enabled: true, namespace: "monitoring" } });
  // biome-ignore lint/suspicious/noExplicitAny: rendered objects are plain JSON
  const [cm] = objects.filter((o) => o.kind === "ConfigMap") as any[];
  assert.equal(cm?.metadata.namespace, "monitoring");
  assert.equal(cm?.metadata.labels.grafana_dashboard, "1");
  assert.deepEqual(JSON.parse(cm?.data["kafka-backup-operator.json"]), dashboard);
});
