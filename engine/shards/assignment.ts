// Which worker of a sharded run owns which unit of work (a backup's partitions, a restore's
// lanes). Pure and deterministic: every worker computes the same answer from the same input, so
// no coordinator hands out work. Largest first, each to the least loaded worker (LPT), ties by
// name and then by the lowest index: within 4/3 of the best balance.

export interface ShardRef {
  /** This worker's index, 0 … count-1 (JOB_COMPLETION_INDEX in an Indexed Job). */
  index: number;
  /** Workers in the run (the Job's completions). */
  count: number;
}

export class ShardError extends Error {
  readonly reason: string;
  override name = "ShardError";
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Checks a shard reference; the message names the setting a user gets wrong. */
export function checkShard(shard: ShardRef): ShardRef {
  if (!Number.isInteger(shard.count) || shard.count < 1) {
    throw new ShardError("InvalidShard", `shard count ${shard.count}: workers must be a whole number ≥ 1`);
  }
  if (!Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new ShardError("InvalidShard", `shard index ${shard.index} is outside 0…${shard.count - 1} (JOB_COMPLETION_INDEX)`);
  }
  return shard;
}

/** The owning shard of each item, in the items' order. */
export function assignShards<T>(
  items: readonly T[],
  count: number,
  sizeOf: (item: T) => number,
  nameOf: (item: T) => string,
): number[] {
  const order = items
    .map((item, at) => ({ at, size: Math.max(0, sizeOf(item)), name: nameOf(item) }))
    .sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const load = Array.from({ length: count }, () => ({ size: 0, items: 0 }));
  const owner = new Array<number>(items.length).fill(0);
  for (const { at, size } of order) {
    let best = 0;
    for (let s = 1; s < count; s++) {
      const l = load[s] as { size: number; items: number };
      const b = load[best] as { size: number; items: number };
      // Equal sizes (empty partitions, unknown sizes) spread by count.
      if (l.size < b.size || (l.size === b.size && l.items < b.items)) best = s;
    }
    const chosen = load[best] as { size: number; items: number };
    chosen.size += size;
    chosen.items++;
    owner[at] = best;
  }
  return owner;
}

/** The items `shard` owns. */
export function shareOf<T>(items: readonly T[], shard: ShardRef, sizeOf: (item: T) => number, nameOf: (item: T) => string): T[] {
  const owner = assignShards(items, shard.count, sizeOf, nameOf);
  return items.filter((_, at) => owner[at] === shard.index);
}
