// What a reset or rollback reports: one outcome per group, the phase and message that follow from
// them, and the bounded form that fits in a resource's status. Pure functions.
import type { PlannedOffset } from "./plan.ts";

/** Reset: committed; NoOp: already there; Planned: dry run; ActiveMembers: Kafka refused (live consumers); Failed. */
export type GroupState = "Reset" | "NoOp" | "Planned" | "ActiveMembers" | "Failed";

export interface GroupOutcome {
  groupId: string;
  state: GroupState;
  /** The group's offsets before and after (planned, in a dry run). */
  offsets: PlannedOffset[];
  /** Partitions whose offset changed (or would, in a dry run). */
  changed: number;
  error?: string;
}

export const succeeded = (o: GroupOutcome) => o.state === "Reset" || o.state === "NoOp" || o.state === "Planned";

export type RunPhase = "Completed" | "PartiallyCompleted" | "Failed";

export interface RunSummary {
  phase: RunPhase;
  ok: number;
  failed: number;
  /** Groups never attempted: a group failed and continueOnError is false. */
  notAttempted: number;
  message: string;
}

/**
 * Completed when every group is where it should be; PartiallyCompleted when some failed and the
 * rest went on (continueOnError); Failed when none succeeded or the run stopped at a failure.
 */
export function summarize(
  outcomes: readonly GroupOutcome[],
  total: number,
  opts: { dryRun: boolean; verb: string; stoppedEarly: boolean },
): RunSummary {
  const ok = outcomes.filter(succeeded).length;
  const failed = outcomes.length - ok;
  const notAttempted = total - outcomes.length;
  const count = (s: GroupState) => outcomes.filter((o) => o.state === s).length;
  const active = count("ActiveMembers");
  let phase: RunPhase;
  if (failed === 0 && notAttempted === 0) phase = "Completed";
  else if (opts.stoppedEarly || ok === 0) phase = "Failed";
  else phase = "PartiallyCompleted";
  const parts = opts.dryRun
    ? [`dry run: ${count("Planned")} groups would change`, `${count("NoOp")} already at target`]
    : [`${opts.verb} ${count("Reset")} groups`, `${count("NoOp")} no-op`];
  if (failed) parts.push(`${failed} failed${active ? ` (${active} with active members)` : ""}`);
  if (notAttempted) parts.push(`${notAttempted} not attempted (continueOnError is false)`);
  const firstError = outcomes.find((o) => !succeeded(o));
  const message = `${parts.join(", ")}${firstError ? `; first failure: ${firstError.groupId}: ${firstError.error ?? firstError.state}` : ""}`;
  return { phase, ok, failed, notAttempted, message };
}

export interface StatusGroupResult {
  groupId: string;
  success: boolean;
  state: GroupState;
  error?: string;
  message?: string;
  partitionsReset: number;
  partitions?: PlannedOffset[];
}

/**
 * Per-group results for status, bounded so the object stays far below etcd's limit: at most
 * `maxGroups` groups (failures first) and `maxPartitions` partition rows in all. `complete` says
 * whether anything was left out (the caller then stores the whole list elsewhere).
 */
export function boundedGroupResults(
  outcomes: readonly GroupOutcome[],
  limits = { maxGroups: 1000, maxPartitions: 2000 },
): { results: StatusGroupResult[]; complete: boolean } {
  const ordered = [...outcomes].sort((a, b) => Number(succeeded(a)) - Number(succeeded(b)) || a.groupId.localeCompare(b.groupId));
  let partitionBudget = limits.maxPartitions;
  let complete = ordered.length <= limits.maxGroups;
  const results = ordered.slice(0, limits.maxGroups).map((o) => {
    const r: StatusGroupResult = {
      groupId: o.groupId,
      success: succeeded(o),
      state: o.state,
      partitionsReset: o.changed,
      message: describe(o),
    };
    if (o.error) r.error = o.error.slice(0, 4000);
    if (o.offsets.length <= partitionBudget) {
      r.partitions = o.offsets;
      partitionBudget -= o.offsets.length;
    } else if (o.offsets.length) complete = false;
    return r;
  });
  return { results, complete };
}

function describe(o: GroupOutcome): string {
  switch (o.state) {
    case "Reset":
      return `${o.changed} of ${o.offsets.length} partitions moved`;
    case "NoOp":
      return `already at target on ${o.offsets.length} partitions`;
    case "Planned":
      return `would move ${o.changed} of ${o.offsets.length} partitions`;
    case "ActiveMembers":
      return "not changed: the group has active members";
    case "Failed":
      return "not changed";
  }
}
