// Chains of a scheduled KafkaBackup: each tick backs up only what arrived since the previous
// complete set of the same KafkaBackup (its start offsets are that set's ends); a full set starts a
// new chain every `fullBackupEvery` sets, on demand, and whenever the previous set cannot serve as
// a base. The decision is `planChainLink` (pure); `prepareChainPlan` makes it once per set and
// stores it beside the set, so a resumed run and every worker of a sharded run use the same plan.
import { isUsable, ownsSet } from "../backupset/chain.ts";
import { readSets } from "../backupset/sets.ts";
import type { ChainLink, Manifest, SetOwner } from "../format/manifest.ts";
import { keyFingerprint } from "../format/segment.ts";
import type { KafkaClient } from "../kafka/client.ts";
import { fetchTopicIds } from "../kafka/topic-ids.ts";
import type { Logger } from "../log.ts";
import { selectTopics, type TopicSelection } from "./selection.ts";
import { isNotFound, isPreconditionFailed, type ObjectStore } from "./store.ts";
import { describeRecreated, type RecreatedTopic, recreatedTopics } from "./topic-changes.ts";

export const chainPlanKey = (backupId: string) => `${backupId}/chain.json`;
export const CHAIN_PLAN_FORMAT = "kafka-backup-operator/chain-plan";

/** What a run records and where its partitions start; stored at `{backupId}/chain.json`. */
export interface ChainPlan {
  format: typeof CHAIN_PLAN_FORMAT;
  backupId: string;
  owner?: SetOwner;
  chain: ChainLink;
  /** By "topic/partition": the base set's next offset. Empty for a full set. */
  startOffsets: Record<string, number>;
  /** Topics deleted and created again since the base recorded them: why this set is full. */
  recreatedTopics?: RecreatedTopic[];
  plannedAt: number;
}

export interface ChainPolicy {
  /** A full set every this many sets (1: every set is full, no chains). */
  fullBackupEvery: number;
  /** Why this set must be full although a base exists (the full-backup annotation). */
  forceFull?: string;
}

export interface PartitionEnds {
  topic: string;
  partition: number;
  low: number;
  high: number;
}

/** Hook: why a base cannot serve for this topic now (e.g. the topic was recreated: its topic ID changed). */
export type BaseCheck = (base: Manifest, now: readonly PartitionEnds[]) => string | undefined;

const nextOffsetOf = (p: Manifest["topics"][number]["partitions"][number]) =>
  p.nextOffset ?? (p.segments.at(-1) ? (p.segments.at(-1)?.lastOffset ?? -1) + 1 : undefined);

/** The link of a new set given the newest complete set of the same KafkaBackup (if any). Pure. */
export function planChainLink(input: {
  backupId: string;
  base?: Manifest;
  policy: ChainPolicy;
  /** Hex fingerprint of this run's encryption key, if any. */
  keyFingerprint?: string;
  partitions: readonly PartitionEnds[];
  /** Topic name → its topic ID now: a topic whose ID differs from the base's was recreated. */
  topicIds?: ReadonlyMap<string, string>;
  baseChecks?: readonly BaseCheck[];
}): { chain: ChainLink; startOffsets: Record<string, number>; recreatedTopics?: RecreatedTopic[] } {
  const full = (fullReason: string) => ({ chain: { id: input.backupId, sequence: 0, fullReason }, startOffsets: {} });
  const { base, policy } = input;
  if (!base) return full("first set of this backup");
  if (!base.chain) return full(`the previous set ${base.backupId} predates chains`);
  // Checked before anything else, so a recreation is always reported (condition, Event), also when
  // the set would have been full anyway; its offsets restart at 0, so no end check would see it.
  const recreated = input.topicIds ? recreatedTopics(base.topics, input.topicIds) : [];
  if (recreated.length)
    return {
      ...full(`recreated since ${base.backupId}: ${describeRecreated(recreated)}`),
      recreatedTopics: recreated,
    };
  if (policy.forceFull) return full(policy.forceFull);
  if (base.chain.sequence + 1 >= Math.max(1, policy.fullBackupEvery))
    return full(`fullBackupEvery ${policy.fullBackupEvery}: chain ${base.chain.id} has ${base.chain.sequence + 1} sets`);
  if ((base.encryption?.keyFingerprint ?? "") !== (input.keyFingerprint ?? ""))
    return full(`the encryption key changed since ${base.backupId}`);
  const now = new Map(input.partitions.map((p) => [`${p.topic}/${p.partition}`, p]));
  const countNow = new Map<string, number>();
  for (const p of input.partitions) countNow.set(p.topic, Math.max(countNow.get(p.topic) ?? 0, p.partition + 1));
  const startOffsets: Record<string, number> = {};
  for (const t of base.topics) {
    const count = countNow.get(t.name);
    if (count === undefined) continue;
    if (count > t.partitionCount) return full(`partitions added to ${t.name} (${t.partitionCount} → ${count})`);
    for (const p of t.partitions) {
      const key = `${t.name}/${p.partition}`;
      const ends = now.get(key);
      const next = nextOffsetOf(p);
      if (!ends || next === undefined) continue;
      if (ends.high < next)
        return full(`${key} ends at ${ends.high}, before ${base.backupId} ended (${next}): the topic was recreated or truncated`);
      startOffsets[key] = next;
    }
  }
  for (const check of input.baseChecks ?? []) {
    const why = check(base, input.partitions);
    if (why) return full(why);
  }
  return { chain: { id: base.chain.id, sequence: base.chain.sequence + 1, base: base.backupId }, startOffsets };
}

