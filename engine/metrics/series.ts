// Removing a family's series by some of their labels. prom-client removes a series only by its
// full label set, so the matching ones are found among the family's current values first.
import type { Metric } from "prom-client";

/** Removes every series of `metric` whose labels include all of `match`; returns how many. */
export async function removeSeries(metric: Metric, match: Record<string, string>): Promise<number> {
  const family = metric as Metric & {
    get(): Promise<{ values: Array<{ labels: Record<string, string | number> }> }>;
    remove(labels: Record<string, string | number>): void;
  };
  const { values } = await family.get();
  const removed = new Set<string>();
  for (const { labels } of values) {
    if (!Object.entries(match).every(([k, v]) => labels[k] === v)) continue;
    // A histogram lists each series once per bucket (`le`) and for its sum and count.
    const { le: _bucket, ...series } = labels;
    const id = JSON.stringify(series);
    if (removed.has(id)) continue;
    removed.add(id);
    family.remove(series);
  }
  return removed.size;
}
