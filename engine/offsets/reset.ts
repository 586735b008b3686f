// Resetting and rolling back consumer-group offsets. Groups run `parallelism` at once; each
// group's reads, describe and commit go to its own coordinator (engine/kafka/groups.ts), the
// partitions' log bounds and timestamp lookups to their leaders, once per topic per run. A group
// with live members is reported (Kafka refuses to move it); `continueOnError` decides whether the
// other groups go on. Nothing is committed in a dry run.
import type { KafkaOffsetResetSpec } from "../../crds/generated/types.ts";
import type { KafkaClient } from "../kafka/client.ts";
import {
  commitGroupOffsets,
  describeGroup,
  fetchGroupOffsets,
  GroupHasMembersError,
  offsetsForTimestamp,
  type PartitionBounds,
  partitionBounds,
  type TopicPartitionOffset,
} from "../kafka/groups.ts";
import { type Logger, silentLogger } from "../log.ts";
import type { OffsetMappingReport } from "../restore/offset-mapping.ts";
import { forEachLimit } from "../storage/transfer.ts";
import {
  coveredPartitions,
  type GroupPlan,
  mismatches,
  type OffsetFilter,
  type OffsetMismatch,
  planFromMapping,
  planGroup,
  planRollback,
  type ResetStrategy,
  type StrategyFacts,
  tpKey,
} from "./plan.ts";
import type { GroupOutcome } from "./results.ts";
import type { OffsetSnapshot } from "./snapshot.ts";

export interface ResetOptions extends OffsetFilter {
  groups: readonly string[];
  strategy: ResetStrategy;
  resetTimestamp?: number;
  resetOffset?: number;
  shiftBy?: number;
  /** For from-mapping: the restore's report. */
  mapping?: OffsetMappingReport;
  parallelism?: number;
  continueOnError?: boolean;
  dryRun?: boolean;
  signal?: AbortSignal;
  log?: Logger;
  /** Called as each group finishes (progress). */
  onGroup?: (outcome: GroupOutcome) => void;
}

export interface RunResult {
  outcomes: GroupOutcome[];
  total: number;
  /** A group failed and continueOnError is false: the groups not yet started were left alone. */
  stoppedEarly: boolean;
  durationMs: number;
}

class StopRun extends Error {}

/** Log bounds and timestamp lookups, each asked once per topic per run whatever the number of groups. */
class TopicFacts {
  readonly #kafka: KafkaClient;
  readonly #bounds = new Map<string, Promise<Map<number, PartitionBounds>>>();
  readonly #times = new Map<string, Promise<Map<number, number>>>();

  constructor(kafka: KafkaClient) {
    this.#kafka = kafka;
  }