/** The newest complete snapshot set of this KafkaBackup other than `backupId`: the base of the next link. */
export function chooseBase(
  sets: readonly { backupId: string; manifest: Manifest; createdAt: number }[],
  owner: SetOwner,
  backupId: string,
) {
  return sets
    .filter(
      (s) =>
        s.backupId !== backupId &&
        ownsSet(owner, s.manifest) &&
        s.manifest.run?.state === "complete" &&
        s.manifest.run.mode === "snapshot" &&
        isUsable(s.manifest),
    )
    .sort((a, b) => b.createdAt - a.createdAt)[0]?.manifest;
}

export async function readChainPlan(store: ObjectStore, backupId: string): Promise<ChainPlan | undefined> {
  try {
    const plan = JSON.parse((await store.getBuffer(chainPlanKey(backupId))).body.toString("utf8")) as ChainPlan;
    return plan.format === CHAIN_PLAN_FORMAT ? plan : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * The set's plan: the stored one (a resumed run, another worker), else decided now from the sets
 * in storage and the partitions' ends, and stored create-only (the first to store it wins).
 */
export async function prepareChainPlan(
  kafka: KafkaClient,
  store: ObjectStore,
  o: {
    backupId: string;
    owner: SetOwner;
    selection: TopicSelection;
    policy: ChainPolicy;
    encryptionKey?: Buffer;
    baseChecks?: readonly BaseCheck[];
    log?: Logger;
  },
): Promise<ChainPlan> {
  const stored = await readChainPlan(store, o.backupId);
  if (stored) return stored;
  const base = chooseBase(
    await readSets(store, (id, err) => o.log?.warn({ backupId: id, err: err.message }, "unreadable manifest: not a chain base")),
    o.owner,
    o.backupId,
  );
  const partitions: PartitionEnds[] = [];
  let topicIds: Map<string, string> | undefined;
  if (base) {
    const admin = await kafka.admin();
    const topics = selectTopics(await admin.listTopics(), o.selection);
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic))
        partitions.push({ topic, partition: p.partition, low: Number(p.low), high: Number(p.high) });
    }
    topicIds = (await fetchTopicIds(kafka, topics)).ids;
  }
  const link = planChainLink({
    backupId: o.backupId,
    ...(base ? { base } : {}),
    policy: o.policy,
    ...(o.encryptionKey ? { keyFingerprint: keyFingerprint(o.encryptionKey).toString("hex") } : {}),
    partitions,
    ...(topicIds ? { topicIds } : {}),
    ...(o.baseChecks ? { baseChecks: o.baseChecks } : {}),
  });
  const plan: ChainPlan = { format: CHAIN_PLAN_FORMAT, backupId: o.backupId, owner: o.owner, ...link, plannedAt: Date.now() };
  try {
    await store.put(chainPlanKey(o.backupId), Buffer.from(JSON.stringify(plan, null, 2)), { ifNoneMatch: true });
  } catch (err) {
    if (!isPreconditionFailed(err)) throw err;
    return (await readChainPlan(store, o.backupId)) ?? plan;
  }
  o.log?.info(
    {
      backupId: o.backupId,
      chain: plan.chain.id,
      sequence: plan.chain.sequence,
      base: plan.chain.base,
      full: plan.chain.fullReason,
      ...(plan.recreatedTopics ? { recreatedTopics: plan.recreatedTopics } : {}),
    },
    plan.chain.base ? "incremental set in a chain" : "full set: a new chain",
  );
  return plan;
}

/** What `runBackup` takes from a plan. */
export const planOptions = (plan: ChainPlan) => ({
  ...(plan.owner ? { owner: plan.owner } : {}),
  chain: plan.chain,
  startOffsets: plan.startOffsets,
});