  bounds(topic: string): Promise<Map<number, PartitionBounds>> {
    let p = this.#bounds.get(topic);
    if (!p) {
      p = partitionBounds(this.#kafka, topic);
      this.#bounds.set(topic, p);
      // A failed lookup is not cached: the next group asks again.
      p.catch(() => this.#bounds.delete(topic));
    }
    return p;
  }

  atTimestamp(topic: string, timestamp: number): Promise<Map<number, number>> {
    let p = this.#times.get(topic);
    if (!p) {
      p = offsetsForTimestamp(this.#kafka, topic, timestamp);
      this.#times.set(topic, p);
      p.catch(() => this.#times.delete(topic));
    }
    return p;
  }

  async partitionsOf(topics: readonly string[]): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    for (const topic of topics) {
      try {
        out.set(
          topic,
          [...(await this.bounds(topic)).keys()].sort((a, b) => a - b),
        );
      } catch {
        // Left out: the plan names the topic as missing.
      }
    }
    return out;
  }
}

/** Live members make Kafka refuse an admin commit: say so before trying. */
async function checkNoMembers(kafka: KafkaClient, groupId: string): Promise<void> {
  const d = await describeGroup(kafka, groupId);
  if (d.members > 0 || !["Empty", "Dead", ""].includes(d.state))
    throw new GroupHasMembersError(groupId, `state ${d.state}, ${d.members} members`);
}

function failure(groupId: string, err: unknown, offsets: GroupOutcome["offsets"] = []): GroupOutcome {
  return {
    groupId,
    state: err instanceof GroupHasMembersError ? "ActiveMembers" : "Failed",
    offsets,
    changed: 0,
    error: (err as Error).message,
  };
}

/** Runs `one` over the groups with bounded concurrency, stopping new groups after a failure unless continueOnError. */
async function overGroups(
  groups: readonly string[],
  opts: { parallelism?: number; continueOnError?: boolean; signal?: AbortSignal; onGroup?: (o: GroupOutcome) => void },
  one: (groupId: string) => Promise<GroupOutcome>,
): Promise<RunResult> {
  const started = Date.now();
  const unique = [...new Set(groups)];
  const outcomes: GroupOutcome[] = [];
  let stoppedEarly = false;
  try {
    await forEachLimit(unique, Math.max(1, opts.parallelism ?? 50), async (groupId) => {
      if (opts.signal?.aborted) throw new StopRun();
      const outcome = await one(groupId);
      outcomes.push(outcome);
      opts.onGroup?.(outcome);
      if ((outcome.state === "Failed" || outcome.state === "ActiveMembers") && !opts.continueOnError) {
        stoppedEarly = true;
        throw new StopRun();
      }
    });
  } catch (err) {
    if (!(err instanceof StopRun)) throw err;
  }
  if (opts.signal?.aborted && outcomes.length < unique.length) stoppedEarly = true;
  return { outcomes, total: unique.length, stoppedEarly, durationMs: Date.now() - started };
}

/** Plans one group's new offsets from the facts its strategy needs. */
async function planFor(kafka: KafkaClient, facts: TopicFacts, groupId: string, o: ResetOptions): Promise<GroupPlan> {
  const filter: OffsetFilter = {
    ...(o.topics ? { topics: o.topics } : {}),
    ...(o.partitions ? { partitions: o.partitions } : {}),
  };
  if (o.strategy === "from-mapping") {
    if (!o.mapping) throw new Error("from-mapping needs the restore's offset mapping report");
    // All topics: the group's source-side commits and its target-side ones both matter.
    return planFromMapping(groupId, o.mapping, await fetchGroupOffsets(kafka, groupId), filter);
  }
  const committed = await fetchGroupOffsets(kafka, groupId, o.topics ?? []);
  const topicsNeeded = o.topics?.length ? [...o.topics] : [...new Set(committed.map((c) => c.topic))];
  const partitionsOf = await facts.partitionsOf(topicsNeeded);
  const covered = coveredPartitions(filter, committed, (t) => partitionsOf.get(t));
  const bounds = new Map<string, PartitionBounds>();
  const timestampOffsets = new Map<string, number>();
  for (const topic of new Set(covered.map((c) => c.topic))) {
    for (const [p, b] of await facts.bounds(topic)) bounds.set(tpKey(topic, p), b);
    if (o.strategy === "to-timestamp") {
      if (o.resetTimestamp === undefined) throw new Error("resetTimestamp is required for to-timestamp");
      for (const [p, off] of await facts.atTimestamp(topic, o.resetTimestamp)) timestampOffsets.set(tpKey(topic, p), off);
    }
  }
  const strategyFacts: StrategyFacts = {
    strategy: o.strategy,
    bounds,
    timestampOffsets,
    ...(o.resetOffset !== undefined ? { resetOffset: o.resetOffset } : {}),
    ...(o.shiftBy !== undefined ? { shiftBy: o.shiftBy } : {}),
  };
  return planGroup(groupId, strategyFacts, committed, covered);
}

/** Plans and (unless a dry run) commits one group. */
async function applyPlan(kafka: KafkaClient, plan: GroupPlan, dryRun: boolean): Promise<GroupOutcome> {
  const base = { groupId: plan.groupId, offsets: plan.offsets, changed: plan.changes.length };
  if (!plan.changes.length) return { ...base, state: "NoOp" };
  if (dryRun) return { ...base, state: "Planned" };
  const commits: TopicPartitionOffset[] = plan.changes.map((c) => ({
    topic: c.topic,
    partition: c.partition,
    offset: c.newOffset,
  }));
  await commitGroupOffsets(kafka, plan.groupId, commits);
  return { ...base, state: "Reset" };
}

export async function resetOffsets(kafka: KafkaClient, o: ResetOptions): Promise<RunResult> {
  const log = o.log ?? silentLogger;
  const facts = new TopicFacts(kafka);
  return await overGroups(o.groups, o, async (groupId) => {
    let plan: GroupPlan | undefined;
    try {
      // In a dry run a live group is still planned, and reported as a real run would find it.
      let active: GroupHasMembersError | undefined;
      await checkNoMembers(kafka, groupId).catch((err) => {
        if (!o.dryRun || !(err instanceof GroupHasMembersError)) throw err;
        active = err;
      });
      plan = await planFor(kafka, facts, groupId, o);
      if (active) return { ...failure(groupId, active, plan.offsets), changed: plan.changes.length };
      const outcome = await applyPlan(kafka, plan, o.dryRun ?? false);
      log.debug({ groupId, state: outcome.state, changed: outcome.changed }, "group done");
      return outcome;
    } catch (err) {
      log.warn({ groupId, err: (err as Error).message }, "group not reset");
      return failure(groupId, err, plan?.offsets);
    }
  });
}

export interface RollbackOptions {
  /** Only these groups of the snapshot; empty = all. */
  groups?: readonly string[];
  parallelism?: number;
  continueOnError?: boolean;
  dryRun?: boolean;
  verify?: boolean;
  signal?: AbortSignal;
  log?: Logger;
  onGroup?: (outcome: GroupOutcome) => void;
}

export interface Verification {
  allMatched: boolean;
  totalGroups: number;
  matchedGroups: number;
  mismatchedGroups: string[];
  mismatches: OffsetMismatch[];
}

export interface RollbackResult extends RunResult {
  verification?: Verification;
}

/**
 * Puts the snapshot's offsets back (all its groups, or the listed ones), then reads every group
 * back and reports each partition that differs from the snapshot. A listed group missing from
 * the snapshot fails. In a dry run nothing is committed and the verification shows what differs now.
 */
export async function rollbackOffsets(
  kafka: KafkaClient,
  snapshot: OffsetSnapshot,
  o: RollbackOptions = {},
): Promise<RollbackResult> {
  const log = o.log ?? silentLogger;
  const inSnapshot = new Map(snapshot.groups.map((g) => [g.groupId, g.offsets]));
  const groups = o.groups?.length ? o.groups : [...inSnapshot.keys()];
  const result: RollbackResult = await overGroups(groups, { continueOnError: true, ...o }, async (groupId) => {
    const offsets = inSnapshot.get(groupId);
    if (!offsets) return failure(groupId, new Error(`group ${groupId} is not in snapshot ${snapshot.snapshotId}`));
    let plan: GroupPlan | undefined;
    try {
      plan = planRollback(groupId, offsets, await fetchGroupOffsets(kafka, groupId));
      if (!o.dryRun && plan.changes.length) await checkNoMembers(kafka, groupId);
      return await applyPlan(kafka, plan, o.dryRun ?? false);
    } catch (err) {
      log.warn({ groupId, err: (err as Error).message }, "group not rolled back");
      return failure(groupId, err, plan?.offsets);
    }
  });
  if (o.verify ?? true) {
    const found: OffsetMismatch[] = [];
    const mismatchedGroups: string[] = [];
    const verified = groups.filter((g) => inSnapshot.has(g));
    await forEachLimit(verified, Math.max(1, o.parallelism ?? 50), async (groupId) => {
      const m = mismatches(groupId, inSnapshot.get(groupId) ?? [], await fetchGroupOffsets(kafka, groupId));
      if (m.length) {
        mismatchedGroups.push(groupId);
        found.push(...m);
      }
    });
    mismatchedGroups.sort();
    found.sort((a, b) => a.groupId.localeCompare(b.groupId) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
    result.verification = {
      allMatched: found.length === 0 && verified.length === groups.length,
      totalGroups: verified.length,
      matchedGroups: verified.length - mismatchedGroups.length,
      mismatchedGroups,
      mismatches: found,
    };
  }
  return result;
}

/** A KafkaOffsetReset spec (the resource's, or the CLI's file) as reset options. */
export function resetOptionsFromSpec(spec: KafkaOffsetResetSpec): Omit<ResetOptions, "mapping" | "signal" | "log" | "onGroup"> {
  return {
    groups: spec.consumerGroups,
    strategy: spec.resetStrategy,
    ...(spec.resetTimestamp !== undefined ? { resetTimestamp: spec.resetTimestamp } : {}),
    ...(spec.resetOffset !== undefined ? { resetOffset: spec.resetOffset } : {}),
    ...(spec.shiftBy !== undefined ? { shiftBy: spec.shiftBy } : {}),
    ...(spec.topics?.length ? { topics: spec.topics } : {}),
    ...(spec.partitions?.length ? { partitions: spec.partitions } : {}),
    parallelism: spec.parallelism ?? 50,
    continueOnError: spec.continueOnError ?? false,
    dryRun: spec.dryRun ?? false,
  };
}
